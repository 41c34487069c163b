//! The reader on each construct and each error, and against serde_yaml (which it
//! replaces in the module and which stays a dev-dependency to check it).

mod differential;

use serde_json::{Value as Json, json};

use super::{Position, Step, YamlError, locate, parse, to_json};

/// The document as serde_json reads the JSON text written for it.
fn read(text: &str) -> Json {
    let root = parse(text).unwrap_or_else(|error| panic!("{text:?}: {error} at {:?}", error.at));
    let written = to_json(&root).unwrap_or_else(|error| panic!("{text:?}: {error}"));
    serde_json::from_str(&written).unwrap_or_else(|error| panic!("{written}: {error}"))
}

/// The error for `text`: message, line, column.
fn refused(text: &str) -> (String, usize, usize) {
    let error = parse(text).and_then(|root| to_json(&root)).expect_err(text);
    let YamlError { at, problem } = error;
    (problem.to_string(), at.line, at.column)
}

fn assert_refused(text: &str, needle: &str, line: usize, column: usize) {
    let (message, at_line, at_column) = refused(text);
    assert!(
        message.contains(needle),
        "{text:?}: `{needle}` not in `{message}`"
    );
    assert_eq!((at_line, at_column), (line, column), "{text:?}: {message}");
}

#[test]
fn block_mappings_and_sequences() {
    assert_eq!(
        read("a: 1\nb:\n  c: x\n  d: [1]\n"),
        json!({"a": 1, "b": {"c": "x", "d": [1]}})
    );
    assert_eq!(
        read("- a\n- - b\n  - c\n-\n  k: v\n"),
        json!(["a", ["b", "c"], {"k": "v"}])
    );
    assert_eq!(read("k:\n- 1\n- 2\nj: x\n"), json!({"k": [1, 2], "j": "x"}));
    assert_eq!(
        read("- k: v\n  l: w\n- m:\n  - n\n"),
        json!([{"k": "v", "l": "w"}, {"m": ["n"]}])
    );
    assert_eq!(read("a:\nb: ~\n"), json!({"a": null, "b": null}));
    assert_eq!(read("- \n-\n"), json!([null, null]));
    assert_eq!(read("'q': 1\n\"d\" : 2\n"), json!({"q": 1, "d": 2}));
}

#[test]
fn keys_are_their_text() {
    assert_eq!(
        read("1: a\ntrue: b\nnull: c\n~: d\n0x1: e\n"),
        json!({"1": "a", "true": "b", "null": "c", "~": "d", "0x1": "e"})
    );
}

#[test]
fn flow_collections() {
    assert_eq!(
        read("[a, [b, {c: d}], {}, []]"),
        json!(["a", ["b", {"c": "d"}], {}, []])
    );
    assert_eq!(
        read("{a, b: , c: 1,}"),
        json!({"a": null, "b": null, "c": 1})
    );
    assert_eq!(read("[a: b, c]"), json!([{"a": "b"}, "c"]));
    assert_eq!(read("k: [a,\nb]\n"), json!({"k": ["a", "b"]}));
    assert_eq!(
        read("[\"a\":b, a:b, 'c':d]"),
        json!([{"a": "b"}, "a:b", {"c": "d"}])
    );
    assert_eq!(read("[-a, -, x # c\n, y]"), json!(["-a", "-", "x", "y"]));
}

#[test]
fn plain_scalars_fold_lines() {
    assert_eq!(read("a: b\n  c\n\n  d  \n"), json!({"a": "b c\nd"}));
    assert_eq!(read("- a\n -b\n"), json!(["a -b"]));
    assert_eq!(read("a: x#y z # c\n"), json!({"a": "x#y z"}));
    assert_eq!(
        read("a: :x\nb: -y\nc: ?z\n"),
        json!({"a": ":x", "b": "-y", "c": "?z"})
    );
    assert_eq!(read("url: http://h:1/p\n"), json!({"url": "http://h:1/p"}));
}

