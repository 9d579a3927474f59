//! Restart policies (`--restart`): whether the monitor of a detached container launches it
//! again after it exits, and how long it waits first.
//!
//! The rules are podman's: `always` and `unless-stopped` restart after any exit, `on-failure`
//! after a non-zero one, at most N times with `on-failure:N`; nothing restarts a container that
//! the user stopped or killed (`stop`, `kill`, `rm -f`), and a user's `start` resets the count.
//! The two only differ in podman's boot service (`podman-restart.service`); rctr has no such
//! service, so nothing restarts after a reboot or after the monitor itself is killed; a
//! systemd unit (`rctr generate systemd`) is the way to survive those.

use super::ContainerError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A container's restart policy, as given to `--restart`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// No `--restart` flag: inspect shows an empty name, as podman does.
    #[default]
    Unset,
    No,
    /// Restart after a non-zero exit; the number is the retry limit (0: unlimited).
    OnFailure(u32),
    Always,
    UnlessStopped,
}

/// The first wait before a restart; it doubles with each restart in a row.
pub const BACKOFF_START: Duration = Duration::from_millis(100);
/// The longest wait before a restart.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A container that ran at least this long starts the backoff over.
pub const BACKOFF_RESET: Duration = Duration::from_secs(10);

impl RestartPolicy {
    /// Parses `no`, `on-failure[:N]`, `always` or `unless-stopped`.
    pub fn parse(s: &str) -> Result<RestartPolicy, ContainerError> {
        let (name, retries) = match s.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "on-failure" => {
                let n = match retries {
                    None => 0,
                    Some(r) => r.parse::<u32>().map_err(|_| {
                        ContainerError::Invalid(format!(
                            "invalid --restart `{s}`: the retry count must be a non-negative integer"
                        ))
                    })?,
                };
                return Ok(RestartPolicy::OnFailure(n));
            }
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            _ => {
                return Err(ContainerError::Invalid(format!(
                    "invalid --restart `{s}`: use no, on-failure[:N], always or unless-stopped"
                )))
            }
        };
        if retries.is_some() {
            return Err(ContainerError::Invalid(format!(
                "invalid --restart `{s}`: restart policy retries can only be specified with the on-failure policy"
            )));
        }
        Ok(policy)
    }

    /// The name podman shows in `HostConfig.RestartPolicy.Name`.
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::Unset => "",
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure(_) => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// `HostConfig.RestartPolicy.MaximumRetryCount`.
    pub fn max_retries(self) -> u32 {
        match self {
            RestartPolicy::OnFailure(n) => n,
            _ => 0,
        }
    }

    /// Whether the policy ever restarts anything (such a policy conflicts with `--rm`).
    pub fn restarts(self) -> bool {
        !matches!(self, RestartPolicy::Unset | RestartPolicy::No)
    }

    /// Whether a container that exited with `exit_code`, after `restarts` restarts so far,
    /// is launched again. `stopped_by_user` is set by `stop`, `kill` and `rm -f`.
    pub fn should_restart(self, exit_code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        let wanted = match self {
            RestartPolicy::Unset | RestartPolicy::No => false,
            RestartPolicy::OnFailure(_) => exit_code != 0,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        };
        let max = self.max_retries();
        wanted && (max == 0 || restarts < max)
    }
}

/// The wait before restart number `streak` of a run of quick failures (0 for the first):
/// 100 ms, doubling each time, at most [`BACKOFF_MAX`].
pub fn backoff(streak: u32) -> Duration {
    BACKOFF_START
        .checked_mul(1u32.checked_shl(streak).unwrap_or(u32::MAX))
        .map_or(BACKOFF_MAX, |d| d.min(BACKOFF_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_podman_policies() {
        assert_eq!(RestartPolicy::parse("no").unwrap(), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::parse("on-failure").unwrap(),
            RestartPolicy::OnFailure(0)
        );
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        assert!(RestartPolicy::parse("always:2").is_err());
        assert!(RestartPolicy::parse("on-failure:x").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
    }

    #[test]
    fn decides_like_podman() {
        let p = RestartPolicy::OnFailure(2);
        assert!(p.should_restart(1, 0, false));
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(RestartPolicy::Always.should_restart(0, 100, false));
        assert!(!RestartPolicy::Always.should_restart(137, 0, true));
        assert!(!RestartPolicy::UnlessStopped.should_restart(1, 0, true));
        assert!(!RestartPolicy::No.should_restart(1, 0, false));
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(20), BACKOFF_MAX);
        assert_eq!(backoff(40), BACKOFF_MAX);
    }
}
