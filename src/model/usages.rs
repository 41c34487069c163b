//! Metric usages: what a request costs.

use std::sync::Arc;

/// Metric deltas in order of first appearance, one entry per metric when built
/// with [`Usages::add`] or [`match_rules`]. Metric names are shared with the
/// mapping rules they come from, so a request's usages copy no name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usages(pub Vec<(Arc<str>, u64)>);

/// The cache's own records keep metric names as `String`s (they outlive any
/// configuration); a record read back becomes usages again through this.
impl From<Vec<(String, u64)>> for Usages {
    fn from(counts: Vec<(String, u64)>) -> Self {
        Usages(
            counts
                .into_iter()
                .map(|(metric, delta)| (Arc::from(metric), delta))
                .collect(),
        )
    }
}

impl Usages {
    /// Adds `delta` to metric `name` (saturating), appending the metric if new.
    pub fn add(&mut self, name: &Arc<str>, delta: u64) {
        match self.0.iter_mut().find(|(metric, _)| metric == name) {
            Some((_, total)) => *total = total.saturating_add(delta),
            None => self.0.push((Arc::clone(name), delta)),
        }
    }

    /// Whether no metric has been added (no rule matched).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of distinct metrics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The total delta of one metric, if present.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.iter()
            .find(|(metric, _)| *metric == name)
            .map(|(_, delta)| delta)
    }

    /// Metrics and their deltas in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.0.iter().map(|(name, delta)| (&**name, *delta))
    }
}
