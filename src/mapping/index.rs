//! The mapping-rule index: which rules can match a request, without trying them all.
//!
//! A rule can only match a path that starts with the literal text of its pattern
//! up to the first placeholder ([`Pattern::literal_prefix`](super::Pattern::literal_prefix)),
//! and only a request with its method (or any method, for `any`). So the rules
//! of a list are filed, once, in one prefix tree per method plus one for `any`,
//! under their literal prefix. A request walks the tree of its method and the
//! `any` tree along its path, collecting the rules filed at every node it passes:
//! those are the candidates. The exact matcher then decides each candidate, in
//! the order of the list, so sums and `last` are those of [`match_rules`](super::match_rules).
//!
//! The trees are radix trees over bytes (runs without branches share one node),
//! so their size grows with the number of rules, not with the length of the patterns.
//! The path given to the index is the path that rules are matched against; any
//! normalisation happens before, in [`RequestTarget`](super::RequestTarget).

use std::borrow::Cow;
use std::cell::Cell;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{
    MappingRule, Names, RequestTarget, RuleMethod, Usages, apply_rule, collapse_slashes,
    same_method,
};
use crate::io::scan;
use crate::sort::sorted_positions;

/// Mapping rules in their order, with the index that finds the ones a request can match.
///
/// The index is built at the first match, not when the rules are read. A Wasm
/// VM's memory only grows, so what is alive at its peak stays resident: built
/// while the configuration text is still in memory, the index would add its size
/// to that peak, while built later it fills the space the text left. And a VM
/// that never serves a request (Envoy's main thread parses the configuration too)
/// never builds it.
///
/// The rules are kept in blocks of [`BLOCK`] for the same reason: a list read from
/// text has no known length, and grown in one piece it would need room for more
/// rules than it has (and, each time it grows, for two copies of it); in blocks,
/// the room to spare is less than one block and nothing is copied.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Full blocks, then one that may be shorter (never an empty one).
    blocks: Box<[Box<[MappingRule]>]>,
    index: OnceLock<RuleIndex>,
}

/// Rules per block of a [`RuleSet`].
const BLOCK: usize = 256;

impl RuleSet {
    /// Keeps `rules` in their order, with one copy of each method, metric name and
    /// usage list; their index is built when first needed.
    pub fn new(rules: Vec<MappingRule>) -> RuleSet {
        let mut builder = Builder::default();
        for rule in rules {
            builder.push(rule);
        }
        builder.finish()
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.blocks.iter().map(|block| block.len()).sum()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The rules, in order.
    pub fn iter(&self) -> Rules<'_> {
        self.blocks.iter().flatten()
    }

    /// The rule at `position`.
    pub fn get(&self, position: usize) -> Option<&MappingRule> {
        self.blocks.get(position / BLOCK)?.get(position % BLOCK)
    }

    /// The index of the rules (built on the first call).
    pub fn index(&self) -> &RuleIndex {
        self.index.get_or_init(|| RuleIndex::build(self.iter()))
    }

    /// Adds the usages of the matching rules, in order, to `usages`; breaks when a
    /// matching rule is `last`. `candidates` is scratch space.
    fn apply(
        &self,
        method: &str,
        target: &RequestTarget<'_>,
        candidates: &mut Vec<usize>,
        usages: &mut Usages,
    ) -> ControlFlow<()> {
        self.index().candidates(method, target.path, candidates);
        for rule in candidates.iter().filter_map(|&at| self.get(at)) {
            apply_rule(rule, method, target, usages)?;
        }
        ControlFlow::Continue(())
    }
}

/// A [`RuleSet`] being filled, one rule at a time.
#[derive(Debug, Default)]
struct Builder {
    names: Names,
    full: Vec<Box<[MappingRule]>>,
    last: Vec<MappingRule>,
}

impl Builder {
    fn push(&mut self, mut rule: MappingRule) {
        self.names.share(&mut rule);
        if self.last.len() == BLOCK {
            self.close_block();
        }
        self.last.push(rule);
    }

    /// Moves the last block among the full ones (`into_boxed_slice` gives back
    /// the room it has to spare).
    fn close_block(&mut self) {
        let block = std::mem::take(&mut self.last);
        self.full.push(block.into_boxed_slice());
    }

    fn finish(mut self) -> RuleSet {
        if !self.last.is_empty() {
            self.close_block();
        }
        RuleSet {
            blocks: self.full.into_boxed_slice(),
            index: OnceLock::new(),
        }
    }
}

/// Two sets are equal when their rules are: the index follows from them, and may
/// not be built yet in either.
impl PartialEq for RuleSet {
    fn eq(&self, other: &RuleSet) -> bool {
        self.blocks == other.blocks
    }
}

impl Eq for RuleSet {}

/// The rules of a [`RuleSet`], in order.
pub type Rules<'a> = std::iter::Flatten<std::slice::Iter<'a, Box<[MappingRule]>>>;

