//! The shared namespace's bridges and filtering (once per network and holder), configured with
//! iproute2 (`ip -batch -`) and `nft -f -` run inside a given network namespace: the child `setns`es into it between fork and exec, so rctr
//! itself never leaves its own namespace (its port forwarder keeps binding on the host).

use super::config::NetworkConfig;
use super::UserNetError;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The interface slirp4netns creates in the shared namespace; all egress leaves through it.
pub const EGRESS_IF: &str = "tap0";
/// slirp4netns's DNS forwarder (its default `--cidr` 10.0.2.0/24, host 3).
pub const EGRESS_DNS: &str = "10.0.2.3";

/// The nftables table of the shared namespace (see the module docs of `user`).
const BASE_RULES: &str = "table ip rctr {
  set egress { type ifname; }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname @egress oifname \"tap0\" accept
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname \"tap0\" masquerade
  }
}
";

/// Runs `prog args...` with `script` on stdin, inside the network namespace `netns` (None: the
/// current one).
fn run(prog: &str, args: &[&str], script: &str, netns: Option<RawFd>) -> Result<(), UserNetError> {
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(fd) = netns {
        // SAFETY: setns is async-signal-safe; fd stays open in the parent across the spawn.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let what = || format!("run `{prog} {}`", args.join(" "));
    let mut child = cmd.spawn().map_err(|e| UserNetError::Command {
        what: what(),
        detail: e.to_string(),
    })?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(script.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| UserNetError::Command {
            what: what(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(UserNetError::Command {
            what: what(),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}

/// Prepares the freshly created shared namespace (run by the holder, inside it): loopback up,
/// forwarding on, and the base nftables table.
pub fn init_shared() -> Result<(), UserNetError> {
    run("ip", &["-batch", "-"], "link set lo up\n", None)?;
    let p = std::path::Path::new("/proc/sys/net/ipv4/ip_forward");
    std::fs::write(p, "1").map_err(|e| UserNetError::io("write", p, e))?;
    run("nft", &["-f", "-"], BASE_RULES, None)
}

/// Creates the bridge of network `cfg` in the shared namespace `shared`, with the gateway
/// address, and lets it reach the outside unless the network is internal.
pub fn create_bridge(shared: &impl AsRawFd, cfg: &NetworkConfig) -> Result<(), UserNetError> {
    let br = &cfg.network_interface;
    let cidr = cfg.cidr()?;
    // A bridge of a removed network may still carry the name (and its egress); start clean.
    let _ = run("ip", &["link", "del", br], "", Some(shared.as_raw_fd()));
    let forget = format!("delete element ip rctr egress {{ \"{br}\" }}\n");
    let _ = run("nft", &["-f", "-"], &forget, Some(shared.as_raw_fd()));
    let script = format!(
        "link add {br} type bridge\naddr add {}/{} dev {br}\nlink set {br} up\n",
        cfg.gateway(),
        cidr.prefix
    );
    run("ip", &["-batch", "-"], &script, Some(shared.as_raw_fd()))?;
    let mut rules = format!("add rule ip rctr forward iifname \"{br}\" oifname \"{br}\" accept\n");
    if !cfg.internal {
        rules.push_str(&format!("add element ip rctr egress {{ \"{br}\" }}\n"));
    }
    run("nft", &["-f", "-"], &rules, Some(shared.as_raw_fd()))
}

/// Deletes `ctr_if` (and so its veth peer) in the container's namespace.
pub fn remove_interface(ctr_netns: &impl AsRawFd, ctr_if: &str) -> Result<(), UserNetError> {
    run(
        "ip",
        &["link", "del", ctr_if],
        "",
        Some(ctr_netns.as_raw_fd()),
    )
}
