//! One journal line: a record as JSON, led by a checksum of the rest, and read back byte by
//! byte so that a damaged line is reported with its number and never hides the records after
//! it (the old reader stopped at the first non-UTF-8 line, dropping an `undone`, and a second
//! undo then overwrote later work).
//!
//! Format: `{"crc":"8 hex digits",REST` where `{REST` is the record's JSON and the CRC-32
//! (IEEE) is over those bytes. CRC-32 and not a cryptographic hash: the journal directory is
//! root's alone (see `state_dir`), so the checksum detects damage (torn writes, bad disks,
//! hand edits), it does not authenticate; a dozen lines of code instead of a new crate.
//!
//! Each record carries `seq`, its number in the file (1, 2, …): a missing line shows as a gap.
//! Lines without a checksum are the format of older netlens versions and are read as such
//! ("legacy") while they come before any checksummed line; after one, a line without a
//! checksum is damage.

use super::Record;

const PREFIX: &str = "{\"crc\":\"";

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The line (with its newline) for `rec`.
pub fn encode(rec: &Record) -> Result<String, serde_json::Error> {
    let body = serde_json::to_string(rec)?;
    // `body` is a JSON object: it starts with `{`.
    Ok(format!(
        "{PREFIX}{:08x}\",{}\n",
        crc32(body.as_bytes()),
        &body[1..]
    ))
}

/// What a journal file held.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    /// `LINE: reason`, 1-based line numbers.
    pub problems: Vec<(usize, String)>,
    /// Bytes of complete lines: a torn last line (a crash mid-write) starts here.
    pub complete_len: usize,
    /// The `seq` the next appended record gets.
    pub next_seq: u64,
    /// Some records have no checksum (written by an older netlens).
    pub legacy: bool,
}

/// Splits a checksummed line into its record JSON, or says why it is damaged. `Ok(None)`: a
/// legacy line without a checksum.
fn unwrap_line(line: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Some(rest) = line.strip_prefix(PREFIX.as_bytes()) else {
        return Ok(None);
    };
    if rest.len() < 10 || &rest[8..10] != b"\"," {
        return Err("malformed checksum".into());
    }
    let hex = std::str::from_utf8(&rest[..8]).map_err(|_| "malformed checksum".to_string())?;
    let want = u32::from_str_radix(hex, 16).map_err(|_| "malformed checksum".to_string())?;
    let mut body = Vec::with_capacity(rest.len() - 9);
    body.push(b'{');
    body.extend_from_slice(&rest[10..]);
    if crc32(&body) != want {
        return Err("checksum mismatch: the line was changed or damaged".into());
    }
    Ok(Some(body))
}

/// Parses a whole journal file. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut out = Parsed {
        next_seq: 1,
        ..Parsed::default()
    };
    let mut checksummed_seen = false;
    let mut last_seq: Option<u64> = None;
    let mut offset = 0;
    let mut number = 0;
    while offset < bytes.len() {
        let Some(nl) = bytes[offset..].iter().position(|&b| b == b'\n') else {
            // A torn last line: the write that made it never finished, so the record it
            // announced was never in effect. Appending starts by cutting it off.
            break;
        };
        let raw = &bytes[offset..offset + nl];
        offset += nl + 1;
        out.complete_len = offset;
        number += 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let body = match unwrap_line(raw) {
            Ok(Some(body)) => {
                checksummed_seen = true;
                body
            }
            Ok(None) if checksummed_seen => {
                out.problems
                    .push((number, "no checksum in a checksummed journal".into()));
                continue;
            }
            Ok(None) => {
                out.legacy = true;
                raw.to_vec()
            }
            Err(reason) => {
                checksummed_seen = true;
                out.problems.push((number, reason));
                continue;
            }
        };
        let Ok(text) = std::str::from_utf8(&body) else {
            out.problems.push((number, "not UTF-8".into()));
            continue;
        };
        let rec: Record = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                out.problems.push((number, format!("not a record: {e}")));
                continue;
            }
        };
        if rec.seq != 0 {
            if let Some(prev) = last_seq {
                if rec.seq != prev + 1 {
                    out.problems.push((
                        number,
                        format!(
                            "record {} follows record {prev}: records are missing or repeated",
                            rec.seq
                        ),
                    ));
                }
            }
            last_seq = Some(rec.seq);
        }
        out.records.push(rec);
    }
    out.next_seq = last_seq.map_or(number as u64 + 1, |s| s.max(number as u64) + 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::journal::Event;
    use proptest::prelude::*;

    #[test]
    fn crc_is_zlibs() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    fn rec(seq: u64, event: Event) -> Record {
        Record { seq, at: 7, event }
    }

    #[test]
    fn round_trip_and_damage() {
        let a = encode(&rec(1, Event::Committed)).unwrap();
        let b = encode(&rec(2, Event::Confirmed)).unwrap();
        assert!(a.starts_with("{\"crc\":\""), "{a}");
        let p = parse(format!("{a}{b}").as_bytes());
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.next_seq, 3);
        assert!(!p.legacy);

        // One changed byte, a non-UTF-8 line, a legacy line after checksummed ones: each is
        // reported with its line, and the records after it are still read.
        let bad = a.replace("\"at\":7", "\"at\":8");
        let mut bytes = bad.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        bytes.extend_from_slice(b"{\"at\":1,\"event\":\"committed\"}\n");
        bytes.extend_from_slice(b.as_bytes());
        bytes.extend_from_slice(b"{\"crc\":\"0000"); // torn
        let p = parse(&bytes);
        let lines: Vec<usize> = p.problems.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, vec![1, 2, 3], "{:?}", p.problems);
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].event, Event::Confirmed);
        assert_eq!(p.complete_len, bytes.len() - 12);
    }

    #[test]
    fn legacy_lines_are_read() {
        let p = parse(b"{\"at\":1,\"event\":\"committed\"}\n{\"at\":2,\"event\":\"confirmed\"}\n");
        assert!(p.problems.is_empty());
        assert!(p.legacy);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.next_seq, 3);
    }

    #[test]
    fn a_gap_is_reported() {
        let a = encode(&rec(1, Event::Committed)).unwrap();
        let c = encode(&rec(3, Event::Confirmed)).unwrap();
        let p = parse(format!("{a}{c}").as_bytes());
        assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
        assert_eq!(p.records.len(), 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever the bytes — random, or real lines cut and spliced — parsing never panics
        /// and every problem names a line that exists.
        #[test]
        fn parse_never_panics(
            junk in proptest::collection::vec(any::<u8>(), 0..600),
            cut in 0usize..400,
            splice in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let good = format!(
                "{}{}",
                encode(&rec(1, Event::Committed)).unwrap(),
                encode(&rec(2, Event::UndoStarted { pid: 3 })).unwrap()
            );
            let mut spliced = good.as_bytes().to_vec();
            let at = cut.min(spliced.len());
            spliced.splice(at..at, splice.iter().copied());
            for bytes in [&junk[..], &spliced[..]] {
                let p = parse(bytes);
                let lines = bytes.iter().filter(|b| **b == b'\n').count();
                prop_assert!(p.problems.iter().all(|(n, _)| *n >= 1 && *n <= lines));
                prop_assert!(p.complete_len <= bytes.len());
            }
        }
    }
}
