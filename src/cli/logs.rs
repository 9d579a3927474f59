//! `rctr logs`: prints a container's log (written by its monitor in k8s-file format), with
//! `--tail`, `--since`, `--until`, timestamps, and `-f` to follow it while the container runs.

use crate::container::logs::{log_path, parse_line, Record, Stream};
use crate::container::state::{Containers, Status};
use crate::context::Context;
use anyhow::{anyhow, Context as _, Result};
use chrono::{DateTime, FixedOffset, Utc};
use clap::Args;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow the log output while the container runs
    #[arg(short, long)]
    pub follow: bool,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Output only the last N lines (-1 for all)
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Show lines since TIMESTAMP (RFC 3339, Unix seconds, or a duration such as 10m)
    #[arg(long, value_name = "TIMESTAMP")]
    pub since: Option<String>,
    /// Show lines before TIMESTAMP (RFC 3339, Unix seconds, or a duration such as 10m)
    #[arg(long, value_name = "TIMESTAMP")]
    pub until: Option<String>,
    /// The container (name or ID)
    #[command(flatten)]
    pub latest: super::pick::Latest,
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
}

/// Filters and prints records, joining partial records into lines.
struct Printer {
    timestamps: bool,
    since: Option<DateTime<FixedOffset>>,
    until: Option<DateTime<FixedOffset>>,
    /// The unfinished line of each stream (stdout, stderr).
    partial: [Vec<u8>; 2],
}

impl Printer {
    fn keep(&self, r: &Record) -> bool {
        self.since.is_none_or(|s| r.time >= s) && self.until.is_none_or(|u| r.time <= u)
    }

    /// The complete lines of `recs` that pass the filters, as (stream, bytes to print).
    fn lines(&mut self, recs: Vec<Record>) -> Vec<(Stream, Vec<u8>)> {
        let mut out = Vec::new();
        for r in recs {
            if !self.keep(&r) {
                continue;
            }
            let partial = &mut self.partial[(r.stream == Stream::Stderr) as usize];
            if partial.is_empty() && self.timestamps {
                partial.extend_from_slice(r.time_text.as_bytes());
                partial.push(b' ');
            }
            partial.extend_from_slice(&r.content);
            if r.full {
                partial.push(b'\n');
                out.push((r.stream, std::mem::take(partial)));
            }
        }
        out
    }
}

fn emit(lines: &[(Stream, Vec<u8>)]) -> Result<()> {
    let (mut o, mut e) = (std::io::stdout().lock(), std::io::stderr().lock());
    for (s, l) in lines {
        match s {
            Stream::Stdout => o.write_all(l)?,
            Stream::Stderr => e.write_all(l)?,
        }
    }
    o.flush()?;
    Ok(())
}

/// Parses the complete lines in `buf`; returns them and how many bytes they took.
fn parse(buf: &[u8]) -> (Vec<Record>, usize) {
    let end = buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let recs = buf[..end]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(parse_line)
        .collect();
    (recs, end)
}

pub fn logs(ctx: &Context, args: LogsArgs) -> Result<i32> {
    let containers = Containers::open(&ctx.root)?;
    let name = super::pick::one(&ctx.root, args.latest.latest, args.container.clone())?;
    let rec = containers.lookup(&name)?;
    if rec.options.log_none {
        anyhow::bail!(
            "container {} uses the `none` log driver; it has no logs",
            rec.name
        );
    }
    let path = log_path(&containers.dir(&rec.id));
    let now = Utc::now();
    let mut p = Printer {
        timestamps: args.timestamps,
        since: args
            .since
            .as_deref()
            .map(|s| parse_time(s, now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| parse_time(s, now))
            .transpose()?,
        partial: [Vec::new(), Vec::new()],
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot open `{}`", path.display())),
    };
    let mut offset = 0u64;
    if let Some(f) = &mut file {
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let (recs, used) = parse(&buf);
        offset = used as u64;
        let mut lines = p.lines(recs);
        if args.tail >= 0 {
            let skip = lines.len().saturating_sub(args.tail as usize);
            lines.drain(..skip);
        }
        emit(&lines)?;
    }
    if !args.follow {
        return Ok(0);
    }
    loop {
        let running = containers
            .state(&rec.id)
            .is_ok_and(|s| s.status == Status::Running);
        if file.is_none() {
            file = std::fs::File::open(&path).ok();
        }
        if let Some(f) = &mut file {
            if f.metadata().map(|m| m.len()).unwrap_or(0) < offset {
                // Truncated by --log-opt max-size: start again from the top.
                offset = 0;
            }
            f.seek(SeekFrom::Start(offset))?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            let (recs, used) = parse(&buf);
            offset += used as u64;
            let lines = p.lines(recs);
            emit(&lines)?;
        }
        if !running {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--since`/`--until`: RFC 3339, Unix seconds (with optional fraction), or a duration before
/// `now` (`30s`, `10m`, `2h`).
fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<f64>() {
        let t = DateTime::from_timestamp(secs.trunc() as i64, (secs.fract() * 1e9) as u32)
            .ok_or_else(|| anyhow!("invalid timestamp `{s}`"))?;
        return Ok(t.fixed_offset());
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow!("invalid timestamp or duration `{s}`"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(anyhow!("invalid timestamp or duration `{s}`")),
    };
    Ok((now - chrono::Duration::seconds(secs)).fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_three_forms() {
        let now = Utc::now();
        assert_eq!(
            parse_time("10m", now).unwrap(),
            (now - chrono::Duration::minutes(10)).fixed_offset()
        );
        assert_eq!(parse_time("0", now).unwrap().timestamp(), 0);
        assert!(parse_time("2026-11-22T07:20:00.1+00:00", now).is_ok());
        assert!(parse_time("soon", now).is_err());
    }
}
