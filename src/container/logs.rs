//! The container log in CRI's k8s-file format, as podman's conmon writes it: one record per line,
//! `TIMESTAMP STREAM TAG CONTENT`, where TIMESTAMP is RFC 3339 with nanoseconds, STREAM is
//! `stdout` or `stderr`, and TAG is `F` for a full line or `P` for a partial one (the content
//! continues in the next record). The monitor writes it; `rctr logs` reads it.

use chrono::{DateTime, FixedOffset, Utc};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The log file of a container directory.
pub fn log_path(cdir: &Path) -> PathBuf {
    cdir.join("ctr.log")
}

/// Which stream a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Appends records to a container's log, truncating it when it would pass `max_size` bytes
/// (`--log-opt max-size`), which is what conmon does.
pub struct LogWriter {
    file: File,
    size: u64,
    max_size: Option<u64>,
}

impl LogWriter {
    /// Opens (creating) the log for appending.
    pub fn open(path: &Path, max_size: Option<u64>) -> std::io::Result<LogWriter> {
        let file = File::options().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            file,
            size,
            max_size,
        })
    }

    /// Writes `data` as records: each complete line as `F`, a trailing incomplete one as `P`.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> std::io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let ts = rfc3339_utc(now.as_secs() as i64, now.subsec_nanos());
        let mut out = Vec::with_capacity(data.len() + 64);
        for piece in data.split_inclusive(|b| *b == b'\n') {
            let (content, tag) = match piece.strip_suffix(b"\n") {
                Some(c) => (c, "F"),
                None => (piece, "P"),
            };
            let len = (ts.len() + stream.as_str().len() + content.len() + 5) as u64;
            if self
                .max_size
                .is_some_and(|max| self.size + out.len() as u64 + len > max)
            {
                self.flush(&mut out)?;
                self.file.set_len(0)?;
                self.size = 0;
            }
            out.extend_from_slice(ts.as_bytes());
            out.push(b' ');
            out.extend_from_slice(stream.as_str().as_bytes());
            out.push(b' ');
            out.extend_from_slice(tag.as_bytes());
            out.push(b' ');
            out.extend_from_slice(content);
            out.push(b'\n');
        }
        self.flush(&mut out)
    }

    fn flush(&mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        self.file.write_all(out)?;
        self.size += out.len() as u64;
        out.clear();
        Ok(())
    }
}

/// A timestamp as the log writes it: `2026-11-22T07:20:00.123456789+00:00`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    rfc3339_utc(t.timestamp(), t.timestamp_subsec_nanos())
}

/// Formats `secs` since the epoch and `nanos` as [`timestamp`] does. Written out by hand
/// because the monitor calls it for every chunk of output: chrono's strftime-style formatter
/// pulls a lot of code into the pages an idle monitor keeps.
fn rfc3339_utc(secs: i64, nanos: u32) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        let t = DateTime::from_timestamp(secs, nanos).unwrap_or_default();
        return t.format("%Y-%m-%dT%H:%M:%S%.9f%:z").to_string();
    }
    let mut b = Vec::with_capacity(35);
    let mut num = |n: u64, width: u32, sep: &[u8]| {
        for i in (0..width).rev() {
            b.push(b'0' + (n / 10u64.pow(i) % 10) as u8);
        }
        b.extend_from_slice(sep);
    };
    num(year as u64, 4, b"-");
    num(month.into(), 2, b"-");
    num(day.into(), 2, b"T");
    num((rem / 3600) as u64, 2, b":");
    num((rem / 60 % 60) as u64, 2, b":");
    num((rem % 60) as u64, 2, b".");
    num(nanos.min(999_999_999).into(), 9, b"+00:00");
    String::from_utf8(b).unwrap_or_default()
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub time: DateTime<FixedOffset>,
    /// The timestamp exactly as written.
    pub time_text: String,
    pub stream: Stream,
    /// False for a partial (`P`) record, whose line continues in the next record.
    pub full: bool,
    pub content: Vec<u8>,
}

/// Parses one line of the log (without its newline); None for a malformed line.
pub fn parse_line(line: &[u8]) -> Option<Record> {
    let mut it = line.splitn(4, |b| *b == b' ');
    let ts = std::str::from_utf8(it.next()?).ok()?;
    let stream = match it.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let full = match it.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    let content = it.next().unwrap_or_default().to_vec();
    Some(Record {
        time: DateTime::parse_from_rfc3339(ts).ok()?,
        time_text: ts.to_string(),
        stream,
        full,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_full_and_partial_records_and_reads_them_back() {
        let d = tempfile::tempdir().unwrap();
        let p = log_path(d.path());
        let mut w = LogWriter::open(&p, None).unwrap();
        w.write(Stream::Stdout, b"one\ntw").unwrap();
        w.write(Stream::Stderr, b"err\n").unwrap();
        let text = std::fs::read(&p).unwrap();
        let recs: Vec<Record> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| parse_line(l).unwrap())
            .collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].content, b"one");
        assert!(recs[0].full);
        assert_eq!(recs[1].content, b"tw");
        assert!(!recs[1].full);
        assert_eq!(recs[2].stream, Stream::Stderr);
        assert_eq!(
            recs[0].time_text.len(),
            "2026-11-22T07:20:00.123456789+00:00".len()
        );
    }

    #[test]
    fn timestamps_match_chronos_rfc3339() {
        let mut secs: i64 = -86_400 * 800;
        while secs < 253_402_300_799 {
            for nanos in [0, 1, 123_456_789, 999_999_999] {
                let t = DateTime::from_timestamp(secs, nanos).unwrap();
                let want = t.format("%Y-%m-%dT%H:%M:%S%.9f%:z").to_string();
                assert_eq!(timestamp(t), want, "{secs}.{nanos}");
            }
            secs += 86_400 * 397 + 3_601 * 7 + 13;
        }
        let far = DateTime::from_timestamp(253_402_300_800, 5).unwrap();
        assert_eq!(timestamp(far), "+10000-01-01T00:00:00.000000005+00:00");
    }

    #[test]
    fn max_size_truncates() {
        let d = tempfile::tempdir().unwrap();
        let p = log_path(d.path());
        let mut w = LogWriter::open(&p, Some(100)).unwrap();
        for _ in 0..10 {
            w.write(Stream::Stdout, b"0123456789\n").unwrap();
        }
        assert!(std::fs::metadata(&p).unwrap().len() <= 100);
    }
}
