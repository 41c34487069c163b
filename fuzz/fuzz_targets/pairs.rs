//! The reader of the host's serialized header maps on arbitrary bytes: a buffer
//! is accepted only if every pair it announces lies inside it, and an accepted
//! one yields exactly the pairs it announces, each name and value inside it; a
//! map kept with its checked layout reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::io::pairs::{HeaderPairs, OwnedHeaderPairs};

fuzz_target!(|data: &[u8]| {
    let owned = OwnedHeaderPairs::new(data.to_vec());
    let Some(pairs) = HeaderPairs::new(data) else {
        assert!(owned.is_none(), "a kept map is checked as a borrowed one");
        return;
    };
    let kept: Vec<_> = owned
        .as_ref()
        .expect("accepted alike")
        .pairs()
        .iter()
        .collect();
    assert_eq!(
        kept,
        pairs.iter().collect::<Vec<_>>(),
        "a kept map reads alike"
    );
    let announced = data.get(..4).map_or(0, |count| {
        u32::from_le_bytes(count.try_into().unwrap()) as usize
    });
    let mut read = 0;
    for (name, value) in pairs.iter() {
        assert!(
            name.len() + value.len() < data.len(),
            "a pair larger than its buffer"
        );
        read += 1;
    }
    assert_eq!(
        read, announced,
        "an accepted map yields every pair it announces"
    );
    if let Some((first, _)) = pairs.iter().next()
        && let Ok(name) = std::str::from_utf8(first)
    {
        assert!(pairs.get(name).is_some(), "the first name is found");
    }
});
