//! Which service a request's authority selects, without trying every service.
//!
//! The answer is the first service, in configuration order, with an authority
//! glob that matches (docs/behaviour.md §3). Most globs are plain host names, `host:*`
//! or `*.domain`: those are filed, once, in hash maps keyed by their literal text,
//! and a request looks up its authority, its prefixes and its suffixes of the
//! lengths filed. Only the other globs are tried one by one, and only those of
//! services before the best answer found so far.

use crate::glob::{Glob, Shape};
use crate::text_index::TextIndex;

/// The authority globs of a service list, filed by shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceIndex {
    /// Plain host names: the first service with each.
    exact: LiteralMap,
    /// `literal*`: the first service with each literal.
    prefixes: Literals,
    /// `*literal`: the first service with each literal.
    suffixes: Literals,
    /// The first service with `*`.
    everything: Option<usize>,
    /// Globs of any other shape, with their service, in configuration order.
    others: Vec<(usize, Glob)>,
}

/// Literals of one kind (prefixes or suffixes) with the lengths that occur, so
/// that a lookup tries only those lengths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Literals {
    first_service: LiteralMap,
    lengths: Vec<usize>,
}

impl ServiceIndex {
    /// Files the globs of each service, given in configuration order.
    pub fn from_globs<'a>(services: impl IntoIterator<Item = &'a [Glob]>) -> ServiceIndex {
        let mut index = ServiceIndex::default();
        for (position, globs) in services.into_iter().enumerate() {
            for glob in globs {
                index.file(position, glob);
            }
        }
        index
    }

    /// The position of the first service whose globs match `authority`.
    pub fn select(&self, authority: &str) -> Option<usize> {
        let filed = [
            self.exact.get(authority).copied(),
            self.prefixes.first_match(|length| authority.get(..length)),
            self.suffixes.first_match(|length| {
                authority
                    .len()
                    .checked_sub(length)
                    .and_then(|start| authority.get(start..))
            }),
            self.everything,
        ];
        let best = filed.into_iter().flatten().min();
        let earlier_other = self
            .others
            .iter()
            .take_while(|(service, _)| best.is_none_or(|best| *service < best))
            .find(|(_, glob)| glob.matches(authority))
            .map(|(service, _)| *service);
        earlier_other.or(best)
    }

    fn file(&mut self, service: usize, glob: &Glob) {
        match glob.shape() {
            Shape::Exact(host) => {
                self.exact.entry(host.into()).or_insert(service);
            }
            Shape::Prefix(literal) => self.prefixes.file(literal, service),
            Shape::Suffix(literal) => self.suffixes.file(literal, service),
            Shape::Everything => {
                self.everything.get_or_insert(service);
            }
            Shape::Other => self.others.push((service, glob.clone())),
        }
    }
}

impl Literals {
    fn file(&mut self, literal: &str, service: usize) {
        self.first_service.entry(literal.into()).or_insert(service);
        if let Err(at) = self.lengths.binary_search(&literal.len()) {
            self.lengths.insert(at, literal.len());
        }
    }

    /// The first service among the literals that `part` gives for some filed length
    /// (`None` from `part` when the input has no such part).
    fn first_match<'a>(&self, part: impl Fn(usize) -> Option<&'a str>) -> Option<usize> {
        self.lengths
            .iter()
            .filter_map(|&length| part(length))
            .filter_map(|text| self.first_service.get(text).copied())
            .min()
    }
}

/// Literal texts of globs and the first service with each.
type LiteralMap = TextIndex;

#[cfg(test)]
mod tests;
