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

/// Refused on purpose: serde_yaml accepts these, the reader names them.
fn refused_by_design(problem: &Problem) -> bool {
    matches!(
        problem,
        Problem::Tag
            | Problem::ComplexKey
            | Problem::Directive
            | Problem::DuplicateKey(_)
            | Problem::KeyProperty
            | Problem::AliasBudget(_)
    )
}

/// The difference between the two readings of `text`, if any.
pub(super) fn difference(text: &str) -> Option<String> {
    match (serde_yaml_reading(text), our_reading(text)) {
        (Ok(theirs), Ok(ours)) if theirs == ours => None,
        (Ok(theirs), Ok(ours)) => Some(format!("serde_yaml {theirs} but we {ours}")),
        (Ok(_), Err(problem)) if refused_by_design(&problem) => None,
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
    "a: |\n\tx\n",
    "a: |\n  x\n\ty\n",
    "a: \"x\n\ty\"\n",
    "a:\n  b\n\tc\n",
    "[a,\n\tb]\n",
];

#[test]
fn tricky_snippets_read_as_serde_yaml_reads_them() {
    assert_same(
        TRICKY
            .iter()
            .enumerate()
            .map(|(i, text)| (format!("snippet {i}"), (*text).to_owned())),
    );
}
