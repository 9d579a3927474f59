//! Peer entries in containers' /etc/hosts. The file is bind-mounted into the container from its
//! directory, so it is rewritten in place (truncate and write the same inode): a rename would
//! leave the container looking at the old file.

use super::ipam::Lease;
use std::io::Write;
use std::path::Path;

/// Starts rctr's managed section; everything after it is rewritten.
const MARKER: &str = "# rctr network peers\n";

/// The managed lines for the container with leases `own`: every lease on one of its networks.
pub fn peer_lines(own: &[&Lease], all: &[Lease]) -> String {
    let mut out = String::new();
    for l in all {
        if !own.iter().any(|o| o.network == l.network) {
            continue;
        }
        let mut names = vec![l.name.clone()];
        names.extend(l.aliases.iter().cloned());
        names.push(l.container.chars().take(12).collect());
        let line = format!("{}\t{}\n", l.ip, names.join(" "));
        if !out.contains(&line) {
            out.push_str(&line);
        }
    }
    out
}

/// Rewrites the managed section of every leased container's hosts file from `all`, and clears
/// it in `gone` (hosts files of containers that just left every network).
pub fn refresh(all: &[Lease], gone: &[&Path]) {
    let mut seen = std::collections::HashSet::new();
    for l in all {
        if !seen.insert(l.container.clone()) {
            continue;
        }
        let own: Vec<&Lease> = all.iter().filter(|o| o.container == l.container).collect();
        if let Err(e) = rewrite(&l.hosts, &peer_lines(&own, all)) {
            ::log::debug!("cannot update `{}`: {e}", l.hosts.display());
        }
    }
    for p in gone {
        if let Err(e) = rewrite(p, "") {
            ::log::debug!("cannot update `{}`: {e}", p.display());
        }
    }
}

/// Replaces the managed section of `path` with `lines`, keeping the inode.
fn rewrite(path: &Path, lines: &str) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let base = text.split(MARKER).next().unwrap_or("");
    let mut new = base.to_string();
    if !lines.is_empty() {
        new.push_str(MARKER);
        new.push_str(lines);
    }
    if new == text {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(new.as_bytes())
}

/// Makes `ns` the only nameserver of the resolv.conf at `path`, keeping its search and options
/// lines and its inode (it is bind-mounted into the container).
pub fn set_nameserver(path: &Path, ns: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut out = String::new();
    for l in text.lines().filter(|l| !l.starts_with("nameserver")) {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&format!("nameserver {ns}\n"));
    if out != text {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)?;
        f.write_all(out.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::ipam::Owner;
    use super::*;

    fn lease(net: &str, c: &str, ip: [u8; 4], hosts: &Path) -> Lease {
        Lease {
            network: net.into(),
            container: format!("{c}0123456789abcdef"),
            name: c.into(),
            aliases: vec![format!("{c}-alias")],
            ip: ip.into(),
            interface: "eth0".into(),
            owner: Owner { pid: 1, start: 0 },
            hosts: hosts.into(),
        }
    }

    #[test]
    fn refresh_keeps_inode_and_only_shares_networks() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let (ha, hc) = (d.path().join("a"), d.path().join("c"));
        std::fs::write(&ha, "127.0.0.1\tlocalhost\n").unwrap();
        std::fs::write(&hc, "127.0.0.1\tlocalhost\n").unwrap();
        let ino = std::fs::metadata(&ha).unwrap().ino();
        let all = vec![
            lease("n1", "a", [10, 89, 0, 2], &ha),
            lease("n1", "b", [10, 89, 0, 3], &ha),
            lease("n2", "c", [10, 89, 1, 2], &hc),
        ];
        refresh(&all, &[]);
        let a = std::fs::read_to_string(&ha).unwrap();
        assert!(a.starts_with("127.0.0.1\tlocalhost\n# rctr network peers\n"));
        assert!(a.contains("10.89.0.3\tb b-alias b0123456789a\n"));
        assert!(!a.contains("10.89.1.2"));
        assert_eq!(std::fs::metadata(&ha).unwrap().ino(), ino);
        std::fs::write(&hc, "search lan\nnameserver 127.0.0.53\noptions edns0\n").unwrap();
        set_nameserver(&hc, "10.0.2.3").unwrap();
        assert_eq!(
            std::fs::read_to_string(&hc).unwrap(),
            "search lan\noptions edns0\nnameserver 10.0.2.3\n"
        );
        refresh(&all[2..], &[&ha]);
        assert_eq!(
            std::fs::read_to_string(&ha).unwrap(),
            "127.0.0.1\tlocalhost\n"
        );
    }
}
