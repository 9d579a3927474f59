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

/// Removes a container's new cgroup unless disarmed: for the steps between its creation and a
/// launch that records it, any of which may fail.
pub(super) struct Guard<'a> {
    path: Option<&'a Path>,
    name: &'a str,
}

impl<'a> Guard<'a> {
    pub(super) fn new(path: Option<&'a Path>, name: &'a str) -> Guard<'a> {
        Guard { path, name }
    }

    /// The container runs: its owner removes the cgroup when it exits.
    pub(super) fn disarm(mut self) {
        self.path = None;
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.path {
            remove(p, self.name);
        }
    }
}
