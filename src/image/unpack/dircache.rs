//! The directory fds the unpacker keeps open, by path relative to the layer root, so that an
//! entry's parent is one hash lookup away instead of one `openat` per path component.
//!
//! The cache is bounded (a layer may hold more directories than RLIMIT_NOFILE allows fds) and
//! evicts the least recently used half when full. Tar streams are written depth first, so the
//! directories still in use are the recent ones: a Debian layer of ~1,100 directories misses
//! about once per directory instead of walking from the nearest cached ancestor for every file
//! once the first directories have filled the cache.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// Open directory fds by relative path, with a use stamp each for eviction.
pub(super) struct DirCache {
    dirs: HashMap<PathBuf, (OwnedFd, u64)>,
    tick: u64,
    max: usize,
}

impl DirCache {
    pub(super) fn new(max: usize) -> DirCache {
        DirCache {
            dirs: HashMap::new(),
            tick: 0,
            max: max.max(2),
        }
    }

    /// The fd of `rel` if cached, marking it recently used.
    pub(super) fn get(&mut self, rel: &Path) -> Option<RawFd> {
        self.tick += 1;
        let tick = self.tick;
        self.dirs.get_mut(rel).map(|(fd, used)| {
            *used = tick;
            fd.as_raw_fd()
        })
    }

    /// Caches `fd` as `rel`. When the cache is full, the least recently used half is moved to
    /// `evicted` rather than closed: the caller may still be using one of those fds for the
    /// current entry, and clears `evicted` only once the entry is done.
    pub(super) fn insert(&mut self, rel: PathBuf, fd: OwnedFd, evicted: &mut Vec<OwnedFd>) {
        if self.dirs.len() >= self.max {
            let mut stamps: Vec<u64> = self.dirs.values().map(|(_, used)| *used).collect();
            let (_, median, _) = stamps.select_nth_unstable(self.max / 2);
            let cut = *median;
            let old: Vec<PathBuf> = self
                .dirs
                .iter()
                .filter(|(_, (_, used))| *used < cut)
                .map(|(p, _)| p.clone())
                .collect();
            for p in old {
                if let Some((fd, _)) = self.dirs.remove(&p) {
                    evicted.push(fd);
                }
            }
        }
        self.tick += 1;
        if let Some((old, _)) = self.dirs.insert(rel, (fd, self.tick)) {
            evicted.push(old);
        }
    }

    /// Removes `rel` and everything below it (a directory being deleted or replaced), returning
    /// their fds for the caller to keep until the current entry is done.
    pub(super) fn remove_under(&mut self, rel: &Path) -> Vec<OwnedFd> {
        let stale: Vec<PathBuf> = self
            .dirs
            .keys()
            .filter(|k| k.starts_with(rel))
            .cloned()
            .collect();
        stale
            .into_iter()
            .filter_map(|k| self.dirs.remove(&k).map(|(fd, _)| fd))
            .collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.dirs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd() -> OwnedFd {
        std::fs::File::open("/").unwrap().into()
    }

    #[test]
    fn evicts_the_least_recently_used_half_into_evicted() {
        let mut c = DirCache::new(4);
        let mut ev = Vec::new();
        for p in ["a", "b", "c", "d"] {
            c.insert(PathBuf::from(p), fd(), &mut ev);
        }
        assert!(ev.is_empty());
        // Touch a and b: c and d become the oldest.
        assert!(c.get(Path::new("a")).is_some());
        assert!(c.get(Path::new("b")).is_some());
        c.insert(PathBuf::from("e"), fd(), &mut ev);
        assert_eq!(ev.len(), 2, "the two oldest were evicted, not closed");
        assert_eq!(c.len(), 3);
        assert!(c.get(Path::new("c")).is_none());
        assert!(c.get(Path::new("d")).is_none());
        assert!(c.get(Path::new("a")).is_some());
        assert!(c.get(Path::new("e")).is_some());
    }

    #[test]
    fn remove_under_takes_the_subtree() {
        let mut c = DirCache::new(16);
        let mut ev = Vec::new();
        for p in ["a", "a/b", "a/b/c", "ab"] {
            c.insert(PathBuf::from(p), fd(), &mut ev);
        }
        assert_eq!(c.remove_under(Path::new("a")).len(), 3);
        assert!(
            c.get(Path::new("ab")).is_some(),
            "a sibling with a common prefix stays"
        );
    }
}
