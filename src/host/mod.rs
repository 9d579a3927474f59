//! Facts about the host that rootless containers depend on (kernel, cgroups, id helpers, network
//! helpers, user namespaces), and the checks `rctr doctor` runs over them.

pub mod checks;
pub mod facts;
