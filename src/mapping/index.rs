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
use std::ops::ControlFlow;
use std::sync::OnceLock;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{MappingRule, Names, RequestTarget, RuleMethod, Usages, apply_rule, collapse_slashes};

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
    let mut candidates = Vec::new();
    for set in std::iter::once(statics).chain(fetched) {
        if set
            .apply(method, &target, &mut candidates, &mut usages)
            .is_break()
        {
            break;
        }
    }
    usages
}

/// Where each rule of a list is filed: by method, then by literal prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleIndex {
    /// Rules whose method is `any`.
    any: PrefixTree,
    /// Rules of one method (stored uppercase), one tree per method.
    methods: Vec<(Box<str>, PrefixTree)>,
}

impl RuleIndex {
    /// Files every rule under its method and literal prefix.
    pub fn build<'a>(rules: impl IntoIterator<Item = &'a MappingRule>) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (position, rule) in rules.into_iter().enumerate() {
            let prefix = rule.pattern.literal_prefix();
            index.tree_for(&rule.method).insert(&prefix, position);
        }
        index.any.shrink();
        for (_, tree) in &mut index.methods {
            tree.shrink();
        }
        index.methods.shrink_to_fit();
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

    fn tree_for(&mut self, method: &RuleMethod) -> &mut PrefixTree {
        let name = match method {
            RuleMethod::Any => return &mut self.any,
            RuleMethod::Exact(name) => name,
        };
        let at = match self.methods.iter().position(|(m, _)| **m == **name) {
            Some(at) => at,
            None => {
                self.methods
                    .push((Box::from(&**name), PrefixTree::default()));
                self.methods.len() - 1
            }
        };
        match self.methods.get_mut(at) {
            Some((_, tree)) => tree,
            None => &mut self.any,
        }
    }

    fn method_tree(&self, method: &str) -> Option<&PrefixTree> {
        self.methods
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(method))
            .map(|(_, tree)| tree)
    }
}

/// `path` with every run of `/` reduced to one, as patterns are compiled.
fn collapsed(path: &str) -> Cow<'_, [u8]> {
    if path.contains("//") {
        Cow::Owned(collapse_slashes(path.as_bytes()).collect())
    } else {
        Cow::Borrowed(path.as_bytes())
    }
}

/// A radix tree of rule positions keyed by bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PrefixTree {
    root: Node,
}

/// A node: the bytes leading to it from its parent, the rules filed under exactly
/// the key that ends here, and the children, sorted by their first byte (which
/// differ: a child's label is never empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    label: Box<[u8]>,
    rules: Vec<usize>,
    children: Vec<Node>,
}

impl PrefixTree {
    fn insert(&mut self, key: &[u8], rule: usize) {
        let mut node = &mut self.root;
        let mut rest = key;
        loop {
            let Some(&first) = rest.first() else {
                node.rules.push(rule);
                return;
            };
            let slot = node.children.binary_search_by_key(&first, Node::first_byte);
            let child = match slot {
                Err(free) => {
                    node.children.insert(free, Node::leaf(rest, rule));
                    return;
                }
                Ok(found) => match node.children.get_mut(found) {
                    Some(child) => child,
                    None => return,
                },
            };
            let shared = common_prefix_length(&child.label, rest);
            child.split(shared);
            rest = rest.get(shared..).unwrap_or_default();
            node = child;
        }
    }

    /// Gives back the room the lists grew into while rules were filed.
    fn shrink(&mut self) {
        let mut pending = vec![&mut self.root];
        while let Some(node) = pending.pop() {
            node.rules.shrink_to_fit();
            node.children.shrink_to_fit();
            pending.extend(node.children.iter_mut());
        }
    }

    /// Appends the rules filed under every prefix of `path`, shortest first.
    fn collect(&self, path: &[u8], found: &mut Vec<usize>) {
        let mut node = &self.root;
        let mut rest = path;
        loop {
            found.extend_from_slice(&node.rules);
            let Some(&first) = rest.first() else {
                return;
            };
            let Ok(at) = node.children.binary_search_by_key(&first, Node::first_byte) else {
                return;
            };
            let Some(child) = node.children.get(at) else {
                return;
            };
            let Some(after) = rest.strip_prefix(&*child.label) else {
                return;
            };
            rest = after;
            node = child;
        }
    }
}

impl Node {
    fn leaf(label: &[u8], rule: usize) -> Node {
        Node {
            label: label.into(),
            rules: vec![rule],
            children: Vec::new(),
        }
    }

    fn first_byte(&self) -> u8 {
        self.label.first().copied().unwrap_or_default()
    }

    /// Makes the first `at` bytes of the label a node of their own, whose only
    /// child holds the rest; nothing changes when `at` is the whole label.
    fn split(&mut self, at: usize) {
        let (Some(head), Some(tail)) = (self.label.get(..at), self.label.get(at..)) else {
            return;
        };
        if tail.is_empty() {
            return;
        }
        let lower = Node {
            label: tail.into(),
            rules: std::mem::take(&mut self.rules),
            children: std::mem::take(&mut self.children),
        };
        self.label = head.into();
        self.children = vec![lower];
    }
}

fn common_prefix_length(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests;
