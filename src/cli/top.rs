//! `rctr top CONTAINER [descriptors | ps options]`: the container's processes. Descriptors
//! (podman's AIX-format names such as `user pid ppid pcpu etime tty time args`, or `%U %p …`)
//! are computed from /proc by `container::procs`, as podman does with psgo; anything else is
//! handed to the host's ps(1), whose output is narrowed to the container's processes.

use crate::container::descriptors;
use crate::container::procs::{self, Snapshot};
use crate::container::state::{Containers, Status};
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use clap::Args;

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct TopArgs {
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
    /// Format descriptors (default: user pid ppid pcpu etime tty time args), or ps(1) options
    #[arg(value_name = "DESCRIPTORS", allow_hyphen_values = true)]
    pub descriptors: Vec<String>,
}

pub fn top(ctx: &Context, mut args: TopArgs) -> Result<i32> {
    if args.latest.latest {
        // With --latest every argument is a descriptor.
        if let Some(first) = args.container.take() {
            args.descriptors.insert(0, first);
        }
    }
    let containers = Containers::open(&ctx.root)?;
    let name = super::pick::one(&ctx.root, args.latest.latest, args.container.clone())?;
    let rec = containers.lookup(&name)?;
    let st = containers.state(&rec.id)?.effective();
    let pid1 = match (st.status, st.container_pid) {
        (Status::Running, Some(p)) => p,
        _ => bail!(
            "top can only be used on running containers: container {} is {}",
            rec.name,
            st.status.as_str()
        ),
    };
    let snap = procs::snapshot(pid1)
        .with_context(|| format!("cannot read the processes of container {}", rec.name))?;
    let wanted: Vec<String> = if args.descriptors.is_empty() {
        descriptors::DEFAULT_DESCRIPTORS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.descriptors.clone()
    };
    match descriptors::parse_descriptors(&wanted) {
        Some(names) => print!("{}", table(&snap, &names)),
        None => print!("{}", host_ps(&snap, &args.descriptors)?),
    }
    Ok(0)
}

/// The descriptor table, aligned as podman's tabwriter does (cells at least 12 wide, two
/// spaces of padding; the last column unpadded).
fn table(snap: &Snapshot, names: &[&str]) -> String {
    let mut rows = vec![names
        .iter()
        .map(|n| descriptors::header(n).to_string())
        .collect()];
    for p in &snap.procs {
        rows.push(
            names
                .iter()
                .map(|n| descriptors::value(snap, p, n))
                .collect::<Vec<_>>(),
        );
    }
    align(&rows)
}

fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count() + 2)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

/// Runs the host's ps(1) with `args` and keeps the header and the container's processes,
/// found by the PID column.
fn host_ps(snap: &Snapshot, args: &[String]) -> Result<String> {
    let pids: Vec<i32> = snap.procs.iter().map(|p| p.host_pid).collect();
    let text = run_ps(args)?;
    if has_pid_column(&text) {
        return filter_ps(&text, &pids);
    }
    // Without a PID column (`-o comm`), select the processes with -p instead, unless the
    // arguments already select every process, which -p would only add to.
    if args.iter().any(|a| a.starts_with("-e") || a == "-A") {
        bail!(
            "cannot pick the container's processes from ps(1) output without a PID column: \
             add `-o pid` or use format descriptors"
        );
    }
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut with_p = args.to_vec();
    with_p.extend(["-p".to_string(), list]);
    run_ps(&with_p)
}

fn run_ps(args: &[String]) -> Result<String> {
    let out = std::process::Command::new("ps")
        .args(args)
        .output()
        .context("cannot run ps(1)")?;
    if !out.status.success() {
        bail!(
            "ps(1) failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn has_pid_column(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|h| h.split_whitespace().any(|c| c == "PID"))
}

/// The header line and the rows whose PID column is one of `pids`.
fn filter_ps(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!(
            "cannot pick the container's processes from ps(1) output without a PID column: \
             add `-o pid` or use format descriptors"
        );
    };
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|s| s.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_as_podmans_tabwriter() {
        let rows = vec![
            vec!["USER".to_string(), "PID".into(), "COMMAND".into()],
            vec!["root".to_string(), "1".into(), "sleep 60".into()],
        ];
        assert_eq!(
            align(&rows),
            "USER        PID         COMMAND\nroot        1           sleep 60\n"
        );
    }

    #[test]
    fn ps_output_is_narrowed_to_the_containers_pids() {
        let text = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                    me            10       1  0 10:00 ?        00:00:00 sleep 60\n\
                    me            11       1  0 10:00 ?        00:00:00 other\n";
        let out = filter_ps(text, &[10]).unwrap();
        assert!(out.contains("sleep 60") && !out.contains("other"), "{out}");
        assert!(filter_ps("USER COMMAND\nme sh\n", &[1]).is_err());
    }
}
