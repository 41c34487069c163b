//! The reader against serde_yaml 0.9 (read into a JSON value, as the loader did):
//! what serde_yaml accepts, the reader accepts with the same value, unless it uses
//! a feature the reader refuses by design (and then its error names it); what
//! serde_yaml refuses, the reader refuses too.

use serde_json::Value as Json;

use super::super::{Problem, parse, to_json};

/// What serde_yaml made of `text`, through JSON text as the loader read it.
fn serde_yaml_reading(text: &str) -> Result<Json, String> {
    let value: Json = serde_yaml::from_str(text).map_err(|error| error.to_string())?;
    serde_json::from_str(&value.to_string()).map_err(|error| error.to_string())
}

/// Our reading of `text`: the value, or the problem.
fn our_reading(text: &str) -> Result<Json, Problem> {
    let root = parse(text).map_err(|error| error.problem)?;
    let json = to_json(&root).map_err(|error| error.problem)?;
    Ok(serde_json::from_str(&json).unwrap_or_else(|error| panic!("{json}: {error}")))
}

/// The difference between the two readings of `text`, if any.
pub(super) fn difference(text: &str) -> Option<String> {
    match (serde_yaml_reading(text), our_reading(text)) {
        (Ok(theirs), Ok(ours)) if theirs == ours => None,
        (Ok(theirs), Ok(ours)) => Some(format!("serde_yaml {theirs} but we {ours}")),
        (Ok(_), Err(problem)) if problem.is_refused_feature() => None,
        (Ok(theirs), Err(problem)) => {
            Some(format!("serde_yaml {theirs} but we refused: {problem}"))
        }
        (Err(_), Err(_)) => None,
        (Err(error), Ok(ours)) => Some(format!("serde_yaml refused ({error}) but we {ours}")),
    }
}

