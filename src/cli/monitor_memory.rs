//! Giving back the pages of rctr's own executable that a monitor touched while it set the
//! container up (configuration, image store, JSON, the command line) and never needs while it
//! supervises.
//!
//! A monitor sits idle for the life of its container, so its resident pages are its cost, and
//! most of them are pages of the executable. Setting up touches a lot of code and read-only
//! data, and the kernel maps more than is touched: on a read fault in a file mapping it also
//! maps up to 64 KiB of neighbouring pages that are in the page cache (`fault_around_bytes`).
//! MADV_RANDOM does not stop that: on Linux 6.18 `should_fault_around` in mm/memory.c looks
//! only at the mapping's `map_pages` operation and userfaultfd, not at VM_RAND_READ, which
//! only turns off read-ahead (measured here too: one touched page still maps 64 KiB).
//!
//! So once set-up is over, the monitor drops its mappings of the executable's read-only pages
//! with MADV_DONTNEED. For a private file mapping that only unmaps page-cache pages: the next
//! access maps them again from the file, so only what supervising touches comes back. A
//! mapping that holds private copies (the `.data.rel.ro` and `.got` pages that ld.so
//! relocated in a position-independent executable) would lose them and read the file's
//! unrelocated bytes instead, so any mapping with anonymous pages is left alone.

/// Drops the resident read-only pages of this process's executable (see the module docs).
/// Best effort: on any error it leaves the mappings as they are.
pub(super) fn shed_executable_pages() {
    let ranges = {
        let (Ok(exe), Ok(smaps)) = (
            std::fs::read_link("/proc/self/exe"),
            std::fs::read_to_string("/proc/self/smaps"),
        ) else {
            return;
        };
        let Some(exe) = exe.to_str() else { return };
        sheddable(&smaps, exe)
    };
    for (start, end) in ranges {
        // SAFETY: the range is a read-only private mapping of a file without private copies
        // (see `sheddable`): dropping its pages loses nothing, they are faulted in again.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
    // The heap that set-up freed (the smaps text above, the record) stays resident below the
    // top of the heap unless glibc is asked to give it back.
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The address ranges in `smaps` that are read-only private mappings of `exe` without
/// anonymous (copied-on-write) pages.
fn sheddable(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(anon) = line.strip_prefix("Anonymous:") {
            if anon.trim() != "0 kB" {
                current = None;
            }
            continue;
        }
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // A mapping's header: `START-END PERMS OFFSET DEV INODE PATH`; its fields follow.
        out.extend(current.take());
        // Fields hold no `/`, a file's path starts with one (and may hold spaces).
        let path = line.find('/').map_or("", |i| &line[i..]);
        if (perms == "r--p" || perms == "r-xp") && path == exe {
            current = Some((start, end));
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_mappings_of_the_executable_without_copies() {
        let smaps = "\
1000-2000 r--p 00000000 fd:01 42                         /usr/bin/rctr
Rss:                   8 kB
Anonymous:             0 kB
2000-5000 r-xp 00001000 fd:01 42                         /usr/bin/rctr
Anonymous:             0 kB
5000-6000 r--p 00004000 fd:01 42                         /usr/bin/rctr
Anonymous:             4 kB
6000-7000 rw-p 00005000 fd:01 42                         /usr/bin/rctr
Anonymous:             0 kB
7000-8000 r-xp 00000000 fd:01 7                          /usr/lib/libc.so.6
Anonymous:             0 kB
9000-a000 rw-p 00000000 00:00 0                          [heap]
Anonymous:             4 kB
";
        assert_eq!(
            sheddable(smaps, "/usr/bin/rctr"),
            [(0x1000, 0x2000), (0x2000, 0x5000)]
        );
    }

    #[test]
    fn the_process_keeps_running_after_shedding() {
        shed_executable_pages();
        // Code and read-only data of this executable come back from the file as needed.
        let v: Vec<String> = (0..3).map(|i| format!("still here {i}")).collect();
        assert_eq!(v[2], "still here 2");
    }
}
