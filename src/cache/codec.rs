//! The bytes a bucket is kept as in the shared store: a compact binary form.
//!
//! Every hit reads, changes and writes its bucket, so the encoding is on the
//! hot path; JSON (serde_json) took about two thirds of a hit's time. The
//! format:
//!
//! - a header: [`MAGIC`] then [`VERSION`] (a JSON bucket starts with `[`, so
//!   a bucket written by another version of the filter is rejected);
//! - a count, then each entry's fields in declaration order;
//! - unsigned integers as LEB128 varints, signed ones zigzag-mapped first;
//!   strings as a varint byte length and UTF-8; `Option` and enums as a tag
//!   byte; sequences as a varint count and their items.
//!
//! Decoding is total: any input gives entries or an error, never a panic; a
//! count is checked against the bytes left (every item takes at least one
//! byte) before anything is allocated, and trailing bytes are an error.

use super::entry::{Authorization, Entry, Flight, Limit, Record, StoredCredential};
use crate::model::{Secret, Usages};

/// The first byte of an encoded bucket (not a byte JSON starts with).
pub const MAGIC: u8 = 0xB7;
/// The format's version, second byte: bumped when the layout changes (3:
/// each limit's share and each entry's usage being reported, README "Cache";
/// 4: each entry's leases, after its metrics).
pub const VERSION: u8 = 4;
/// The version before leases: still read (an entry without leases), so that
/// a bucket written by the filter before them keeps its unreported usage.
const VERSION_WITHOUT_LEASES: u8 = 3;
/// The version of the records' form, which did not change with the bucket's.
pub const RECORDS_VERSION: u8 = 2;
/// The first byte of encoded usage records (`super::orphans`): another magic,
/// so that neither form is ever taken for the other.
pub const RECORDS_MAGIC: u8 = 0xB8;