fn assert_same(texts: impl IntoIterator<Item = (String, String)>) {
    let mut compared = 0;
    let differences: Vec<String> = texts
        .into_iter()
        .inspect(|_| compared += 1)
        .filter_map(|(name, text)| difference(&text).map(|d| format!("{name}: {text:?}\n  {d}")))
        .collect();
    assert!(compared > 0);
    assert!(
        differences.is_empty(),
        "{} of {compared} differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Every YAML file of the repository's examples and test fixtures.
#[test]
fn fixtures_and_examples_read_as_serde_yaml_reads_them() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["tests/fixtures", "examples"] {
        collect_yaml(&std::path::Path::new(root).join(dir), &mut files);
    }
    assert!(files.len() >= 9, "{files:?}");
    assert_same(files.into_iter().map(|path| {
        let text = std::fs::read_to_string(&path).unwrap();
        (path.display().to_string(), text)
    }));
}

fn collect_yaml(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_yaml(&path, files);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
}

/// Snippets at the edges of the grammar.
const TRICKY: &[&str] = &[
    "a: b\n  c\n",
    "- a\n -b\n",
    "a:\n- 1\n- 2\nb: 3\n",
    "a: 'x\n\n  y'\n",
    "a: \"x\\\n  y\"\n",
    "a: |\n  x\n\n",
    "a: >+\n  x\n\n\n",
    "a: |-\n\n",
    "a: >\n\n  x\n",
    "a: |1\n  x\n",
    "- - - a\n    - b\n  - c\n",
    "? a\n: b\n",
    "a: !t x\n",
    "&a b: c\n",
    "a: &x 1\nb: *x\n",
    "{a: [b, {c: d}], e: f}",
    "[a, b,]",
    "[a, , b]",
    "{a: 1, a: 2}",
    "a: 1\na: 2\n",
    "a: b: c\n",
    "a:\tb\n",
    "\ta: b\n",
    "a: b\t# c\n",
    "-\ta\n",
    "- \ta\n",
    "a: 1 # c\n...\n",
    "---\n---\n",
    "--- a: b\n",
    "--- - a\n",
    "--- |\n x\n",
    "|\nx\n",
    "a: [1\n",
    "a: \"\n",
    "a: 0x_1\n",
    "a: +0x1\n",
    "a: -0o7\n",
    "a: 0b2\n",
    "a: 1e5\n",
    "a: 1E5\n",
    "a: +-1\n",
    "a: .5\n",
    "a: -.5\n",
    "a: 5.\n",
    "a: 0.0\n",
    "a: -0.0\n",
    "a: 00\n",
    "a: 0.\n",
    "a: 340282366920938463463374607431768211456\n",
    "a: -9223372036854775809\n",
    "a: infinity\n",
    "a: nan\n",
    "a: +.inf\n",
    "a: +.nan\n",
    "a: 1_0\n",
    "a: 0o\n",
    "a: \"\\u00\"\n",
    "a: \"\\U0010FFFF\"\n",
    "a: \"\\U00110000\"\n",
    "a: 'a''b'\n",
    "key with spaces: value with spaces\n",
    "a : b\n",
    "a:b\n",
    "a: b:c\n",
    "a: [b:c]\n",
    "a: {b:c}\n",
    "a: [\"b\":c]\n",
    "a: x # comment\n  # more\n",
    "a:\n  # c\n  b: 1\n",
    "a:\n  - b\n  -\n  - c\n",
    "a:\n -\n  b: 1\n",
    "- a: 1\n  b: 2\n- c: 3\n",
    "a: |\n  line\n b: 1\n",
    "a: >\n  one\n  two\n\n  three\n",
    "a: [a, b\n  , c]\n",
    "a: {b: 1,\n  c: 2}\n",
    "[a]: 1\n",
    "{a: 1}: 2\n",
    "*a\n",
    "a: &a [*a]\n",
    "a: '\n'\n",
    "a: \"\n\"\n",
    "---\n...\n",
    "...\n",
    "# only\n",
    "a: \u{85}\n",
    "a: x\u{2028}y\n",
    "- [a, b]: c\n",
    "a: - b\n",
    "a:\n  b\n  c: d\n",
    "a: 'x'y\n",
    "a: -\n",
    "a: - \n",
    "- -\n",
    "a: ?\n",
    "a: :\n",
    "a: ? x\n",
    "[?]\n",
    "[:]\n",
    "[-]\n",
    "{a}\n",
    "{a: }\n",
    "a: ~\nb: null\nc: Null\nd: nULL\n",
    "a: 'it''s'\n",
    "a: @\n",
    "a: `\n",
    "a: %\n",
    "a: 1\n...\n...\t\n",
    "k : &t \r*t: \n",
    "a: 'x\u{2028}y'\n",
    "a: \"x\u{2029}\u{2029}y\"\n",
    "a: 'x\u{85}y'\n",
    "a: |\n  x\u{2028}  y\n",
    "a: >\n  x\u{2029}  y\n  z\n",
    "- x\u{2028}  y\n",
    "a: 'x\n\u{2028}y'\n",
    "key: # c\n  nested: 1\n",
    "key:   \n  - a\n",
    "- name: x\n  # c\n  value: y\n",
    "\"a:b\": c\n",
    "url: https://x:8080/a#frag # c\n",
    "pattern: /v1/{id}/[x]\n",
    "pattern: \"{a}\"\n",
    "ops: [{json: [a, b]}, {prefix: 'Bearer '}]\n",
    "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
    "a: |\r\n  x\r\n  y\r\n",
    "a: 'x\r\n  y'\r\n",
    "a:\n  - b: 1\n    c: 2\n  - d\n",
    "a: !!binary aGk=\n",
    "<<: {a: 1}\n",
    "a: 0x7FFFFFFFFFFFFFFF\nb: -0x8000000000000000\nc: 0xFFFFFFFFFFFFFFFF\n",
    "a: |\n\tx\n",
    "a: |\n  x\n\ty\n",
    "a: \"x\n\ty\"\n",
    "a:\n  b\n\tc\n",
    "[a,\n\tb]\n",
];

#[test]
fn tricky_snippets_read_as_serde_yaml_reads_them() {
    let long = "k".repeat(1020);
    let keys = [
        format!("{long}: v\n"),
        format!("{long}abcd: v\n"),
        format!("{long}abcde: v\n"),
        format!("{long}abcd : v\n"),
        format!("[{long}abcd: v]\n"),
        format!("{{{long}abcde: v}}\n"),
        format!("- '{long}ab': v\n"),
    ];
    assert_same(keys.into_iter().map(|text| ("long key".to_owned(), text)));
    assert_same(
        TRICKY
            .iter()
            .enumerate()
            .map(|(i, text)| (format!("snippet {i}"), (*text).to_owned())),
    );
}

/// Random documents in mixed styles, from a seed.
struct Generator {
    rng: crate::test_rng::XorShift,
    anchors: usize,
}

const KEYS: &[&str] = &[
    "a",
    "key",
    "name",
    "with space",
    "1",
    "true",
    "null",
    "~",
    "x-y",
    "a.b",
    "é",
    "k:v",
    "-k",
];

const SCALARS: &[&str] = &[
    "a",
    "hello world",
    "1",
    "-2",
    "+3",
    "0x1F",
    "-0x10",
    "0o17",
    "0b11",
    "007",
    "-007",
    "1.5",
    "-1e3",
    "1E+2",
    ".5",
    "5.",
    ".inf",
    "-.Inf",
    ".NaN",
    "~",
    "null",
    "NULL",
    "true",
    "False",
    "yes",
    "",
    "a:b",
    "a#b",
    "-a",
    "?x",
    ":x",
    "http://h:8080/p?q=1",
    "1_000",
    "é ü",
    "x  y",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "0",
    "-0",
    "0.0",
    "'",
    "\"",
    "a'b",
    "a\"b",
    "[x]",
    "{y}",
    "a, b",
    "#c",
    "&a",
    "*a",
    "!t",
    "|",
    ">",
    "%p",
    "@",
    " lead",
    "trail ",
    "tab\there",
    "a\\b",
    "1e400",
    "0x",
    "+.inf",
    "Null",
    "nULL",
];

impl Generator {
    fn chance(&mut self, percent: usize) -> bool {
        self.rng.below(100) < percent
    }

    fn scalar(&mut self, flow: bool) -> String {
        let text = self.rng.pick(SCALARS);
        match self.rng.below(if flow { 3 } else { 4 }) {
            0 => format!("'{}'", text.replace('\'', "''")),
            1 => format!("\"{}\"", double_escaped(text, &mut self.rng)),
            _ => text.to_owned(),
        }
    }

    fn key(&mut self) -> String {
        let key = self.rng.pick(KEYS);
        match self.rng.below(5) {
            0 => format!("'{key}'"),
            1 => format!("\"{key}\""),
            _ => key.to_owned(),
        }
    }

    fn properties(&mut self) -> String {
        if self.chance(8) {
            self.anchors += 1;
            format!("&n{} ", self.anchors)
        } else if self.anchors > 0 && self.chance(5) {
            format!("*n{}", 1 + self.rng.below(self.anchors))
        } else {
            String::new()
        }
    }

    fn flow(&mut self, depth: usize) -> String {
        let properties = self.properties();
        if properties.starts_with('*') {
            return properties;
        }
        let body = match self.rng.below(if depth > 3 { 1 } else { 4 }) {
            0 | 1 => self.scalar(true),
            2 => {
                let items: Vec<String> = (0..self.rng.below(4))
                    .map(|_| self.flow(depth + 1))
                    .collect();
                format!("[{}]", items.join(self.separator()))
            }
            _ => {
                let entries: Vec<String> = (0..self.rng.below(4))
                    .map(|_| format!("{}: {}", self.key(), self.flow(depth + 1)))
                    .collect();
                format!("{{{}}}", entries.join(self.separator()))
            }
        };
        format!("{properties}{body}")
    }

    fn separator(&mut self) -> &'static str {
        self.rng.pick(&[", ", ",", " , ", ",\n  ", ", # c\n  "])
    }

    fn comment(&mut self) -> &'static str {
        if self.chance(15) {
            self.rng.pick(&[" # c", "  #: x", " #"])
        } else {
            ""
        }
    }

    fn blank_lines(&mut self, out: &mut String, indent: usize) {
        if self.chance(10) {
            out.push_str(self.rng.pick(&["\n", "# comment\n", "  \n"]));
        }
        if self.chance(5) {
            out.push_str(&format!("{}# indented\n", " ".repeat(indent)));
        }
    }

    /// A block value after `key:` or `- ` (the text up to the line's end).
    fn block_value(&mut self, out: &mut String, indent: usize, depth: usize) {
        let properties = self.properties();
        if properties.starts_with('*') {
            out.push_str(&format!(" {properties}\n"));
            return;
        }
        let step = 1 + self.rng.below(3);
        match self.rng.below(if depth > 4 { 3 } else { 7 }) {
            0 | 1 => {
                let scalar = self.scalar(false);
                let comment = self.comment();
                out.push_str(&format!(" {properties}{scalar}{comment}\n"));
            }
            2 => self.block_scalar(out, &properties, indent + step),
            3 => {
                let flow = self.flow(depth);
                out.push_str(&format!(" {properties}{flow}\n"));
            }
            4 => {
                out.push_str(&format!(" {properties}\n"));
                self.mapping(out, indent + step, depth + 1);
            }
            5 if self.chance(50) => {
                out.push_str(&format!(" {properties}\n"));
                self.sequence(out, indent, depth + 1);
            }
            _ => {
                out.push_str(&format!(" {properties}\n"));
                self.sequence(out, indent + step, depth + 1);
            }
        }
    }

    fn block_scalar(&mut self, out: &mut String, properties: &str, indent: usize) {
        let header = self
            .rng
            .pick(&["|", ">", "|-", ">+", "|+", ">-", "|2", ">1-"]);
        out.push_str(&format!(" {properties}{header}{}\n", self.comment()));
        for _ in 0..self.rng.below(4) {
            let extra = if self.chance(20) { "  " } else { "" };
            let text = self.rng.pick(SCALARS).replace('\t', " ");
            if self.chance(15) {
                out.push('\n');
            }
            out.push_str(&format!("{}{extra}{text}\n", " ".repeat(indent)));
        }
    }

    fn mapping(&mut self, out: &mut String, indent: usize, depth: usize) {
        for _ in 0..1 + self.rng.below(4) {
            self.blank_lines(out, indent);
            let key = self.key();
            out.push_str(&format!("{}{key}:", " ".repeat(indent)));
            self.block_value(out, indent, depth);
        }
    }

    fn sequence(&mut self, out: &mut String, indent: usize, depth: usize) {
        for _ in 0..1 + self.rng.below(4) {
            self.blank_lines(out, indent);
            out.push_str(&format!("{}-", " ".repeat(indent)));
            if depth < 5 && self.chance(25) {
                let key = self.key();
                out.push_str(&format!(" {key}:"));
                self.block_value(out, indent + 2, depth + 1);
                if self.chance(50) {
                    let key = self.key();
                    out.push_str(&format!("{}{key}:", " ".repeat(indent + 2)));
                    self.block_value(out, indent + 2, depth + 1);
                }
            } else {
                self.block_value(out, indent, depth);
            }
        }
    }

    fn document(&mut self) -> String {
        self.anchors = 0;
        let mut out = String::new();
        if self.chance(10) {
            out.push_str("---\n");
        }
        match self.rng.below(5) {
            0 => out.push_str(&format!("{}\n", self.flow(0))),
            1 => self.sequence(&mut out, 0, 0),
            _ => self.mapping(&mut out, 0, 0),
        }
        if self.chance(5) {
            out.push_str("...\n");
        }
        if self.chance(30) {
            self.mutate(&mut out);
        }
        out
    }

    /// One or two characters replaced, inserted or removed.
    fn mutate(&mut self, text: &mut String) {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..1 + self.rng.below(2) {
            let at = self.rng.below(chars.len() + 1);
            let c = self.rng.pick(&[
                ' ', ':', '-', '#', '\n', '\t', '\'', '"', '[', ']', '{', '}', ',', '|', '>', '&',
                '*', '!', '?', 'a', '\\',
            ]);
            match self.rng.below(3) {
                0 if at < chars.len() => chars[at] = c,
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.insert(at, c),
            }
        }
        *text = chars.into_iter().collect();
    }
}

fn double_escaped(text: &str, rng: &mut crate::test_rng::XorShift) -> String {
    let mut out = text.replace('\\', "\\\\").replace('"', "\\\"");
    if rng.below(3) == 0 {
        out.push_str(rng.pick(&[
            "\\n",
            "\\t",
            "\\u00e9",
            "\\x41",
            "\\U0001F600",
            "\\/",
            "\\ ",
            "\\_",
        ]));
    }
    out
}

/// Thousands of random documents read as serde_yaml reads them.
#[test]
fn random_documents_read_as_serde_yaml_reads_them() {
    let mut generator = Generator {
        rng: crate::test_rng::XorShift::new(0x5eed_7a31),
        anchors: 0,
    };
    assert_same((0..10_000).map(|case| (format!("case {case}"), generator.document())));
}