#[test]
fn quoted_scalars() {
    assert_eq!(read("a: 'it''s'\n"), json!({"a": "it's"}));
    assert_eq!(read("a: 'x\n  y\n\n  z '\n"), json!({"a": "x y\nz "}));
    assert_eq!(
        read(r#"a: "\0\a\b\t\n\v\f\r\e\ \"\/\\\N\_\L\P\x41\u00e9\U0001F600""#),
        json!({"a": "\0\u{7}\u{8}\t\n\u{b}\u{c}\r\u{1b} \"/\\\u{85}\u{a0}\u{2028}\u{2029}Aé😀"})
    );
    assert_eq!(read("a: \"x \\\n   y\\\n\n z\"\n"), json!({"a": "x y\nz"}));
    assert_eq!(
        read("a: \"1\"\nb: 'true'\n"),
        json!({"a": "1", "b": "true"})
    );
}

#[test]
fn block_scalars() {
    assert_eq!(
        read("a: |\n  x\n   y\n\n  z\n\n"),
        json!({"a": "x\n y\n\nz\n"})
    );
    assert_eq!(
        read("a: >\n  x\n  y\n\n  z\n   w\n  v\n"),
        json!({"a": "x y\nz\n w\nv\n"})
    );
    assert_eq!(read("a: |-\n  x\n\n"), json!({"a": "x"}));
    assert_eq!(read("a: |+\n  x\n\n"), json!({"a": "x\n\n"}));
    assert_eq!(read("a: |2\n   x\n  y\n"), json!({"a": " x\ny\n"}));
    assert_eq!(
        read("a: >-2 # c\n    x\n  y\nb: 1\n"),
        json!({"a": "  x\ny", "b": 1})
    );
    assert_eq!(read("- |\n  1\n- >\n  2\n"), json!(["1\n", "2\n"]));
    assert_eq!(read("a: |\nb: 1\n"), json!({"a": "", "b": 1}));
}

#[test]
fn scalars_resolve_as_serde_yaml_does() {
    let text = "[~, null, Null, NULL, '', true, True, FALSE, tRue, 0, -0, +7, 0x1F, -0x1F, 0o17, 0b101, \
                007, -007, 1.5, -1e3, +.5, 1., .inf, -.Inf, .NaN, 1e400, 18446744073709551615, \
                -9223372036854775808, 1_000, 0x, yes, no]";
    assert_eq!(
        read(text),
        json!([
            null,
            null,
            null,
            null,
            "",
            true,
            true,
            false,
            "tRue",
            0,
            0,
            7,
            31,
            -31,
            15,
            5,
            "007",
            "-007",
            1.5,
            -1000.0,
            0.5,
            1.0,
            null,
            null,
            null,
            "1e400",
            18446744073709551615u64,
            -9223372036854775808i64,
            "1_000",
            "0x",
            "yes",
            "no"
        ])
    );
    assert_eq!(read("a: 5000.0\n")["a"].as_f64(), Some(5000.0));
    assert!(read("a: 5000.0\n")["a"].is_f64());
}

#[test]
fn documents_comments_and_markers() {
    assert_eq!(read("# c\n---\na: 1 # c\n# d\n...\n# e\n"), json!({"a": 1}));
    assert_eq!(read("--- |\n x\n"), json!("x\n"));
    assert_eq!(read("--- [a]\n"), json!(["a"]));
    assert_eq!(read("---\n"), json!(null));
    assert_eq!(read("\u{feff}a: 1\r\nb: 2\r\n"), json!({"a": 1, "b": 2}));
    assert_eq!(read("a:\tb\n"), json!({"a": "b"}));
}

#[test]
fn anchors_and_aliases_copy_nodes() {
    assert_eq!(
        read("a: &x {k: [1]}\nb: *x\nc: &y v\nd: *y\n"),
        json!({"a": {"k": [1]}, "b": {"k": [1]}, "c": "v", "d": "v"})
    );
    assert_eq!(read("[&k a: *k]"), json!([{"a": "a"}]));
    assert_eq!(read("a: &e\nb: *e\n"), json!({"a": null, "b": null}));
}

#[test]
fn refused_features_are_named_where_they_are() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("a: !!str 1\n", "tags", 1, 4),
        ("a: [!x 1]\n", "tags", 1, 5),
        ("a: 1\n? b\n: c\n", "complex mapping keys", 2, 1),
        ("%YAML 1.2\n---\na: 1\n", "directives", 1, 1),
        ("a: 1\n---\nb: 2\n", "several YAML documents", 2, 1),
        ("a: 1\n...\nb: 2\n", "several YAML documents", 3, 1),
        ("a: 1\nb: 2\na: 3\n", "duplicate key `a`", 3, 1),
        ("{a: 1, a: 2}", "duplicate key `a`", 1, 8),
        ("&a k: v\n", "anchors and aliases on mapping keys", 1, 1),
        ("[a, [b]]: 1\n", "must be a scalar", 1, 9),
        ("{[a]: 1}\n", "must be a scalar", 1, 2),
    ];
    for &(text, needle, line, column) in cases {
        assert_refused(text, needle, line, column);
    }
}