/// Why bytes are not a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header is not [`MAGIC`] then [`VERSION`].
    #[error("not a bucket of this version (bad header)")]
    Header,
    /// The input ends inside a value.
    #[error("the bucket ends inside {0}")]
    Truncated(&'static str),
    /// A varint is longer than 64 bits.
    #[error("a varint in {0} overflows 64 bits")]
    Overflow(&'static str),
    /// A tag byte names no variant.
    #[error("unknown tag {tag} for {what}")]
    Tag {
        /// The value being read.
        what: &'static str,
        /// The byte found.
        tag: u8,
    },
    /// A count or length is larger than the bytes left.
    #[error("a count or length in {0} exceeds the bytes left")]
    Length(&'static str),
    /// A string is not UTF-8.
    #[error("a string in {0} is not UTF-8")]
    Utf8(&'static str),
    /// Bytes follow the last entry.
    #[error("{0} bytes follow the bucket")]
    Trailing(usize),
}

/// Encodes a bucket's entries.
pub fn encode_bucket(entries: &[Entry]) -> Vec<u8> {
    encode_bucket_into(entries, Vec::with_capacity(64 + entries.len() * 160))
}

/// [`encode_bucket`] into `buffer` (cleared first): the bytes of the bucket last
/// written make room for the next ones without a new allocation.
pub fn encode_bucket_into(entries: &[Entry], mut buffer: Vec<u8>) -> Vec<u8> {
    buffer.clear();
    let mut out = Writer(buffer);
    out.0.extend_from_slice(&[MAGIC, VERSION]);
    out.len(entries.len());
    for entry in entries {
        out.entry(entry);
    }
    out.0
}

/// Decodes a bucket's entries (see the module doc for the format).
pub fn decode_bucket(bytes: &[u8]) -> Result<Vec<Entry>, DecodeError> {
    let (rest, leases) = match bytes {
        [MAGIC, VERSION, rest @ ..] => (rest, true),
        [MAGIC, VERSION_WITHOUT_LEASES, rest @ ..] => (rest, false),
        _ => return Err(DecodeError::Header),
    };
    let mut input = Reader(rest);
    let entries = input.seq("the bucket", |input| input.entry(leases))?;
    match input.0.len() {
        0 => Ok(entries),
        trailing => Err(DecodeError::Trailing(trailing)),
    }
}

/// Encodes usage records (unreported usage handed from one plugin to another):
/// [`RECORDS_MAGIC`], [`RECORDS_VERSION`], a count, then each record's service id,
/// credential and usage, as in a bucket.
pub fn encode_records(records: &[Record]) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(8 + records.len() * 64));
    out.0.extend_from_slice(&[RECORDS_MAGIC, RECORDS_VERSION]);
    out.len(records.len());
    for record in records {
        out.str(&record.service_id);
        out.credential(&record.credential);
        out.counts(&record.usages.0);
    }
    out.0
}

/// Decodes what [`encode_records`] wrote.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let rest = match bytes {
        [RECORDS_MAGIC, RECORDS_VERSION, rest @ ..] => rest,
        _ => return Err(DecodeError::Header),
    };
    let mut input = Reader(rest);
    let records = input.seq("the records", |input| {
        Ok(Record {
            service_id: input.string("a service id")?,
            credential: input.credential()?,
            usages: Usages::from(input.counts("a usage")?),
        })
    })?;
    match input.0.len() {
        0 => Ok(records),
        trailing => Err(DecodeError::Trailing(trailing)),
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }

    fn u64(&mut self, mut value: u64) {
        while value >= 0x80 {
            // The low 7 bits, with the continuation bit set.
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn i64(&mut self, value: i64) {
        // Zigzag: small magnitudes, negative or not, stay short.
        self.u64(((value << 1) ^ (value >> 63)) as u64);
    }

    fn len(&mut self, len: usize) {
        self.u64(len as u64);
    }

    fn str(&mut self, text: &str) {
        self.len(text.len());
        self.0.extend_from_slice(text.as_bytes());
    }

    fn opt_u64(&mut self, value: Option<u64>) {
        match value {
            None => self.byte(0),
            Some(value) => {
                self.byte(1);
                self.u64(value);
            }
        }
    }

    fn opt_str(&mut self, value: Option<&str>) {
        match value {
            None => self.byte(0),
            Some(text) => {
                self.byte(1);
                self.str(text);
            }
        }
    }

    fn counts<N: AsRef<str>>(&mut self, counts: &[(N, u64)]) {
        self.len(counts.len());
        for (metric, value) in counts {
            self.str(metric.as_ref());
            self.u64(*value);
        }
    }

    fn credential(&mut self, credential: &StoredCredential) {
        match credential {
            StoredCredential::UserKey(key) => {
                self.byte(0);
                self.str(key.expose());
            }
            StoredCredential::AppId(app_id, app_key) => {
                self.byte(1);
                self.str(app_id);
                self.opt_str(app_key.as_ref().map(Secret::expose));
            }
        }
    }

    fn entry(&mut self, entry: &Entry) {
        self.str(&entry.service_id);
        self.credential(&entry.credential);
        self.byte(match entry.authorization {
            Authorization::Authorized => 0,
            Authorization::Denied => 1,
        });
        self.u64(entry.fresh_until_ms);
        self.u64(entry.last_used_ms);
        self.len(entry.limits.len());
        for limit in &entry.limits {
            self.limit(limit);
        }
        self.len(entry.parents.len());
        for (child, parent) in &entry.parents {
            self.str(child);
            self.str(parent);
        }
        self.counts(&entry.used);
        self.counts(&entry.unreported);
        self.counts(&entry.reporting);
        self.flights(&entry.flights);
        self.byte(u8::from(entry.busy));
        self.len(entry.metrics.len());
        for metric in &entry.metrics {
            self.str(metric);
        }
        self.flights(&entry.leases);
    }

    fn flights(&mut self, flights: &[Flight]) {
        self.len(flights.len());
        for flight in flights {
            self.u64(flight.ticket);
            self.counts(&flight.usage);
            self.u64(flight.until_ms);
        }
    }

    fn limit(&mut self, limit: &Limit) {
        self.str(&limit.metric);
        self.str(&limit.period);
        self.i64(limit.max);
        self.i64(limit.current);
        self.opt_u64(limit.ends_ms);
        self.i64(limit.local);
        self.i64(limit.base);
        self.i64(limit.seen);
        self.i64(limit.foreign);
        self.u64(u64::from(limit.share));
    }
}

/// The bytes not read yet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let (&first, rest) = self.0.split_first().ok_or(DecodeError::Truncated(what))?;
        self.0 = rest;
        Ok(first)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte(what)?;
            let bits = u64::from(byte & 0x7F);
            // The tenth byte holds bit 63 only.
            if shift == 63 && bits > 1 {
                return Err(DecodeError::Overflow(what));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Overflow(what))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let zigzag = self.u64(what)?;
        Ok(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
    }

    /// A length or count, at most the bytes left (each item takes at least one).
    fn len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let len = self.u64(what)?;
        usize::try_from(len)
            .ok()
            .filter(|len| *len <= self.0.len())
            .ok_or(DecodeError::Length(what))
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = self.len(what)?;
        let (text, rest) = self
            .0
            .split_at_checked(len)
            .ok_or(DecodeError::Truncated(what))?;
        self.0 = rest;
        std::str::from_utf8(text)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Utf8(what))
    }

    fn tag(&mut self, what: &'static str, variants: u8) -> Result<u8, DecodeError> {
        let tag = self.byte(what)?;
        if tag < variants {
            Ok(tag)
        } else {
            Err(DecodeError::Tag { what, tag })
        }
    }

    fn opt_u64(&mut self, what: &'static str) -> Result<Option<u64>, DecodeError> {
        Ok(match self.tag(what, 2)? {
            0 => None,
            _ => Some(self.u64(what)?),
        })
    }

    fn opt_string(&mut self, what: &'static str) -> Result<Option<String>, DecodeError> {
        Ok(match self.tag(what, 2)? {
            0 => None,
            _ => Some(self.string(what)?),
        })
    }

    fn seq<T>(
        &mut self,
        what: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.len(what)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn counts(&mut self, what: &'static str) -> Result<Vec<(String, u64)>, DecodeError> {
        self.seq(what, |input| Ok((input.string(what)?, input.u64(what)?)))
    }

    fn credential(&mut self) -> Result<StoredCredential, DecodeError> {
        const WHAT: &str = "a credential";
        Ok(match self.tag(WHAT, 2)? {
            0 => StoredCredential::UserKey(Secret::new(self.string(WHAT)?)),
            _ => {
                StoredCredential::AppId(self.string(WHAT)?, self.opt_string(WHAT)?.map(Secret::new))
            }
        })
    }

    /// An entry; its leases only when the bucket's version has them.
    fn entry(&mut self, leases: bool) -> Result<Entry, DecodeError> {
        Ok(Entry {
            service_id: self.string("a service id")?,
            credential: self.credential()?,
            authorization: match self.tag("an authorization", 2)? {
                0 => Authorization::Authorized,
                _ => Authorization::Denied,
            },
            fresh_until_ms: self.u64("a freshness time")?,
            last_used_ms: self.u64("a last use time")?,
            limits: self.seq("limits", Reader::limit)?,
            parents: self.seq("parents", |input| {
                Ok((input.string("parents")?, input.string("parents")?))
            })?,
            used: self.counts("used")?,
            unreported: self.counts("unreported")?,
            reporting: self.counts("reporting")?,
            flights: self.seq("flights", Reader::flight)?,
            busy: self.tag("busy", 2)? == 1,
            metrics: self.seq("metrics", |input| input.string("metrics"))?,
            leases: if leases {
                self.seq("leases", Reader::flight)?
            } else {
                Vec::new()
            },
        })
    }

    fn limit(&mut self) -> Result<Limit, DecodeError> {
        const WHAT: &str = "a limit";
        Ok(Limit {
            metric: self.string(WHAT)?,
            period: self.string(WHAT)?,
            max: self.i64(WHAT)?,
            current: self.i64(WHAT)?,
            ends_ms: self.opt_u64(WHAT)?,
            local: self.i64(WHAT)?,
            base: self.i64(WHAT)?,
            seen: self.i64(WHAT)?,
            foreign: self.i64(WHAT)?,
            share: u32::try_from(self.u64(WHAT)?).unwrap_or(u32::MAX),
        })
    }

    fn flight(&mut self) -> Result<Flight, DecodeError> {
        Ok(Flight {
            ticket: self.u64("a flight")?,
            usage: self.counts("a flight")?,
            until_ms: self.u64("a flight")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(metric: &str, max: i64, ends_ms: Option<u64>) -> Limit {
        Limit {
            metric: metric.into(),
            period: "minute".into(),
            max,
            current: -3,
            ends_ms,
            local: 7,
            base: 2,
            seen: 5,
            foreign: 3,
            share: 1 << 14,
        }
    }

    /// An entry with every field populated (and some non-ASCII text).
    fn full() -> Entry {
        Entry {
            service_id: "42".into(),
            credential: StoredCredential::AppId("app-é".into(), Some("key".into())),
            authorization: Authorization::Authorized,
            fresh_until_ms: 1_700_000_010_000,
            last_used_ms: 1_700_000_000_000,
            limits: vec![
                limit("hits", 100, Some(1_700_000_060_000)),
                limit("products", 5, None),
            ],
            parents: vec![("products".into(), "hits".into())],
            used: vec![("hits".into(), 3), ("products".into(), 1)],
            unreported: vec![("hits".into(), 2)],
            reporting: vec![("hits".into(), 4)],
            flights: vec![Flight {
                ticket: 9,
                usage: vec![("hits".into(), 1)],
                until_ms: 1_700_000_002_000,
            }],
            busy: true,
            metrics: vec!["hits".into(), "products".into()],
            leases: vec![Flight {
                ticket: 11,
                usage: vec![("hits".into(), 64)],
                until_ms: 1_700_000_003_000,
            }],
        }
    }

    /// An entry with empty vectors and `None`s.
    fn bare() -> Entry {
        Entry {
            service_id: String::new(),
            credential: StoredCredential::AppId("a".into(), None),
            authorization: Authorization::Denied,
            fresh_until_ms: 0,
            last_used_ms: 0,
            limits: Vec::new(),
            parents: Vec::new(),
            used: Vec::new(),
            unreported: Vec::new(),
            reporting: Vec::new(),
            flights: Vec::new(),
            busy: false,
            metrics: Vec::new(),
            leases: Vec::new(),
        }
    }

    /// An entry at the integers' extremes.
    fn extreme() -> Entry {
        Entry {
            service_id: "s".repeat(300),
            credential: StoredCredential::UserKey("k".into()),
            authorization: Authorization::Authorized,
            fresh_until_ms: u64::MAX,
            last_used_ms: u64::MAX - 1,
            limits: vec![
                Limit {
                    metric: "m".into(),
                    period: "eternity".into(),
                    max: i64::MAX,
                    current: i64::MIN,
                    ends_ms: Some(u64::MAX),
                    local: -1,
                    base: i64::MIN + 1,
                    seen: 0,
                    foreign: i64::MAX,
                    share: u32::MAX,
                },
                Limit {
                    ends_ms: Some(0),
                    max: i64::MIN,
                    current: i64::MAX,
                    ..limit("n", 0, None)
                },
            ],
            parents: Vec::new(),
            used: vec![("m".into(), u64::MAX), ("n".into(), 0)],
            unreported: vec![("m".into(), 1 << 63)],
            reporting: vec![("n".into(), u64::MAX)],
            flights: vec![Flight {
                ticket: u64::MAX,
                usage: Vec::new(),
                until_ms: 0,
            }],
            busy: true,
            metrics: vec![String::new(), "m".repeat(300)],
            leases: vec![Flight {
                ticket: 0,
                usage: vec![("m".into(), u64::MAX)],
                until_ms: u64::MAX,
            }],
        }
    }

    fn representative() -> Vec<Vec<Entry>> {
        vec![
            Vec::new(),
            vec![full()],
            vec![bare()],
            vec![extreme()],
            vec![full(), bare(), extreme(), full()],
        ]
    }

    #[test]
    fn representative_buckets_round_trip() {
        for bucket in representative() {
            let bytes = encode_bucket(&bucket);
            assert_eq!(bytes.first(), Some(&MAGIC));
            assert_eq!(decode_bucket(&bytes), Ok(bucket));
        }
    }

    #[test]
    fn records_round_trip_and_are_never_taken_for_a_bucket() {
        let records = vec![
            Record {
                service_id: "42".into(),
                credential: StoredCredential::UserKey("k".into()),
                usages: Usages(vec![("hits".into(), 3), ("m".into(), u64::MAX)]),
            },
            Record {
                service_id: String::new(),
                credential: StoredCredential::AppId("app-é".into(), None),
                usages: Usages(Vec::new()),
            },
        ];
        let bytes = encode_records(&records);
        assert_eq!(decode_records(&bytes), Ok(records));
        assert_eq!(decode_bucket(&bytes), Err(DecodeError::Header));
        assert_eq!(
            decode_records(&encode_bucket(&[full()])),
            Err(DecodeError::Header)
        );
        for end in 0..bytes.len() {
            assert!(decode_records(&bytes[..end]).is_err(), "cut at {end}");
        }
    }

    #[test]
    fn the_empty_bucket_is_its_header_and_a_zero_count() {
        assert_eq!(encode_bucket(&[]), vec![MAGIC, VERSION, 0]);
    }

    #[test]
    fn every_truncation_is_rejected() {
        for bucket in representative() {
            let bytes = encode_bucket(&bucket);
            for end in 0..bytes.len() {
                assert!(
                    decode_bucket(&bytes[..end]).is_err(),
                    "{} of {} bytes accepted",
                    end,
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode_bucket(&[full()]);
        bytes.push(0);
        assert_eq!(decode_bucket(&bytes), Err(DecodeError::Trailing(1)));
    }

    #[test]
    fn a_bucket_written_before_leases_is_read_without_them() {
        let entry = Entry {
            leases: Vec::new(),
            ..full()
        };
        let mut bytes = encode_bucket(std::slice::from_ref(&entry));
        // The leases' count, last: what version 3 did not write.
        assert_eq!(bytes.pop(), Some(0));
        bytes[1] = VERSION_WITHOUT_LEASES;
        assert_eq!(decode_bucket(&bytes), Ok(vec![entry]));
        assert_eq!(
            decode_bucket(&[MAGIC, VERSION_WITHOUT_LEASES - 1, 0]),
            Err(DecodeError::Header)
        );
    }

    #[test]
    fn json_and_other_headers_are_rejected() {
        let json = br#"[{"s":"42","c":{"u":"k"},"a":"ok","f":1,"t":1}]"#;
        assert_eq!(decode_bucket(json), Err(DecodeError::Header));
        assert_eq!(decode_bucket(b"[]"), Err(DecodeError::Header));
        assert_eq!(decode_bucket(b""), Err(DecodeError::Header));
        assert_eq!(
            decode_bucket(&[MAGIC, VERSION + 1, 0]),
            Err(DecodeError::Header)
        );
    }

    #[test]
    fn malformed_values_are_rejected() {
        // A count larger than the bytes left allocates nothing.
        let huge_count = [MAGIC, VERSION, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
        assert_eq!(
            decode_bucket(&huge_count),
            Err(DecodeError::Length("the bucket"))
        );
        // Eleven varint bytes, and a tenth byte with more than bit 63.
        let mut long = vec![MAGIC, VERSION];
        long.extend([0x80; 10]);
        long.push(0);
        assert_eq!(
            decode_bucket(&long),
            Err(DecodeError::Overflow("the bucket"))
        );
        let mut wide = vec![MAGIC, VERSION];
        wide.extend([0x80; 9]);
        wide.push(0x02);
        assert_eq!(
            decode_bucket(&wide),
            Err(DecodeError::Overflow("the bucket"))
        );
        // One entry: service "" then an unknown credential tag.
        assert_eq!(
            decode_bucket(&[MAGIC, VERSION, 1, 0, 7]),
            Err(DecodeError::Tag {
                what: "a credential",
                tag: 7
            })
        );
        // One entry: a service id that is not UTF-8.
        assert_eq!(
            decode_bucket(&[MAGIC, VERSION, 1, 1, 0xFF]),
            Err(DecodeError::Utf8("a service id"))
        );
    }

    /// xorshift64: deterministic, so a failure names its seed.
    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// Small, large and extreme values alike.
        fn int(&mut self) -> u64 {
            match self.below(4) {
                0 => self.below(200),
                1 => self.next() >> self.below(64),
                2 => [0, 1, u64::MAX, 1 << 63, 127, 128][self.below(6) as usize],
                _ => self.next(),
            }
        }

        fn text(&mut self) -> String {
            let alphabet = ['a', 'z', '0', '-', '/', 'é', '€', '\u{1F600}', '"', '\0'];
            (0..self.below(12))
                .map(|_| alphabet[self.below(alphabet.len() as u64) as usize])
                .collect()
        }

        fn many<T>(&mut self, most: u64, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
            (0..self.below(most + 1)).map(|_| item(self)).collect()
        }

        fn counts(&mut self) -> Vec<(String, u64)> {
            self.many(3, |dice| (dice.text(), dice.int()))
        }

        fn entry(&mut self) -> Entry {
            Entry {
                service_id: self.text(),
                credential: if self.below(2) == 0 {
                    StoredCredential::UserKey(Secret::new(self.text()))
                } else {
                    let key = (self.below(2) == 0).then(|| Secret::new(self.text()));
                    StoredCredential::AppId(self.text(), key)
                },
                authorization: if self.below(2) == 0 {
                    Authorization::Authorized
                } else {
                    Authorization::Denied
                },
                fresh_until_ms: self.int(),
                last_used_ms: self.int(),
                limits: self.many(3, |dice| Limit {
                    metric: dice.text(),
                    period: dice.text(),
                    max: dice.int() as i64,
                    current: dice.int() as i64,
                    ends_ms: (dice.below(2) == 0).then(|| dice.int()),
                    local: dice.int() as i64,
                    base: dice.int() as i64,
                    seen: dice.int() as i64,
                    foreign: dice.int() as i64,
                    share: dice.int() as u32,
                }),
                parents: self.many(2, |dice| (dice.text(), dice.text())),
                used: self.counts(),
                unreported: self.counts(),
                reporting: self.counts(),
                flights: self.many(2, |dice| Flight {
                    ticket: dice.int(),
                    usage: dice.counts(),
                    until_ms: dice.int(),
                }),
                busy: self.below(2) == 0,
                metrics: self.many(3, |dice| dice.text()),
                leases: self.many(2, |dice| Flight {
                    ticket: dice.int(),
                    usage: dice.counts(),
                    until_ms: dice.int(),
                }),
            }
        }
    }

    #[test]
    fn random_buckets_round_trip_and_random_bytes_never_panic() {
        for seed in 1..=2_000u64 {
            let mut dice = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let bucket = dice.many(4, Xorshift::entry);
            let bytes = encode_bucket(&bucket);
            assert_eq!(decode_bucket(&bytes), Ok(bucket), "seed {seed}");
            // Random bytes behind a valid header, and a corrupted encoding:
            // an error or some entries (a flipped bit may still decode),
            // never a panic.
            let mut noise = vec![MAGIC, VERSION];
            noise.extend((0..dice.below(64)).map(|_| dice.next() as u8));
            let _ = decode_bucket(&noise);
            let mut flipped = bytes.clone();
            if let Some(byte) = flipped.get_mut(dice.below(bytes.len() as u64) as usize) {
                *byte ^= 1 << dice.below(8);
            }
            let _ = decode_bucket(&flipped);
        }
    }

    #[test]
    fn random_bytes_are_rejected() {
        let mut dice = Xorshift(0xDEAD_BEEF);
        for _ in 0..2_000 {
            let noise: Vec<u8> = (0..dice.below(64)).map(|_| dice.next() as u8).collect();
            if noise.get(..2) != Some(&[MAGIC, VERSION][..]) {
                assert_eq!(decode_bucket(&noise), Err(DecodeError::Header));
            }
        }
    }
}
