//! The files rctr generates for each container and bind-mounts over the image's own:
//! /etc/hosts, /etc/hostname and /etc/resolv.conf, kept in the container's directory.

use super::ContainerError;
use std::path::Path;

/// What goes into the generated files.
pub struct EtcInput<'a> {
    pub hostname: &'a str,
    pub name: &'a str,
    pub add_hosts: &'a [(String, String)],
    pub dns: &'a [String],
    pub dns_search: &'a [String],
    pub dns_option: &'a [String],
    /// With the host's network, the host's own /etc/hosts entries are kept.
    pub host_network: bool,
    /// With user-mode networking (slirp4netns): the host as the container sees it, the DNS
    /// forwarder, and the container's own address.
    pub user_net: Option<UserNet>,
}

/// The addresses a user-mode network gives the container.
pub struct UserNet {
    pub gateway: std::net::Ipv4Addr,
    pub dns: std::net::Ipv4Addr,
    pub address: std::net::Ipv4Addr,
}

/// The address `host-gateway` stands for without a user-mode network. Without a network the
/// container has only loopback, so the host is not reachable and the host's loopback address is
/// the honest answer for `--network host`; slirp4netns uses its gateway (`UserNet::gateway`).
pub fn host_gateway() -> &'static str {
    "127.0.0.1"
}

/// The text of /etc/hosts.
pub fn hosts(input: &EtcInput, host_hosts: &str) -> String {
    let mut out = String::new();
    if input.host_network {
        out.push_str(host_hosts);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    } else {
        out.push_str(
            "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n",
        );
        out.push_str("::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n");
    }
    let gateway = match &input.user_net {
        Some(u) => u.gateway.to_string(),
        None => host_gateway().to_string(),
    };
    for (name, ip) in input.add_hosts {
        let ip = if ip == "host-gateway" { &gateway } else { ip };
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    let mut names = vec![input.hostname];
    if input.name != input.hostname {
        names.push(input.name);
    }
    match &input.user_net {
        Some(u) => {
            out.push_str(&format!("{}\t{}\n", u.address, names.join(" ")));
            out.push_str(&format!(
                "{}\thost.containers.internal host.docker.internal\n",
                u.gateway
            ));
        }
        None => out.push_str(&format!("127.0.1.1\t{}\n", names.join(" "))),
    }
    out
}

/// The text of /etc/resolv.conf: the host's resolvers unless --dns is given (a loopback
/// resolver is dropped without the host's network, since it cannot be reached from the
/// container), plus --dns-search and --dns-option.
pub fn resolv_conf(input: &EtcInput, host_resolv: &str) -> String {
    let mut servers: Vec<String> = input.dns.to_vec();
    // slirp4netns forwards DNS itself, which also serves hosts whose resolver is on loopback.
    let host_servers = input.dns.is_empty() && input.user_net.is_none();
    if let (true, Some(u)) = (input.dns.is_empty(), &input.user_net) {
        servers.push(u.dns.to_string());
    }
    let mut search: Vec<String> = input.dns_search.to_vec();
    let mut options: Vec<String> = input.dns_option.to_vec();
    for line in host_resolv.lines() {
        let mut w = line.split_whitespace();
        match (w.next(), host_servers) {
            (Some("nameserver"), true) => {
                if let Some(s) = w.next() {
                    let loopback = s.starts_with("127.") || s == "::1";
                    if input.host_network || !loopback {
                        servers.push(s.into());
                    }
                }
            }
            (Some("search"), _) if input.dns_search.is_empty() => {
                search.extend(w.map(str::to_string))
            }
            (Some("options"), _) if input.dns_option.is_empty() => {
                options.extend(w.map(str::to_string))
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if !search.is_empty() && search != ["."] {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// Writes hosts, hostname and resolv.conf into `dir`.
pub fn write(dir: &Path, input: &EtcInput) -> Result<(), ContainerError> {
    let host_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    for (name, text) in [
        ("hosts", hosts(input, &host_hosts)),
        ("hostname", format!("{}\n", input.hostname)),
        ("resolv.conf", resolv_conf(input, &host_resolv)),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| ContainerError::io("write", &p, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(add: &'a [(String, String)], dns: &'a [String]) -> EtcInput<'a> {
        EtcInput {
            hostname: "abc123",
            name: "web",
            add_hosts: add,
            dns,
            dns_search: &[],
            dns_option: &[],
            host_network: false,
            user_net: None,
        }
    }

    #[test]
    fn hosts_has_localhost_name_and_extras() {
        let add = vec![("gw".to_string(), "host-gateway".to_string())];
        let h = hosts(&input(&add, &[]), "");
        assert!(h.contains("127.0.0.1\tlocalhost"));
        assert!(h.contains("127.0.0.1\tgw\n"));
        assert!(h.contains("127.0.1.1\tabc123 web\n"));
    }

    #[test]
    fn slirp_gets_gateway_dns_and_address() {
        let add = vec![("gw".to_string(), "host-gateway".to_string())];
        let mut i = input(&add, &[]);
        i.user_net = Some(UserNet {
            gateway: [10, 0, 2, 2].into(),
            dns: [10, 0, 2, 3].into(),
            address: [10, 0, 2, 100].into(),
        });
        let h = hosts(&i, "");
        assert!(h.contains("10.0.2.2\tgw\n"));
        assert!(h.contains("10.0.2.100\tabc123 web\n"));
        assert!(h.contains("10.0.2.2\thost.containers.internal"));
        let r = resolv_conf(&i, "nameserver 9.9.9.9\nsearch lan\n");
        assert_eq!(r, "search lan\nnameserver 10.0.2.3\n");
    }

    #[test]
    fn resolv_drops_loopback_and_honours_dns() {
        let host = "nameserver 127.0.0.53\nnameserver 9.9.9.9\nsearch lan\noptions edns0\n";
        let r = resolv_conf(&input(&[], &[]), host);
        assert_eq!(r, "search lan\nnameserver 9.9.9.9\noptions edns0\n");
        let dns = vec!["1.1.1.1".to_string()];
        let r = resolv_conf(&input(&[], &dns), host);
        assert!(r.contains("nameserver 1.1.1.1\n") && !r.contains("9.9.9.9"));
    }
}
