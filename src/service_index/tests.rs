//! The index against the reference: the first service in order whose globs match.

use super::*;
use crate::test_rng::XorShift;

/// Globs of every shape, sharing literals so that several services compete.
const GLOBS: &[&str] = &[
    "a.com", "b.com", "a.com:80", "", "a.com:*", "b*", "a*", "*.com", "*b.com", "*:80", "*",
    "a?.com", "+.com", "a.*.com", "*a*", "é*", "*é", "é.com", "a\\*",
];
const AUTHORITIES: &[&str] = &[
    "a.com",
    "b.com",
    "a.com:80",
    "a.com:8080",
    "ab.com",
    "x.com",
    "a.x.com",
    "bb",
    "b",
    "",
    "c:80",
    "é.com",
    "é",
    "a*",
    "zzz",
    "a.b.com",
];

fn first_match(services: &[Vec<Glob>], authority: &str) -> Option<usize> {
    services
        .iter()
        .position(|globs| globs.iter().any(|glob| glob.matches(authority)))
}

fn random_services(rng: &mut XorShift) -> Vec<Vec<Glob>> {
    (0..1 + rng.below(8))
        .map(|_| {
            (0..1 + rng.below(3))
                .map(|_| Glob::compile(rng.pick(GLOBS)).unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn index_agrees_with_the_first_match_in_order() {
    let mut rng = XorShift::new(0x5e41_ce17);
    let mut selected = 0;
    for case in 0..5000 {
        let services = random_services(&mut rng);
        let index = ServiceIndex::from_globs(services.iter().map(Vec::as_slice));
        for authority in AUTHORITIES {
            let expected = first_match(&services, authority);
            let globs: Vec<Vec<&str>> = services
                .iter()
                .map(|globs| globs.iter().map(Glob::as_str).collect())
                .collect();
            assert_eq!(
                index.select(authority),
                expected,
                "case {case}: {authority:?} against {globs:?}"
            );
            selected += usize::from(expected.is_some_and(|at| at > 0));
        }
    }
    assert!(
        selected > 10_000,
        "only {selected} selections past the first service"
    );
}

#[test]
fn a_thousand_exact_hosts_find_the_last_one() {
    let services: Vec<Vec<Glob>> = (0..1000)
        .map(|n| {
            vec![
                Glob::compile(&format!("svc-{n}.example.com")).unwrap(),
                Glob::compile(&format!("svc-{n}.example.com:*")).unwrap(),
            ]
        })
        .collect();
    let index = ServiceIndex::from_globs(services.iter().map(Vec::as_slice));
    assert_eq!(index.select("svc-999.example.com"), Some(999));
    assert_eq!(index.select("svc-999.example.com:8080"), Some(999));
    assert_eq!(index.select("svc-1000.example.com"), None);
    assert!(index.others.is_empty());
}

#[test]
fn an_earlier_glob_of_another_shape_wins() {
    let services = [
        vec![Glob::compile("a?.com").unwrap()],
        vec![Glob::compile("ab.com").unwrap()],
    ];
    let index = ServiceIndex::from_globs(services.iter().map(Vec::as_slice));
    assert_eq!(index.select("ab.com"), Some(0));
    assert_eq!(index.select("a.com"), Some(0));
    assert_eq!(index.select("abc.com"), None);
}
