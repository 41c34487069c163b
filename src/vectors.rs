//! Reading the tab-separated test-vector tables of `tests/vectors/` (test only).

/// One row of a vector table: its line number, the fields before the verdict,
/// and the verdict (`yes` / `no`).
pub struct VectorRow {
    pub line: usize,
    pub fields: Vec<&'static str>,
    pub expected: bool,
}

/// The rows of `table` (named `name` in messages), each with `columns` fields
/// including the final verdict; `#` lines and blank lines are skipped.
pub fn rows(name: &str, table: &'static str, columns: usize) -> Vec<VectorRow> {
    table
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(index, line)| {
            let mut fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), columns, "{name} line {}: {line:?}", index + 1);
            let expected = match fields.pop().map(str::trim) {
                Some("yes") => true,
                Some("no") => false,
                other => panic!("{name} line {}: bad verdict {other:?}", index + 1),
            };
            VectorRow {
                line: index + 1,
                fields,
                expected,
            }
        })
        .collect()
}

/// One row of a two-column table: its line number, the input and the expected output.
pub struct PairRow {
    pub line: usize,
    pub input: &'static str,
    pub output: &'static str,
}

/// The rows of a table of `input<TAB>output` pairs (named `name` in messages);
/// `#` lines and blank lines are skipped.
pub fn pairs(name: &str, table: &'static str) -> Vec<PairRow> {
    table
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty())
        .map(|(index, line)| {
            let Some((input, output)) = line.split_once('\t') else {
                panic!("{name} line {}: expected two fields: {line:?}", index + 1);
            };
            assert!(
                !output.contains('\t'),
                "{name} line {}: more than two fields: {line:?}",
                index + 1
            );
            PairRow {
                line: index + 1,
                input,
                output,
            }
        })
        .collect()
}
