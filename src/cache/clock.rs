//! This machine's clocks, recorded with an entry that carries a skew: the skew holds
//! only while they have kept together since.

use std::path::Path;

use time::OffsetDateTime;

use crate::fsutil;

/// This machine's clocks at one moment: the wall clock, the time since boot (which no
/// one sets) and the boot's id. A skew recorded with them holds while the wall clock has
/// moved as the boot clock has, on the same boot: not after a reboot, not after the clock
/// was set (by NTP, say), and not on another machine sharing the cache directory.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Clock {
    wall: i64,
    boot: i64,
    #[serde(default)]
    boot_id: Option<String>,
}

impl Clock {
    /// The clocks now (the boot id read from /proc when it can be).
    pub(super) fn now() -> Clock {
        Clock {
            wall: OffsetDateTime::now_utc().unix_timestamp(),
            boot: rustix::time::clock_gettime(rustix::time::ClockId::Boottime).tv_sec,
            boot_id: boot_id(),
        }
    }

    /// Whether the clocks have kept together since `self`.
    pub(super) fn still_holds(&self) -> bool {
        let now = Clock::now();
        if self.boot_id.is_some() && now.boot_id.is_some() && self.boot_id != now.boot_id {
            return false;
        }
        let moved = (now.wall - self.wall) - (now.boot - self.boot);
        now.boot >= self.boot && moved.abs() <= 60
    }
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`), if it can be read.
fn boot_id() -> Option<String> {
    let b = fsutil::read_file(Path::new("/proc/sys/kernel/random/boot_id"), 64).ok()?;
    Some(String::from_utf8_lossy(&b).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A skew recorded with an entry holds on this boot with the clocks moving
    /// together; not when the wall clock was set since, nor on another boot.
    #[test]
    fn a_recorded_skew_holds_while_the_clocks_move_together() {
        let now = Clock::now();
        assert!(Clock { ..Clock::now() }.still_holds());
        let stepped = Clock {
            wall: now.wall - 600,
            boot: now.boot,
            boot_id: now.boot_id.clone(),
        };
        assert!(!stepped.still_holds(), "the clock was set since");
        let other_boot = Clock {
            boot_id: Some("another-boot".into()),
            ..Clock::now()
        };
        assert_eq!(other_boot.still_holds(), now.boot_id.is_none());
        let future_boot = Clock {
            boot: now.boot + 3600,
            wall: now.wall + 3600,
            boot_id: None,
        };
        assert!(
            !future_boot.still_holds(),
            "boot time went backwards: a reboot"
        );
    }
}
