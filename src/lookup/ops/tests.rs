//! Behaviour of every op, run from configuration text the way the filter runs it.

use super::*;

fn strings(values: &[&str]) -> Stack {
    values.iter().map(|&value| value.to_owned()).collect()
}

fn parse(yaml: &str) -> Vec<Op> {
    serde_yaml::from_str(yaml).unwrap_or_else(|error| panic!("{yaml}: {error}"))
}

fn run_yaml(yaml: &str, input: &[&str]) -> Result<Stack, OpFailure> {
    run(&parse(yaml), strings(input))
}

/// Each case: ops (YAML), input stack (bottom first), expected stack or `None` for a failure.
type Case<'a> = (&'a str, &'a [&'a str], Option<&'a [&'a str]>);

fn check_cases(cases: &[Case<'_>]) {
    for &(yaml, input, expected) in cases {
        let result = run_yaml(yaml, input);
        match expected {
            Some(expected) => assert_eq!(result, Ok(strings(expected)), "ops {yaml} on {input:?}"),
            None => assert!(
                result.is_err(),
                "ops {yaml} on {input:?} must fail, got {result:?}"
            ),
        }
    }
}

fn reason(yaml: &str, input: &[&str]) -> Reason {
    run_yaml(yaml, input).expect_err("must fail").reason
}

// ---- sequencing -------------------------------------------------------------

#[test]
fn no_ops_returns_the_input() {
    check_cases(&[
        ("[]", &["a"], Some(&["a"])),
        ("[]", &["a", "b"], Some(&["a", "b"])),
    ]);
}

#[test]
fn empty_input_fails_even_without_ops() {
    assert_eq!(reason("[]", &[]), Reason::NoInput);
    assert_eq!(reason("[push: x]", &[]), Reason::NoInput);
}

#[test]
fn an_op_leaving_the_stack_empty_fails() {
    let failure = run_yaml("[ok, pop]", &["a"]).unwrap_err();
    assert_eq!(failure.reason, Reason::EmptyStack);
    assert_eq!((failure.index, failure.op), (1, "pop"));
    assert_eq!(
        failure.to_string(),
        "op `pop` at [1].pop failed: the stack is empty afterwards"
    );
}

#[test]
fn failure_paths_point_into_nested_ops() {
    let yaml = "[ok, {test: {if: ok, then: [ok, {strlen: {max: 1}}]}}]";
    let failure = run_yaml(yaml, &["abc"]).unwrap_err();
    assert_eq!(failure.index, 1);
    assert_eq!(failure.op, "strlen");
    assert_eq!(failure.reason, Reason::TooLong { len: 3, max: 1 });
    assert_eq!(
        failure.to_string(),
        "op `strlen` at [1].test.then[1].strlen failed: length 3 is above the maximum 1"
    );
    let failure = run_yaml("[{cloned: {ops: [fail]}}]", &["a"]).unwrap_err();
    assert_eq!(
        failure.to_string(),
        "op `fail` at [0].cloned.ops[0].fail failed: `fail` always fails"
    );
    let failure = run_yaml("[{partial: {ops: [ok, fail]}}]", &["a"]).unwrap_err();
    assert!(
        failure.to_string().contains("[0].partial.ops[1].fail"),
        "{failure}"
    );
    let failure = run_yaml("[{top: [fail]}]", &["a"]).unwrap_err();
    assert!(failure.to_string().contains("[0].top[0].fail"), "{failure}");
    let failure = run_yaml("[ok, {assert: [{and: [ok, fail]}]}]", &["a"]).unwrap_err();
    assert!(
        failure.to_string().contains("[1].assert[0].and[1].fail"),
        "{failure}"
    );
    let failure = run_yaml("[{flat_map: [fail]}]", &["a"]).unwrap_err();
    assert!(
        failure.to_string().contains("[0].flat_map[0].fail"),
        "{failure}"
    );
    let failure = run_yaml("[{test: {if: fail, then: [], else: [fail]}}]", &["a"]).unwrap_err();
    assert!(
        failure.to_string().contains("[0].test.else[0].fail"),
        "{failure}"
    );
}

#[test]
fn failure_messages_never_show_values() {
    let failure = run_yaml("[{prefix: Bearer}]", &["Basic c2VjcmV0"]).unwrap_err();
    assert!(!failure.to_string().contains("c2VjcmV0"), "{failure}");
}

#[test]
fn oversized_input_is_refused() {
    let huge = "a".repeat(MAX_BYTES + 1);
    assert_eq!(reason("[]", &[&huge]), Reason::StackLimit);
}

// ---- decode -----------------------------------------------------------------

#[test]
fn base64_ops() {
    check_cases(&[
        (
            "[base64_standard]",
            &["YWxhZGRpbjpvcGVuc2VzYW1l"],
            Some(&["aladdin:opensesame"]),
        ),
        (
            "[base64_urlsafe]",
            &["YWxhZGRpbjpvcGVuc2VzYW1l"],
            Some(&["aladdin:opensesame"]),
        ),
        ("[base64_urlsafe]", &["w6k_"], Some(&["é?"])),
        ("[base64_standard]", &["w6k_"], Some(&["é?"])),
        ("[base64_urlsafe]", &["w6k/"], Some(&["é?"])),
        ("[base64_standard]", &["YQ"], Some(&["a"])),
        ("[base64_standard]", &["YQ=="], Some(&["a"])),
        ("[base64_standard]", &["x", "YQ"], Some(&["x", "a"])),
        ("[base64_standard]", &["not base64!"], None),
        ("[base64_standard]", &["//4"], None),
        // Decoding to nothing leaves an empty string: the stack is not empty.
        ("[base64_standard]", &[""], Some(&[""])),
    ]);
    assert_eq!(reason("[base64_standard]", &["%%%"]), Reason::InvalidBase64);
    assert_eq!(reason("[base64_urlsafe]", &["//4"]), Reason::NotUtf8);
}

#[test]
fn base64_of_jwt_segment() {
    // {"azp":"app"} base64url without padding.
    check_cases(&[(
        "[base64_urlsafe]",
        &["eyJhenAiOiJhcHAifQ"],
        Some(&[r#"{"azp":"app"}"#]),
    )]);
}

// ---- string -----------------------------------------------------------------

#[test]
fn strlen_counts_characters_or_bytes() {
    check_cases(&[
        ("[strlen]", &["anything"], Some(&["anything"])),
        ("[{strlen: {min: 2, max: 2}}]", &["日本"], Some(&["日本"])),
        ("[{strlen: {min: 3, mode: utf8}}]", &["日本"], None),
        (
            "[{strlen: {min: 6, max: 6, mode: bytes}}]",
            &["日本"],
            Some(&["日本"]),
        ),
        ("[{strlen: {max: 5, mode: bytes}}]", &["日本"], None),
        ("[{strlen: {min: 1}}]", &[""], None),
        ("[{strlen: {max: 0}}]", &[""], Some(&[""])),
        // Only the top value is measured.
        ("[{strlen: {max: 1}}]", &["long", "x"], Some(&["long", "x"])),
        ("[{strlen: {max: 1}}]", &["x", "long"], None),
    ]);
    assert_eq!(
        reason("[{strlen: {min: 3}}]", &["ab"]),
        Reason::TooShort { len: 2, min: 3 }
    );
}

#[test]
fn strrev_reverses_characters() {
    check_cases(&[
        ("[strrev]", &["abc"], Some(&["cba"])),
        ("[strrev]", &["añb日"], Some(&["日bña"])),
        ("[strrev]", &[""], Some(&[""])),
        ("[strrev]", &["keep", "ab"], Some(&["keep", "ba"])),
    ]);
}

#[test]
fn split_pushes_pieces_left_to_right() {
    check_cases(&[
        ("[split]", &["a:b:c"], Some(&["a", "b", "c"])),
        ("[{split: {max: 0}}]", &["a:b:c"], Some(&["a", "b", "c"])),
        ("[{split: {max: 2}}]", &["a:b:c"], Some(&["a", "b:c"])),
        ("[{split: {max: 1}}]", &["a:b:c"], Some(&["a:b:c"])),
        ("[{split: {max: 5}}]", &["a:b"], Some(&["a", "b"])),
        ("[split]", &["abc"], Some(&["abc"])),
        ("[split]", &[":"], Some(&["", ""])),
        ("[split]", &["a::b"], Some(&["a", "", "b"])),
        ("[split]", &[""], Some(&[""])),
        ("[split]", &["x", "a:b"], Some(&["x", "a", "b"])),
        (
            "[{split: {separator: ', '}}]",
            &["a, b, c"],
            Some(&["a", "b", "c"]),
        ),
        (
            "[{split: {separator: 日}}]",
            &["é日ü日"],
            Some(&["é", "ü", ""]),
        ),
        (
            "[{split: {separator: ' ', max: 2}}]",
            &["Basic  x y"],
            Some(&["Basic", " x y"]),
        ),
    ]);
}

#[test]
fn rsplit_pushes_pieces_right_to_left() {
    check_cases(&[
        ("[rsplit]", &["a:b:c"], Some(&["c", "b", "a"])),
        ("[{rsplit: {max: 2}}]", &["a:b:c"], Some(&["c", "a:b"])),
        ("[{rsplit: {max: 1}}]", &["a:b:c"], Some(&["a:b:c"])),
        (
            "[{rsplit: {separator: '.', max: 2}}]",
            &["x.y.z"],
            Some(&["z", "x.y"]),
        ),
        ("[rsplit]", &[""], Some(&[""])),
        ("[rsplit]", &["é:日"], Some(&["日", "é"])),
    ]);
}

#[test]
fn split_bounds_the_number_of_pieces() {
    let many = ":".repeat(MAX_VALUES);
    assert_eq!(reason("[split]", &[&many]), Reason::StackLimit);
    let fits = ":".repeat(MAX_VALUES - 1);
    assert_eq!(
        run_yaml("[split]", &[&fits]).map(|s| s.len()),
        Ok(MAX_VALUES)
    );
}

#[test]
fn replace_all_or_some() {
    check_cases(&[
        (
            "[{replace: {pattern: a, with: o}}]",
            &["banana"],
            Some(&["bonono"]),
        ),
        (
            "[{replace: {pattern: a, with: o, max: 0}}]",
            &["banana"],
            Some(&["bonono"]),
        ),
        (
            "[{replace: {pattern: a, with: o, max: 2}}]",
            &["banana"],
            Some(&["bonona"]),
        ),
        (
            "[{replace: {pattern: an, with: ''}}]",
            &["banana"],
            Some(&["ba"]),
        ),
        (
            "[{replace: {pattern: x, with: y}}]",
            &["banana"],
            Some(&["banana"]),
        ),
        (
            "[{replace: {pattern: '-', with: '+'}}]",
            &["a-b_c"],
            Some(&["a+b_c"]),
        ),
        (
            "[{replace: {pattern: 日, with: é}}]",
            &["日日"],
            Some(&["éé"]),
        ),
        (
            "[{replace: {pattern: aa, with: b}}]",
            &["aaa"],
            Some(&["ba"]),
        ),
    ]);
}

#[test]
fn replace_refuses_to_blow_up() {
    let long = "x".repeat(1024);
    let ops = vec![Op::Replace(crate::lookup::op::Replace {
        pattern: "a".into(),
        with: long,
        max: 0,
    })];
    let input = "a".repeat(16 * 1024);
    assert_eq!(
        run(&ops, vec![input]).unwrap_err().reason,
        Reason::StackLimit
    );
}

#[test]
fn prefix_suffix_substr_check_the_top_value() {
    check_cases(&[
        ("[{prefix: Basic}]", &["Basic abc"], Some(&["Basic abc"])),
        ("[{prefix: Basic}]", &["basic abc"], None),
        ("[{prefix: ''}]", &["x"], Some(&["x"])),
        ("[{prefix: Basic}]", &["Basic", "Bearer"], None),
        ("[{suffix: '.com'}]", &["a.com"], Some(&["a.com"])),
        ("[{suffix: '.com'}]", &["a.org"], None),
        ("[{substr: ':'}]", &["a:b"], Some(&["a:b"])),
        ("[{substr: ':'}]", &["ab"], None),
        ("[{substr: 本}]", &["日本語"], Some(&["日本語"])),
    ]);
    assert_eq!(reason("[{prefix: x}]", &["y"]), Reason::NoPrefix);
    assert_eq!(reason("[{suffix: x}]", &["y"]), Reason::NoSuffix);
    assert_eq!(reason("[{substr: x}]", &["y"]), Reason::NoSubstring);
}

#[test]
fn glob_checks_any_pattern_against_the_whole_top_value() {
    check_cases(&[
        ("[{glob: [Basic]}]", &["Basic"], Some(&["Basic"])),
        ("[{glob: [Bearer, Basic]}]", &["Basic"], Some(&["Basic"])),
        ("[{glob: [Basic]}]", &["Basic2"], None),
        ("[{glob: []}]", &["Basic"], None),
        (
            "[{glob: [aladdin, admin]}]",
            &["x", "admin"],
            Some(&["x", "admin"]),
        ),
    ]);
    assert_eq!(reason("[{glob: [a]}]", &["b"]), Reason::NoGlobMatch);
}

// ---- stack ------------------------------------------------------------------

#[test]
fn length_checks_the_stack_size_inclusively() {
    check_cases(&[
        ("[length]", &["a"], Some(&["a"])),
        ("[{length: {min: 2}}]", &["a", "b"], Some(&["a", "b"])),
        ("[{length: {min: 2}}]", &["a"], None),
        ("[{length: {max: 1}}]", &["a"], Some(&["a"])),
        ("[{length: {max: 1}}]", &["a", "b"], None),
        (
            "[{length: {min: 1, max: 3}}]",
            &["a", "b", "c"],
            Some(&["a", "b", "c"]),
        ),
    ]);
    assert_eq!(
        reason("[{length: {min: 2}}]", &["a"]),
        Reason::TooShort { len: 1, min: 2 }
    );
}

#[test]
fn join_bottom_to_top() {
    check_cases(&[
        ("[join]", &["a", "b", "c"], Some(&["abc"])),
        ("[{join: null}]", &["a", "b"], Some(&["ab"])),
        ("[{join: {}}]", &["a", "b"], Some(&["ab"])),
        ("[{join: ':'}]", &["a", "b", "c"], Some(&["a:b:c"])),
        ("[{join: ', '}]", &["a"], Some(&["a"])),
        ("[{join: ':'}]", &["", ""], Some(&[":"])),
    ]);
}

#[test]
fn reverse_the_stack() {
    check_cases(&[
        ("[reverse]", &["a", "b", "c"], Some(&["c", "b", "a"])),
        ("[reverse]", &["a"], Some(&["a"])),
        ("[reverse, reverse]", &["a", "b"], Some(&["a", "b"])),
    ]);
}

#[test]
fn contains_any_value() {
    check_cases(&[
        ("[{contains: b}]", &["a", "b", "c"], Some(&["a", "b", "c"])),
        ("[{contains: a}]", &["a", "b"], Some(&["a", "b"])),
        ("[{contains: ab}]", &["a", "b"], None),
        ("[{contains: ''}]", &[""], Some(&[""])),
    ]);
    assert_eq!(reason("[{contains: z}]", &["a"]), Reason::NotContained);
}

#[test]
fn push_and_xchg() {
    check_cases(&[
        ("[{push: x}]", &["a"], Some(&["a", "x"])),
        ("[{push: ''}]", &["a"], Some(&["a", ""])),
        ("[{xchg: x}]", &["a", "b"], Some(&["a", "x"])),
        ("[{xchg: ''}]", &["a"], Some(&[""])),
    ]);
}

#[test]
fn pop_counts() {
    check_cases(&[
        ("[pop]", &["a", "b"], Some(&["a"])),
        ("[{pop: null}]", &["a", "b"], Some(&["a"])),
        ("[{pop: {}}]", &["a", "b"], Some(&["a"])),
        ("[{pop: 2}]", &["a", "b", "c"], Some(&["a"])),
        ("[{pop: 2.0}]", &["a", "b", "c"], Some(&["a"])),
        ("[{pop: 0}]", &["a"], Some(&["a"])),
        ("[pop]", &["a"], None),
        ("[{pop: 3}]", &["a", "b", "c"], None),
    ]);
    assert_eq!(
        reason("[{pop: 4}]", &["a", "b", "c"]),
        Reason::NotEnoughValues { needed: 4, len: 3 }
    );
    assert_eq!(reason("[{pop: 3}]", &["a", "b", "c"]), Reason::EmptyStack);
}

#[test]
fn dup_with_ruby_indexes() {
    check_cases(&[
        ("[dup]", &["a", "b"], Some(&["a", "b", "b"])),
        ("[{dup: -1}]", &["a", "b"], Some(&["a", "b", "b"])),
        ("[{dup: 0}]", &["a", "b"], Some(&["a", "b", "a"])),
        ("[{dup: 1}]", &["a", "b"], Some(&["a", "b", "b"])),
        ("[{dup: -2}]", &["a", "b"], Some(&["a", "b", "a"])),
        ("[{dup: 2}]", &["a", "b"], None),
        ("[{dup: -3}]", &["a", "b"], None),
    ]);
    assert_eq!(
        reason("[{dup: 5}]", &["a"]),
        Reason::IndexOutOfRange { index: 5, len: 1 }
    );
}

#[test]
fn swap_with_ruby_indexes() {
    check_cases(&[
        (
            "[{swap: {from: 0, to: -1}}]",
            &["a", "b", "c"],
            Some(&["c", "b", "a"]),
        ),
        (
            "[{swap: {from: 1, to: 2}}]",
            &["a", "b", "c"],
            Some(&["a", "c", "b"]),
        ),
        (
            "[{swap: {from: -1, to: -1}}]",
            &["a", "b"],
            Some(&["a", "b"]),
        ),
        ("[{swap: {from: 0, to: 3}}]", &["a", "b", "c"], None),
        ("[{swap: {from: -4, to: 0}}]", &["a", "b", "c"], None),
    ]);
}

#[test]
fn indexes_keep_positions_in_order() {
    check_cases(&[
        ("[{indexes: [2, 0]}]", &["a", "b", "c"], Some(&["c", "a"])),
        ("[{indexes: [-1]}]", &["a", "b", "c"], Some(&["c"])),
        ("[{indexes: [0, 0]}]", &["a", "b"], Some(&["a", "a"])),
        ("[{indexes: []}]", &["a", "b"], Some(&["a", "b"])),
        ("[{indexes: [1.0]}]", &["a", "b"], Some(&["b"])),
        ("[{indexes: [0, 3]}]", &["a", "b"], None),
        ("[{indexes: [-3]}]", &["a", "b"], None),
    ]);
}

#[test]
fn indexes_refuse_to_blow_up() {
    let value = "x".repeat(1024 * 1024);
    let ops = vec![Op::Indexes(vec![0; 16])];
    assert_eq!(
        run(&ops, vec![value]).unwrap_err().reason,
        Reason::StackLimit
    );
}

#[test]
fn take_keeps_head_and_tail() {
    check_cases(&[
        ("[{take: {head: 1}}]", &["a", "b", "c"], Some(&["a"])),
        ("[{take: {tail: 1}}]", &["a", "b", "c"], Some(&["c"])),
        (
            "[{take: {head: 1, tail: 1}}]",
            &["a", "b", "c"],
            Some(&["a", "c"]),
        ),
        (
            "[{take: {head: 2, tail: 2}}]",
            &["a", "b", "c"],
            Some(&["a", "b", "c"]),
        ),
        ("[{take: {head: 9}}]", &["a", "b"], Some(&["a", "b"])),
        ("[{take: {head: 0, tail: 0}}]", &["a"], None),
        ("[take]", &["a"], None),
        ("[{take: {}}]", &["a"], None),
    ]);
}

#[test]
fn drop_removes_head_and_tail() {
    check_cases(&[
        ("[{drop: {head: 1}}]", &["a", "b", "c"], Some(&["b", "c"])),
        ("[{drop: {tail: 1}}]", &["a", "b", "c"], Some(&["a", "b"])),
        (
            "[{drop: {head: 1, tail: 1}}]",
            &["a", "b", "c"],
            Some(&["b"]),
        ),
        ("[drop]", &["a", "b"], Some(&["a", "b"])),
        ("[{drop: {head: 2, tail: 1}}]", &["a", "b", "c"], None),
        ("[{drop: {head: 9}}]", &["a"], None),
    ]);
}

#[test]
fn flat_map_runs_on_each_value_alone() {
    check_cases(&[
        (
            "[{flat_map: [strrev, split, reverse]}]",
            &["abc:123", "def:456"],
            Some(&["cba", "321", "fed", "654"]),
        ),
        ("[{flat_map: []}]", &["a", "b"], Some(&["a", "b"])),
        // Each run sees one value: a length check of 1 passes on every value.
        (
            "[{flat_map: [{length: {max: 1}}]}]",
            &["a", "b"],
            Some(&["a", "b"]),
        ),
        ("[{flat_map: [{prefix: a}]}]", &["ax", "bx"], None),
        ("[{flat_map: [pop]}]", &["a"], None),
        (
            "[{flat_map: [{push: x}]}]",
            &["a", "b"],
            Some(&["a", "x", "b", "x"]),
        ),
    ]);
}

#[test]
fn select_keeps_values_that_pass() {
    check_cases(&[
        (
            "[{select: [{prefix: a}]}]",
            &["ax", "bx", "ay"],
            Some(&["ax", "ay"]),
        ),
        ("[{select: [{prefix: z}]}]", &["ax", "bx"], None),
        ("[{select: []}]", &["a", "b"], Some(&["a", "b"])),
        // Outputs of the ops are discarded: the original value is kept.
        ("[{select: [strrev]}]", &["ab"], Some(&["ab"])),
        (
            "[{select: [{strlen: {min: 2}}, {suffix: x}]}]",
            &["ax", "x", "ay"],
            Some(&["ax"]),
        ),
    ]);
}

#[test]
fn values_and_log_never_change_the_stack() {
    check_cases(&[
        ("[values]", &["a", "b"], Some(&["a", "b"])),
        ("[{values: {level: trace, id: x}}]", &["a"], Some(&["a"])),
        ("[{values: {level: error}}]", &["a"], Some(&["a"])),
        ("[{log: {msg: hello}}]", &["a"], Some(&["a"])),
        ("[{log: {level: debug, msg: hello}}]", &["a"], Some(&["a"])),
    ]);
}

// ---- check ------------------------------------------------------------------

#[test]
fn ok_and_fail() {
    check_cases(&[("[ok]", &["a"], Some(&["a"])), ("[fail]", &["a"], None)]);
    assert_eq!(reason("[fail]", &["a"]), Reason::Fail);
}

#[test]
fn any_needs_one_success_and_keeps_the_stack() {
    check_cases(&[
        ("[{any: [fail, strrev]}]", &["ab"], Some(&["ab"])),
        ("[{any: [fail, fail]}]", &["ab"], None),
        ("[{any: []}]", &["ab"], None),
        // An alternative that empties the stack fails.
        ("[{any: [pop]}]", &["a"], None),
    ]);
}

#[test]
fn one_of_needs_exactly_one_success() {
    check_cases(&[
        ("[{one_of: [fail, {prefix: a}]}]", &["ab"], Some(&["ab"])),
        ("[{one_of: [ok, {prefix: a}]}]", &["ab"], None),
        ("[{one_of: [fail, fail]}]", &["ab"], None),
        ("[{one_of: []}]", &["ab"], None),
    ]);
    assert_eq!(
        reason("[{one_of: [ok, ok, ok]}]", &["a"]),
        Reason::NotExactlyOne { succeeded: 2 }
    );
}

#[test]
fn all_needs_every_success() {
    check_cases(&[
        ("[{all: [ok, {prefix: a}, strrev]}]", &["ab"], Some(&["ab"])),
        ("[{all: [ok, {prefix: b}]}]", &["ab"], None),
        ("[{all: []}]", &["ab"], Some(&["ab"])),
    ]);
    let failure = run_yaml("[{all: [ok, {prefix: b}]}]", &["ab"]).unwrap_err();
    assert!(
        failure.to_string().contains("[0].all[1].prefix"),
        "{failure}"
    );
}

#[test]
fn none_needs_no_success() {
    check_cases(&[
        ("[{none: [fail, {prefix: b}]}]", &["ab"], Some(&["ab"])),
        ("[{none: [fail, {prefix: a}]}]", &["ab"], None),
        ("[{none: []}]", &["ab"], Some(&["ab"])),
    ]);
    assert_eq!(
        reason("[{none: [fail, ok]}]", &["a"]),
        Reason::OneSucceeded { index: 1 }
    );
}

#[test]
fn assert_and_refute_run_a_sequence_on_a_copy() {
    check_cases(&[
        (
            "[{assert: [split, {length: {min: 2}}]}]",
            &["a:b"],
            Some(&["a:b"]),
        ),
        ("[{assert: [split, {length: {min: 3}}]}]", &["a:b"], None),
        ("[{assert: []}]", &["a"], Some(&["a"])),
        (
            "[{refute: [split, {length: {min: 3}}]}]",
            &["a:b"],
            Some(&["a:b"]),
        ),
        ("[{refute: [split, {length: {min: 2}}]}]", &["a:b"], None),
        ("[{refute: []}]", &["a"], None),
    ]);
    assert_eq!(reason("[{refute: [ok]}]", &["a"]), Reason::RefuteSucceeded);
}

// ---- control ----------------------------------------------------------------

#[test]
fn test_chooses_a_branch() {
    let yaml = "[{test: {if: {prefix: a}, then: [{push: yes}], else: [{push: no}]}}]";
    check_cases(&[
        (yaml, &["ab"], Some(&["ab", "yes"])),
        (yaml, &["ba"], Some(&["ba", "no"])),
        (
            "[{test: {if: fail, then: [{push: yes}]}}]",
            &["a"],
            Some(&["a"]),
        ),
        // The condition runs on a copy: its effects are discarded.
        ("[{test: {if: strrev, then: []}}]", &["ab"], Some(&["ab"])),
        ("[{test: {if: ok, then: [fail]}}]", &["a"], None),
        (
            "[{test: {if: pop, then: [{push: yes}]}}]",
            &["a"],
            Some(&["a"]),
        ),
    ]);
}

#[test]
fn and_keeps_effects_in_sequence() {
    check_cases(&[
        ("[{and: [split, reverse]}]", &["a:b"], Some(&["b", "a"])),
        ("[{and: [split, fail]}]", &["a:b"], None),
        ("[{and: []}]", &["a"], Some(&["a"])),
    ]);
}

#[test]
fn or_keeps_the_first_success() {
    check_cases(&[
        ("[{or: [fail, split, strrev]}]", &["a:b"], Some(&["a", "b"])),
        (
            "[{or: [{strlen: {min: 1}}, {drop: {tail: 1}}]}]",
            &["id", ""],
            Some(&["id"]),
        ),
        (
            "[{or: [{strlen: {min: 1}}, {drop: {tail: 1}}]}]",
            &["id", "k"],
            Some(&["id", "k"]),
        ),
        ("[{or: [fail, fail]}]", &["a"], None),
        ("[{or: []}]", &["a"], None),
    ]);
    assert_eq!(reason("[{or: [fail]}]", &["a"]), Reason::NoneSucceeded);
}

#[test]
fn xor_needs_exactly_one_success() {
    check_cases(&[
        ("[{xor: [fail, split]}]", &["a:b"], Some(&["a", "b"])),
        ("[{xor: [split, strrev]}]", &["a:b"], None),
        ("[{xor: [fail]}]", &["a"], None),
        ("[{xor: []}]", &["a"], None),
    ]);
    assert_eq!(
        reason("[{xor: [ok, ok, ok]}]", &["a"]),
        Reason::NotExactlyOne { succeeded: 3 }
    );
}

#[test]
fn cloned_adds_the_output_of_a_copy() {
    check_cases(&[
        (
            "[{cloned: {result: prepend, ops: [split]}}]",
            &["user:password"],
            Some(&["user", "password", "user:password"]),
        ),
        (
            "[{cloned: {ops: [split]}}]",
            &["user:password"],
            Some(&["user:password", "user", "password"]),
        ),
        (
            "[{cloned: {result: append, ops: []}}]",
            &["a", "b"],
            Some(&["a", "b", "a", "b"]),
        ),
        ("[{cloned: {ops: [fail]}}]", &["a"], None),
    ]);
}

#[test]
fn cloned_growth_is_bounded() {
    let doubling = "[{cloned: {ops: []}}]";
    let ops: Vec<Op> = std::iter::repeat_n(parse(doubling), 20).flatten().collect();
    assert_eq!(
        run(&ops, strings(&["a"])).unwrap_err().reason,
        Reason::StackLimit
    );
    let ops: Vec<Op> = std::iter::repeat_n(parse(doubling), 10).flatten().collect();
    assert_eq!(run(&ops, strings(&["a"])).map(|s| s.len()), Ok(1024));
}

#[test]
fn partial_works_on_the_top_values() {
    check_cases(&[
        (
            "[{partial: {ops: [strrev]}}]",
            &["ab", "cd"],
            Some(&["ab", "dc"]),
        ),
        (
            "[{partial: {max: 2, ops: [reverse]}}]",
            &["a", "b", "c"],
            Some(&["a", "c", "b"]),
        ),
        (
            "[{partial: {max: 2, result: prepend, ops: [join]}}]",
            &["a", "b", "c"],
            Some(&["bc", "a"]),
        ),
        (
            "[{partial: {max: 5, ops: [join]}}]",
            &["a", "b"],
            Some(&["ab"]),
        ),
        (
            "[{partial: {ops: [split]}}]",
            &["x", "a:b"],
            Some(&["x", "a", "b"]),
        ),
        ("[{partial: {ops: [pop]}}]", &["x", "a"], None),
        (
            "[{partial: {max: 1.0, ops: []}}]",
            &["x", "a"],
            Some(&["x", "a"]),
        ),
    ]);
}

#[test]
fn top_is_partial_with_one_value_appended() {
    check_cases(&[
        ("[{top: [split]}]", &["k", "a:b"], Some(&["k", "a", "b"])),
        ("[{top: [{prefix: a}]}]", &["k", "ab"], Some(&["k", "ab"])),
        ("[{top: [{prefix: z}]}]", &["k", "ab"], None),
        ("[{top: []}]", &["k", "ab"], Some(&["k", "ab"])),
    ]);
}

// ---- format -----------------------------------------------------------------

#[test]
fn json_and_protobuf_pop_the_document() {
    // The document walk belongs to `lookup::format`; here only the stack handling is
    // checked: the document is popped, and nothing found is a failure.
    let json = run_yaml("[json]", &["not json"]).unwrap_err();
    assert_eq!((json.op, json.reason), ("json", Reason::NoDocumentValue));
    let protobuf = run_yaml("[{protobuf: {keys: [a]}}]", &["x", "\u{1}"]).unwrap_err();
    assert_eq!(
        (protobuf.op, protobuf.reason),
        ("protobuf", Reason::NoDocumentValue)
    );
}

// ---- worked examples (docs/behaviour.md §5 and the seed, 2.23.7.3) --------------------

const BASIC_AUTH: &str = r#"
- split:
    separator: " "
    max: 2
- length:
    min: 2
- drop:
    head: 1
- base64_urlsafe
- split:
    max: 2
"#;

#[test]
fn worked_example_basic_auth() {
    check_cases(&[
        (
            BASIC_AUTH,
            &["Basic YWxhZGRpbjpvcGVuc2VzYW1l"],
            Some(&["aladdin", "opensesame"]),
        ),
        // No key in the credentials: only the id remains.
        (BASIC_AUTH, &["Basic YWxhZGRpbg=="], Some(&["aladdin"])),
        (BASIC_AUTH, &["YWxhZGRpbjpvcGVuc2VzYW1l"], None),
        (BASIC_AUTH, &["Basic %%%"], None),
    ]);
}

#[test]
fn worked_example_flat_map_and_cloned() {
    check_cases(&[
        (
            "- flat_map: [strrev, split, reverse]",
            &["abc:123", "def:456"],
            Some(&["cba", "321", "fed", "654"]),
        ),
        (
            "- cloned: {result: prepend, ops: [split]}",
            &["user:password"],
            Some(&["user", "password", "user:password"]),
        ),
    ]);
}

/// The seed's longer Authorization-header example (2.23.7.3 item 4), as printed
/// there except for two indentation slips: `- test:` is one space too deep, and
/// `then:` one space shallower than `if:`; both are aligned here.
const SEED_AUTHORIZATION: &str = r#"
                ops:
                    - split:
                        separator: " "
                        max: 2
                    - length:
                        min: 2
                    - reverse
                    - glob:
                      - Basic
                    - drop:
                        tail: 1
                    - base64_urlsafe
                    - split:
                        max: 2
                    - test:
                        if:
                          length:
                            min: 2
                        then:
                          - strlen:
                              max: 63
                          - or:
                              - strlen:
                                  min: 1
                              - drop:
                                  tail: 1
                    - assert:
                      - and:
                        - reverse
                        - or:
                          - strlen:
                              min: 8
                          - glob:
                            - aladdin
                            - admin
"#;

fn seed_ops() -> Vec<Op> {
    #[derive(serde::Deserialize)]
    struct Holder {
        ops: Vec<Op>,
    }
    let holder: Holder = serde_yaml::from_str(SEED_AUTHORIZATION).unwrap();
    holder.ops
}

fn basic(credentials: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[test]
fn seed_authorization_example_parses() {
    let ops = seed_ops();
    let names: Vec<&str> = ops.iter().map(Op::name).collect();
    assert_eq!(
        names,
        [
            "split",
            "length",
            "reverse",
            "glob",
            "drop",
            "base64_urlsafe",
            "split",
            "test",
            "assert"
        ]
    );
    let Op::Test(test) = &ops[7] else {
        panic!("not a test op")
    };
    assert_eq!(test.then.len(), 2);
    assert!(test.otherwise.is_empty());
}

#[test]
fn seed_authorization_example_behaves_as_described() {
    let ops = seed_ops();
    let long_key = "k".repeat(63);
    let too_long_key = "k".repeat(64);
    let cases: Vec<(String, Option<Vec<&str>>)> = vec![
        (
            basic("aladdin:opensesame"),
            Some(vec!["aladdin", "opensesame"]),
        ),
        (basic("admin:secret"), Some(vec!["admin", "secret"])),
        (basic("aladdin"), Some(vec!["aladdin"])),
        // An empty key is dropped, as if there were none.
        (basic("aladdin:"), Some(vec!["aladdin"])),
        (basic("admin:"), Some(vec!["admin"])),
        // Ids of 8 characters or more need no allow-list.
        (basic("12345678:key"), Some(vec!["12345678", "key"])),
        (basic("application-id"), Some(vec!["application-id"])),
        (
            basic(&format!("aladdin:{long_key}")),
            Some(vec!["aladdin", &long_key]),
        ),
        // Short ids other than aladdin/admin are refused.
        (basic("bob:key"), None),
        (basic("1234567:key"), None),
        (basic("bob"), None),
        // Keys longer than 63 characters are refused.
        (basic(&format!("aladdin:{too_long_key}")), None),
        // Only the Basic scheme is accepted.
        ("Bearer YWxhZGRpbjpvcGVuc2VzYW1l".to_owned(), None),
        ("basic YWxhZGRpbjpvcGVuc2VzYW1l".to_owned(), None),
        ("Basic".to_owned(), None),
        ("Basic !!!".to_owned(), None),
        // The key may itself contain colons: only the first one separates.
        (
            basic("aladdin:open:sesame"),
            Some(vec!["aladdin", "open:sesame"]),
        ),
    ];
    for (header, expected) in cases {
        let result = run(&ops, vec![header.clone()]);
        match expected {
            Some(expected) => assert_eq!(result, Ok(strings(&expected)), "{header}"),
            None => assert!(result.is_err(), "{header} must fail, got {result:?}"),
        }
    }
}

// ---- robustness -------------------------------------------------------------

/// One instance of every op, with small parameters.
fn one_of_each() -> Vec<Op> {
    let yaml = r#"
- base64_standard
- base64_urlsafe
- strlen: {min: 1, max: 3}
- strrev
- split
- rsplit: {max: 2}
- replace: {pattern: a, with: bb}
- prefix: a
- suffix: a
- substr: a
- glob: [a]
- length: {min: 1, max: 2}
- join: '-'
- reverse
- contains: a
- push: a
- pop: 2
- dup: -2
- xchg: z
- swap: {from: 0, to: -1}
- indexes: [1, 0, -1]
- take: {head: 1, tail: 1}
- drop: {head: 1}
- flat_map: [split]
- select: [{prefix: a}]
- values: {level: error, id: each}
- ok
- fail
- any: [fail, ok]
- one_of: [ok, fail]
- all: [ok]
- none: [fail]
- assert: [pop]
- refute: [ok]
- test: {if: {length: {min: 2}}, then: [pop], else: [dup]}
- and: [dup, pop]
- or: [fail, strrev]
- xor: [ok, fail]
- cloned: {ops: [split]}
- partial: {max: 2, result: prepend, ops: [join]}
- top: [strrev]
- log: {level: trace, msg: each}
- json: {keys: [a]}
- protobuf: {keys: [a]}
"#;
    parse(yaml)
}

#[test]
fn no_op_panics_on_awkward_stacks() {
    let ops = one_of_each();
    assert_eq!(ops.len(), crate::lookup::op::OP_NAMES.len());
    let stacks: &[&[&str]] = &[
        &[""],
        &["a"],
        &["a", "b"],
        &["YQ", "a:b:c", "日本:語"],
        &["\u{0}", "====", "-_+/"],
        &["a:", ":a", "::"],
    ];
    for op in &ops {
        for stack in stacks {
            // Success or failure both fine; the point is that nothing panics and
            // no op leaves an empty stack behind without failing.
            if let Ok(output) = run(std::slice::from_ref(op), strings(stack)) {
                assert!(!output.is_empty(), "{} on {stack:?}", op.name());
            }
        }
    }
}

#[test]
fn base64_never_panics_on_arbitrary_text() {
    // A small deterministic generator over an alphabet heavy in base64 edge cases.
    let alphabet: Vec<char> = "AQYw+/-_=\n é0z".chars().collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let ops = parse("[base64_standard]");
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 9) as usize;
        let text: String = (0..len)
            .map(|i| alphabet[((seed >> (i * 5)) % alphabet.len() as u64) as usize])
            .collect();
        let _ = run(&ops, vec![text]);
    }
}

#[test]
fn strlen_counts_scalar_values_not_graphemes() {
    // "é" written as e + combining acute accent: two scalar values, three bytes.
    check_cases(&[
        (
            "[{strlen: {min: 2, max: 2}}]",
            &["e\u{301}"],
            Some(&["e\u{301}"]),
        ),
        (
            "[{strlen: {min: 3, max: 3, mode: bytes}}]",
            &["e\u{301}"],
            Some(&["e\u{301}"]),
        ),
    ]);
}

#[test]
fn or_runs_each_alternative_on_the_same_stack() {
    check_cases(&[
        // The failed `prefix` does not feed the next alternative.
        ("[{or: [{prefix: z}, strrev]}]", &["ab"], Some(&["ba"])),
        ("[{or: [pop, strrev]}]", &["a", "b"], Some(&["a"])),
        // An alternative that empties the stack fails, so the next one is tried.
        ("[{or: [pop, strrev]}]", &["ab"], Some(&["ba"])),
    ]);
}

#[test]
fn xor_keeps_the_only_success() {
    check_cases(&[
        (
            "[{xor: [{prefix: z}, {push: y}, fail]}]",
            &["a"],
            Some(&["a", "y"]),
        ),
        ("[{xor: [{push: x}, {push: y}]}]", &["a"], None),
    ]);
}

#[test]
fn nested_cloned_and_partial() {
    check_cases(&[
        (
            "[{cloned: {ops: [split, {cloned: {result: prepend, ops: [join]}}]}}]",
            &["a:b"],
            Some(&["a:b", "ab", "a", "b"]),
        ),
        (
            "[{partial: {max: 1, result: prepend, ops: [split]}}]",
            &["k", "a:b"],
            Some(&["a", "b", "k"]),
        ),
    ]);
}

#[test]
fn join_refuses_to_blow_up() {
    let separator = "x".repeat(256);
    let ops = vec![Op::Join(separator)];
    let stack = vec![String::new(); 40_000];
    assert_eq!(run(&ops, stack).unwrap_err().reason, Reason::StackLimit);
}

#[test]
fn flat_map_growth_is_bounded() {
    let stack = vec!["a".to_owned(); 40_000];
    assert_eq!(
        reason_of("[{flat_map: [dup]}]", stack.clone()),
        Reason::StackLimit
    );
    assert_eq!(
        run(&parse("[{flat_map: [strrev]}]"), stack).map(|s| s.len()),
        Ok(40_000)
    );
}

#[test]
fn indexes_longer_than_the_limit_are_refused() {
    let ops = vec![Op::Indexes(vec![0; MAX_VALUES + 1])];
    assert_eq!(
        run(&ops, strings(&["a"])).unwrap_err().reason,
        Reason::StackLimit
    );
}

fn reason_of(yaml: &str, stack: Stack) -> Reason {
    run(&parse(yaml), stack).expect_err("must fail").reason
}

#[test]
fn failure_display_for_the_source() {
    let failure = run(&[], Vec::new()).unwrap_err();
    assert_eq!(failure.to_string(), "the source gave no values");
    assert!(failure.path.is_empty());
}

#[test]
fn swap_and_indexes_report_the_index() {
    assert_eq!(
        reason("[{swap: {from: 0, to: -3}}]", &["a", "b"]),
        Reason::IndexOutOfRange { index: -3, len: 2 }
    );
    assert_eq!(
        reason("[{indexes: [0, 2]}]", &["a", "b"]),
        Reason::IndexOutOfRange { index: 2, len: 2 }
    );
}

#[test]
fn worked_example_basic_auth_from_istio_json() {
    // Istio hands pluginConfig over as compact JSON with sorted keys and float numbers.
    let text = r#"[{"split":{"max":2.0,"separator":" "}},{"length":{"min":2.0}},{"drop":{"head":1.0}},"base64_urlsafe",{"split":{"max":2.0}}]"#;
    let ops: Vec<Op> = serde_json::from_str(text).unwrap();
    assert_eq!(ops, parse(BASIC_AUTH));
    assert_eq!(
        run(&ops, strings(&["Basic YWxhZGRpbjpvcGVuc2VzYW1l"])),
        Ok(strings(&["aladdin", "opensesame"]))
    );
}

#[test]
fn seed_authorization_example_from_istio_json() {
    let text = serde_json::to_string(
        &serde_yaml::from_str::<serde_json::Value>(SEED_AUTHORIZATION).unwrap(),
    )
    .unwrap();
    #[derive(serde::Deserialize)]
    struct Holder {
        ops: Vec<Op>,
    }
    let holder: Holder = serde_json::from_str(&text).unwrap();
    assert_eq!(holder.ops, seed_ops());
}

#[test]
fn values_log_under_a_disabled_logger_is_harmless() {
    // No logger is installed in unit tests: `log_enabled!` is false and nothing is formatted.
    check_cases(&[(
        "[{values: {level: trace}}, {log: {level: error, msg: m}}]",
        &["a"],
        Some(&["a"]),
    )]);
}