impl<'a> IntoIterator for &'a RuleSet {
    type Item = &'a MappingRule;
    type IntoIter = Rules<'a>;

    fn into_iter(self) -> Rules<'a> {
        self.iter()
    }
}

impl From<Vec<MappingRule>> for RuleSet {
    fn from(rules: Vec<MappingRule>) -> RuleSet {
        RuleSet::new(rules)
    }
}

/// Reads a list of rules, sharing the names of each as soon as it is read, so that
/// the copies read are freed (and their space reused) while the list is read.
impl<'de> Deserialize<'de> for RuleSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rules;
        impl<'de> Visitor<'de> for Rules {
            type Value = RuleSet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of mapping rules")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RuleSet, A::Error> {
                let mut builder = Builder::default();
                while let Some(rule) = seq.next_element::<MappingRule>()? {
                    builder.push(rule);
                }
                Ok(builder.finish())
            }
        }
        deserializer.deserialize_seq(Rules)
    }
}

/// The rules of `statics`, then those of `fetched`, that match a request, summed
/// as [`match_rules`](super::match_rules) sums them over the two lists one after
/// the other (a matching `last` rule among the static ones also ends the fetched ones).
pub fn match_indexed(
    statics: &RuleSet,
    fetched: Option<&RuleSet>,
    method: &str,
    path_and_query: &str,
) -> Usages {
    let target = RequestTarget::parse(path_and_query);
    let mut usages = Usages::default();
    let mut candidates = SPARE_CANDIDATES.take();
    for set in std::iter::once(statics).chain(fetched) {
        if set
            .apply(method, &target, &mut candidates, &mut usages)
            .is_break()
        {
            break;
        }
    }
    if candidates.capacity() <= KEPT_CANDIDATES {
        SPARE_CANDIDATES.set(candidates);
    }
    usages
}

/// The most candidate positions whose list [`match_indexed`] keeps for the next
/// request; a request with more (a rule set with thousands of prefixes of one
/// path) allocates its own, and that much memory is not held for the rest.
const KEPT_CANDIDATES: usize = 64;

thread_local! {
    /// The list of candidates of the last request, kept for the next one so that
    /// a match allocates nothing for it (a VM runs on one thread).
    static SPARE_CANDIDATES: Cell<Vec<usize>> = const { Cell::new(Vec::new()) };
}

/// Where each rule of a list is filed: by method, then by literal prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleIndex {
    /// Rules whose method is `any`.
    any: PrefixTree,
    /// Rules of one method (stored uppercase), one tree per method.
    methods: Box<[(Box<str>, PrefixTree)]>,
}

/// `keys` in order, by the configuration-time sort (`crate::sort`).
fn sorted(keys: Vec<Key<'_>>) -> Vec<Key<'_>> {
    let order = sorted_positions(keys.len(), &|a, b| keys.get(a) < keys.get(b));
    let mut slots: Vec<Option<Key<'_>>> = keys.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|position| slots.get_mut(position)?.take())
        .collect()
}

/// A rule as the index files it: by method (`None`: any), then literal prefix;
/// sorted, the keys of one tree are a run, and equal keys stay in list order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a> {
    method: Option<&'a str>,
    prefix: Cow<'a, [u8]>,
    position: usize,
}

impl RuleIndex {
    /// Files every rule under its method and literal prefix.
    pub fn build<'a>(rules: impl IntoIterator<Item = &'a MappingRule>) -> RuleIndex {
        let keys: Vec<Key<'_>> = rules
            .into_iter()
            .enumerate()
            .map(|(position, rule)| Key {
                method: match &rule.method {
                    RuleMethod::Any => None,
                    RuleMethod::Exact(name) => Some(name),
                },
                prefix: rule.pattern.literal_prefix(),
                position,
            })
            .collect();
        let keys = sorted(keys);
        let mut index = RuleIndex::default();
        let mut methods = Vec::new();
        for run in keys.chunk_by(|a, b| a.method == b.method) {
            let tree = PrefixTree::build(run);
            match run.first().and_then(|key| key.method) {
                None => index.any = tree,
                Some(name) => methods.push((Box::from(name), tree)),
            }
        }
        index.methods = methods.into_boxed_slice();
        index
    }

    /// Replaces `candidates` with the positions, ascending, of the rules that may
    /// match a request with `method` and `path` (its query left out). Every rule
    /// that matches is among them.
    pub fn candidates(&self, method: &str, path: &str, candidates: &mut Vec<usize>) {
        candidates.clear();
        let path = collapsed(path);
        self.any.collect(&path, candidates);
        if let Some(tree) = self.method_tree(method) {
            tree.collect(&path, candidates);
        }
        // Trees give shortest prefix first; the rules must be tried in list order.
        candidates.sort_unstable();
    }

    fn method_tree(&self, method: &str) -> Option<&PrefixTree> {
        self.methods
            .iter()
            .find(|(name, _)| same_method(name, method))
            .map(|(_, tree)| tree)
    }
}

