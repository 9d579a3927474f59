//! Human-readable sizes and durations, matching the strings podman prints (Go's `units` package).

/// Formats a byte count as podman does: decimal units, three significant digits (`5.21MB` style
/// is docker's; podman prints `5.21 MB`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{} {}", sig3(v), UNITS[i])
}

fn sig3(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Formats an elapsed time as Go's `units.HumanDuration` does ("About a minute", "3 hours").
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    let m = s / 60;
    let h = m / 60;
    let d = h / 24;
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if h < 24 * 7 * 2 => format!("{d} days"),
        _ if h < 24 * 30 * 2 => format!("{} weeks", d / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", d / 30),
        _ => format!("{} years", d / 365),
    }
}

/// "3 hours ago", as in the CREATED column.
pub fn ago(when: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{} ago",
        duration((chrono::Utc::now() - when).num_seconds())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_podman() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_240), "1.24 kB");
        assert_eq!(size(5_210_000), "5.21 MB");
        assert_eq!(size(63_000_000), "63 MB");
        assert_eq!(size(170_400_000), "170 MB");
    }

    #[test]
    fn durations_like_go_units() {
        assert_eq!(duration(0), "Less than a second");
        assert_eq!(duration(45), "45 seconds");
        assert_eq!(duration(90), "About a minute");
        assert_eq!(duration(3 * 3600), "3 hours");
        assert_eq!(duration(3 * 86400), "3 days");
    }
}
