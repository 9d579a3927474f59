//! The monitor's pid files, which systemd's `Type=forking` units (`generate systemd`) name in
//! `PIDFile=`: one at a fixed place under the runtime directory for every detached container,
//! and the one `--conmon-pidfile` asks for. Both are written before the monitor reports that
//! the container runs, so they exist once `rctr start` or `rctr run -d` returns, as systemd
//! requires; a relaunch keeps the pid, so they stay true across restarts.

use crate::container::state::ContainerRecord;
use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

/// `<runroot>/monitors/<id>.pid`.
pub fn monitor_pidfile(runroot: &Path, id: &str) -> PathBuf {
    runroot.join("monitors").join(format!("{id}.pid"))
}

/// Writes this process's pid to the container's pid files (atomically: a reader never sees
/// an empty file).
pub fn write(runroot: &Path, rec: &ContainerRecord) -> Result<()> {
    let pid = format!("{}\n", std::process::id());
    let fixed = monitor_pidfile(runroot, &rec.id);
    let dir = fixed.parent().expect("has a parent");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    for path in std::iter::once(&fixed).chain(rec.options.monitor_pidfile.as_ref()) {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &pid)
            .and_then(|_| std::fs::rename(&tmp, path))
            .with_context(|| format!("cannot write the pid file `{}`", path.display()))?;
    }
    Ok(())
}

/// Removes the fixed pid file once the monitor is done (the `--conmon-pidfile` one is the
/// user's, and is left, as podman leaves it).
pub fn remove(runroot: &Path, id: &str) {
    let _ = std::fs::remove_file(monitor_pidfile(runroot, id));
}