/// `path` with every run of `/` reduced to one, as patterns are compiled.
fn collapsed(path: &str) -> Cow<'_, [u8]> {
    if scan::has_double_slash(path) {
        Cow::Owned(collapse_slashes(path.as_bytes()).collect())
    } else {
        Cow::Borrowed(path.as_bytes())
    }
}

/// A radix tree of rule positions keyed by bytes, in three flat arrays: thousands
/// of rules make thousands of nodes, and a node of its own on the heap (with its
/// label and its lists) would cost an allocation each, and the space between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PrefixTree {
    /// The root first; the children of a node are consecutive, sorted by the first
    /// byte of their labels (which differ: a child's label is never empty).
    nodes: Box<[Node]>,
    /// The labels of the nodes, one after the other.
    labels: Box<[u8]>,
    /// The rules filed at each node, ascending, one node's after the other.
    rules: Box<[usize]>,
}

/// A node: the bytes leading to it from its parent, the rules filed under exactly
/// the key that ends here, and its children, as ranges of the tree's arrays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Node {
    label: Span,
    rules: Span,
    children: Span,
}

/// A range of one of a tree's arrays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The span from `start` to the end of `array`.
    fn since<T>(start: usize, array: &[T]) -> Span {
        Span {
            start,
            end: array.len(),
        }
    }

    fn of<T>(self, array: &[T]) -> &[T] {
        array.get(self.start..self.end).unwrap_or_default()
    }
}

impl PrefixTree {
    /// Builds the tree of `keys`, sorted: the keys under a node are a run of them,
    /// those that end at the node come first, and each child takes the run of one
    /// next byte, down to the longest prefix that run shares.
    fn build(keys: &[Key<'_>]) -> PrefixTree {
        if keys.is_empty() {
            return PrefixTree::default();
        }
        let mut nodes = vec![Node::default()];
        let mut labels = Vec::new();
        let mut rules = Vec::with_capacity(keys.len());
        // Nodes whose rules and children are still to be filed: the node, the run
        // of keys under it, and the length of its key.
        let mut pending = vec![(0, keys, 0)];
        while let Some((at, run, depth)) = pending.pop() {
            let ending = run
                .iter()
                .take_while(|key| key.prefix.len() == depth)
                .count();
            let (here, below) = run.split_at(ending);
            let rules_start = rules.len();
            rules.extend(here.iter().map(|key| key.position));
            let children_start = nodes.len();
            for child in runs_by_byte(below, depth) {
                let (Some(first), Some(last)) = (child.first(), child.last()) else {
                    continue;
                };
                // The run shares its byte at `depth`, so each child is deeper.
                let shared = common_prefix_length(&first.prefix, &last.prefix).max(depth + 1);
                let label_start = labels.len();
                labels.extend_from_slice(first.prefix.get(depth..shared).unwrap_or_default());
                nodes.push(Node {
                    label: Span::since(label_start, &labels),
                    ..Node::default()
                });
                pending.push((nodes.len() - 1, child, shared));
            }
            let children = Span::since(children_start, &nodes);
            if let Some(node) = nodes.get_mut(at) {
                node.rules = Span::since(rules_start, &rules);
                node.children = children;
            }
        }
        PrefixTree {
            nodes: nodes.into_boxed_slice(),
            labels: labels.into_boxed_slice(),
            rules: rules.into_boxed_slice(),
        }
    }

    /// Appends the rules filed under every prefix of `path`, shortest first.
    fn collect(&self, path: &[u8], found: &mut Vec<usize>) {
        let mut node = self.nodes.first();
        let mut rest = path;
        while let Some(current) = node {
            found.extend_from_slice(current.rules.of(&self.rules));
            let Some(&first) = rest.first() else {
                return;
            };
            let children = current.children.of(&self.nodes);
            node = children
                .binary_search_by_key(&first, |child| self.first_byte(child))
                .ok()
                .and_then(|at| children.get(at))
                .filter(|child| {
                    let label = child.label.of(&self.labels);
                    rest.strip_prefix(label).map(|after| rest = after).is_some()
                });
        }
    }

    fn first_byte(&self, node: &Node) -> u8 {
        node.label
            .of(&self.labels)
            .first()
            .copied()
            .unwrap_or_default()
    }
}

/// Splits sorted keys that all go on past `depth` into the runs that share their
/// byte at `depth`.
fn runs_by_byte<'k, 'a>(keys: &'k [Key<'a>], depth: usize) -> impl Iterator<Item = &'k [Key<'a>]> {
    keys.chunk_by(move |a, b| a.prefix.get(depth) == b.prefix.get(depth))
}

fn common_prefix_length(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests;
