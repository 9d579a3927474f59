//! Removing a container's own cgroup once its processes are gone, from every path that handles
//! its exit (the foreground run, the monitor, `rm`). A cgroup still holding processes (after a
//! kill -9 of the container's owner, its processes may outlive it) is left for a later `rm`:
//! nothing the user could act on, so it is logged at debug level only.

use crate::container::cgroup::{self, Removed};
use crate::container::state::Containers;
use std::path::Path;

/// Removes cgroup `path` of container `name`.
pub(super) fn remove(path: &Path, name: &str) {
    match cgroup::remove(path) {
        Ok(Removed::Gone) => {}
        Ok(Removed::Busy) => ::log::debug!(
            "cgroup `{}` of container {name} still holds processes: it stays until they exit",
            path.display()
        ),
        Err(err) => ::log::warn!("{err}"),
    }
}

/// Removes the cgroup recorded in the state of container `id`, if any.
pub(super) fn remove_recorded(containers: &Containers, id: &str, name: &str) {
    if let Some(p) = containers.state(id).ok().and_then(|st| st.cgroup) {
        remove(&p, name);
    }
}