#[test]
fn aliases_are_checked() {
    assert_refused("a: *x\n", "names no anchor", 1, 4);
    assert_refused("a: &x [*x]\n", "inside the node it names", 1, 8);
    assert_refused("- &a x\n- &a y\n- *a\n", "`&a` is defined twice", 2, 3);
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (name, previous) in ["bcdefghij".chars().zip("abcdefghi".chars())]
        .into_iter()
        .flatten()
    {
        let refs = vec![format!("*{previous}"); 10].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let (message, _, _) = refused(&laughs);
    assert!(message.contains("aliases expand to more than"), "{message}");
}

#[test]
fn nesting_is_limited_in_block_and_flow() {
    let block = |depth: usize| {
        (0..depth)
            .map(|level| format!("{}k:\n", "  ".repeat(level)))
            .collect::<String>()
    };
    assert!(parse(&block(128)).is_ok());
    assert_refused(&block(129), "deeper than 128", 129, 257);
    let flow = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(parse(&flow(128)).is_ok());
    assert_refused(&flow(129), "deeper than 128", 1, 129);
    assert_refused(&"[".repeat(20_000), "deeper than 128", 1, 129);
    let through_alias = format!("a: &a {}\nb: [*a]\n", flow(127));
    assert_refused(&through_alias, "deeper than 128", 2, 5);
}

#[test]
fn syntax_errors_say_where() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("a: b: c\n", "mapping may not start on this line", 1, 5),
        ("a: - b\n", "block sequence may not start", 1, 4),
        ("a: 1\n  b: 2\n", "spans lines", 2, 4),
        ("a:\n  b: [1]\n    c: 2\n", "indented more", 3, 5),
        ("a:\n  b: 1\n c: 2\n", "indented more", 3, 2),
        ("- a\nb: 1\n", "unexpected text after the document", 2, 1),
        ("a: [1, 2\n", "not closed", 2, 1),
        ("a: {b: [1] c}\n", "expected `,`", 1, 12),
        ("a: \"x\n", "double-quoted scalar is not closed", 1, 4),
        ("a: 'x\n", "single-quoted scalar is not closed", 1, 4),
        ("a: \"\\q\"\n", "unknown escape", 1, 5),
        ("a: \"\\ud800\"\n", "no Unicode character", 1, 5),
        ("a: \"\\x4\"\n", "too few hex digits", 1, 5),
        ("a:\n\tb: 1\n", "tab character", 2, 1),
        ("-\ta\n", "tab character after `-`", 1, 2),
        ("a: |0\n x\n", "indentation indicator is 0", 1, 5),
        ("a: | x\n", "after a block scalar's header", 1, 6),
        ("a: \"x\" y\n", "unexpected text after a value", 1, 8),
        ("a: 1\nb\n", "expected `:`", 2, 1),
        ("a: [x:, y]\n", "before a flow indicator", 1, 6),
        ("a: @x\n", "may not start with", 1, 4),
        ("a: \u{1}\n", "control character U+0001", 1, 4),
        ("a: 18446744073709551616\n", "out of range", 1, 4),
        (": v\n", "no mapping key", 1, 1),
        ("a\nb: c\n", "spans lines", 2, 2),
    ];
    for &(text, needle, line, column) in cases {
        assert_refused(text, needle, line, column);
    }
}

#[test]
fn nodes_are_located_by_path() {
    let text = "services:\n  - id: a\n  - id: b\n    token: t\n    rules: [x, {m: 1}]\n";
    let root = parse(text).unwrap();
    let at = |path: &[Step<'_>]| locate(&root, path.iter().copied());
    assert_eq!(
        at(&[Step::Key("services")]),
        Some(Position { line: 2, column: 3 })
    );
    assert_eq!(
        at(&[Step::Key("services"), Step::Index(1)]),
        Some(Position { line: 3, column: 5 })
    );
    let token = [Step::Key("services"), Step::Index(1), Step::Key("token")];
    assert_eq!(
        at(&token),
        Some(Position {
            line: 4,
            column: 12
        })
    );
    let m = [
        Step::Key("services"),
        Step::Index(1),
        Step::Key("rules"),
        Step::Index(1),
        Step::Key("m"),
    ];
    assert_eq!(
        at(&m),
        Some(Position {
            line: 5,
            column: 20
        })
    );
    assert_eq!(at(&[Step::Key("services"), Step::Index(2)]), None);
    assert_eq!(at(&[Step::Key("nope")]), None);
    assert_eq!(at(&[Step::Index(0)]), None);
}
