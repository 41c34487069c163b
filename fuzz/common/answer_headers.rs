//! Backend answer headers from fuzz input, shared by the `answer` and
//! `request` targets: one `name:value` per line (`:status:200` for the status).

/// The `(name, value)` pairs of the lines that have a colon after the name.
pub fn answer_headers(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    bytes
        .split(|&byte| byte == b'\n')
        .filter_map(|line| {
            // A pseudo-header's name starts with its own colon.
            let start = usize::from(line.first() == Some(&b':'));
            let colon = start + line.get(start..)?.iter().position(|&byte| byte == b':')?;
            let (name, value) = line.split_at(colon);
            Some((
                String::from_utf8_lossy(name).into_owned(),
                value.get(1..)?.to_vec(),
            ))
        })
        .collect()
}
