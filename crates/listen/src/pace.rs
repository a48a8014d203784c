//! How slow a client may be: a command line complete within a deadline of its first byte,
//! transfers (SMTP DATA, HTTPS request bodies) at or above a minimum rate, and silence
//! between commands no longer than the idle timeout.
//!
//! An idle timeout alone is renewed by every byte, so a client sending one byte a second holds
//! its connection (and its place under the caps) for ever. The deadlines here count from the
//! start of what is being sent, and a trickle renews none of them.

use std::time::Duration;

use tokio::time::Instant;

/// The lowest rate a transfer may keep: each `window` must bring at least
/// `bytes_per_second × window` bytes. The first window is the grace period in which a
/// transfer gets going. A rate of 0 (or a zero window) sets no floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinimumRate {
    /// Bytes per second, averaged over one window.
    pub bytes_per_second: u64,
    /// How long a stretch the rate is averaged over.
    pub window: Duration,
}

impl MinimumRate {
    /// What one window must bring; `None` when there is no floor.
    fn quota(self) -> Option<u64> {
        let quota = u128::from(self.bytes_per_second) * self.window.as_millis() / 1000;
        (quota > 0).then(|| u64::try_from(quota).unwrap_or(u64::MAX))
    }
}

/// Which deadline a client missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Overdue {
    /// Silent between commands for longer than the idle timeout.
    #[error("idle too long")]
    Idle,
    /// A command line not complete within the command deadline of its first byte.
    #[error("command line not complete in time")]
    Command,
    /// A transfer that fell below the minimum rate.
    #[error("transfer below the minimum rate")]
    SlowTransfer,
    /// A transfer not complete within its total deadline.
    #[error("transfer not complete in time")]
    TransferDeadline,
}

/// One transfer measured against its [`MinimumRate`], window by window.
#[derive(Debug)]
pub struct RateMeter {
    window: Duration,
    quota: Option<u64>,
    window_end: Instant,
    in_window: u64,
}

impl RateMeter {
    /// A transfer starting at `now`.
    pub fn start(floor: MinimumRate, now: Instant) -> RateMeter {
        RateMeter {
            window: floor.window,
            quota: floor.quota(),
            window_end: now + floor.window,
            in_window: 0,
        }
    }

    /// Counts `bytes` received.
    pub fn record(&mut self, bytes: usize) {
        self.in_window = self.in_window.saturating_add(bytes as u64);
    }

    /// When the current window ends: the transfer must be looked at then, even if nothing
    /// arrives. `None` when there is no floor.
    pub fn next_check(&self) -> Option<Instant> {
        self.quota.map(|_| self.window_end)
    }

    /// Whether the transfer still keeps the floor at `now`: false once a window has ended
    /// with less than its share. Windows that ended in silence count as empty.
    pub fn keeps_up(&mut self, now: Instant) -> bool {
        let Some(quota) = self.quota else {
            return true;
        };
        while now >= self.window_end {
            if self.in_window < quota {
                return false;
            }
            self.in_window = 0;
            self.window_end += self.window;
        }
        true
    }
}

/// What a line-based session (SMTP, POP3) is reading, as far as its deadlines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Nothing: the last line is complete and the next has not begun.
    Between,
    /// A line begun and not finished, numbered by how many lines ended before it.
    Line(u64),
    /// A transfer (SMTP DATA), held to the minimum rate.
    Transfer,
}

/// The deadlines of one line-based session: the idle timeout between commands, a command line
/// complete within `command_timeout` of its first byte, transfers at the minimum rate.
#[derive(Debug)]
pub struct Pace {
    command_timeout: Duration,
    floor: MinimumRate,
    /// When the session last had something to do.
    last: Instant,
    /// The line in progress and when its first byte was seen.
    line: Option<(u64, Instant)>,
    transfer: Option<RateMeter>,
}

impl Pace {
    /// A session starting now, with the listener's command deadline and transfer floor.
    pub fn new(command_timeout: Duration, floor: MinimumRate) -> Pace {
        Pace {
            command_timeout,
            floor,
            last: Instant::now(),
            line: None,
            transfer: None,
        }
    }

    /// When the next read must have returned: at that instant [`Pace::check`] must look at
    /// the clock, whether bytes came or not. `idle` is the session's idle timeout now.
    pub fn deadline(&self, idle: Duration) -> Instant {
        let mut at = self.last + idle;
        if let Some((_, started)) = self.line {
            at = at.min(started + self.command_timeout);
        }
        if let Some(end) = self.transfer.as_ref().and_then(RateMeter::next_check) {
            at = at.min(end);
        }
        at
    }

    /// Takes note, at `now`, of `received` bytes (0 when the deadline came first) after which
    /// the session is `reading`; the deadline missed, if any.
    pub fn check(
        &mut self,
        received: usize,
        reading: Reading,
        idle: Duration,
        now: Instant,
    ) -> Result<(), Overdue> {
        if received > 0 {
            self.last = now;
        }
        match reading {
            Reading::Between => {
                self.line = None;
                self.transfer = None;
            }
            Reading::Line(number) => {
                self.transfer = None;
                let started = match self.line {
                    Some((current, started)) if current == number => started,
                    _ => self.line.insert((number, now)).1,
                };
                if now >= started + self.command_timeout {
                    return Err(Overdue::Command);
                }
            }
            Reading::Transfer => {
                self.line = None;
                let meter = match &mut self.transfer {
                    Some(meter) => {
                        meter.record(received);
                        meter
                    }
                    // The bytes that began the transfer carried the command that began it:
                    // the transfer is counted from the next read.
                    None => self.transfer.insert(RateMeter::start(self.floor, now)),
                };
                if !meter.keeps_up(now) {
                    return Err(Overdue::SlowTransfer);
                }
            }
        }
        if now >= self.last + idle {
            return Err(Overdue::Idle);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: MinimumRate = MinimumRate {
        bytes_per_second: 10,
        window: Duration::from_secs(2),
    };
    const IDLE: Duration = Duration::from_secs(60);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_meter_fails_the_first_window_below_its_share() {
        let t0 = Instant::now();
        let mut meter = RateMeter::start(FLOOR, t0);
        meter.record(25);
        assert!(meter.keeps_up(t0 + secs(2)), "25 bytes in 2 s keep 10 B/s");
        assert_eq!(meter.next_check(), Some(t0 + secs(4)));
        meter.record(19);
        assert!(!meter.keeps_up(t0 + secs(4)), "19 bytes in 2 s do not");
        let mut silent = RateMeter::start(FLOOR, t0);
        silent.record(100);
        assert!(
            !silent.keeps_up(t0 + secs(5)),
            "a silent window counts as empty"
        );
    }

    #[test]
    fn no_floor_never_fails() {
        let t0 = Instant::now();
        for floor in [
            MinimumRate {
                bytes_per_second: 0,
                ..FLOOR
            },
            MinimumRate {
                window: Duration::ZERO,
                ..FLOOR
            },
        ] {
            let mut meter = RateMeter::start(floor, t0);
            assert!(meter.keeps_up(t0 + secs(3600)));
            assert_eq!(meter.next_check(), None);
        }
    }

    #[test]
    fn a_trickled_line_misses_the_command_deadline_from_its_first_byte() {
        let mut pace = Pace::new(secs(3), FLOOR);
        let t0 = Instant::now();
        for s in 0..3 {
            assert_eq!(pace.check(1, Reading::Line(0), IDLE, t0 + secs(s)), Ok(()));
        }
        assert_eq!(pace.deadline(IDLE), t0 + secs(3));
        assert_eq!(
            pace.check(1, Reading::Line(0), IDLE, t0 + secs(3)),
            Err(Overdue::Command)
        );
    }

    #[test]
    fn each_line_has_its_own_deadline_and_silence_between_is_idle() {
        let mut pace = Pace::new(secs(3), FLOOR);
        let t0 = Instant::now();
        assert_eq!(pace.check(1, Reading::Line(0), IDLE, t0), Ok(()));
        // Line 0 ended and line 1 began in the same read: line 1 starts now.
        assert_eq!(pace.check(9, Reading::Line(1), IDLE, t0 + secs(2)), Ok(()));
        assert_eq!(pace.check(1, Reading::Line(1), IDLE, t0 + secs(4)), Ok(()));
        assert_eq!(pace.check(1, Reading::Between, IDLE, t0 + secs(4)), Ok(()));
        assert_eq!(pace.deadline(IDLE), t0 + secs(4) + IDLE);
        assert_eq!(
            pace.check(0, Reading::Between, IDLE, t0 + secs(4) + IDLE),
            Err(Overdue::Idle)
        );
    }

    #[test]
    fn a_transfer_is_looked_at_when_its_window_ends() {
        let mut pace = Pace::new(secs(3), FLOOR);
        let t0 = Instant::now();
        // `DATA` and what came with it: not counted.
        assert_eq!(pace.check(1000, Reading::Transfer, IDLE, t0), Ok(()));
        assert_eq!(pace.deadline(IDLE), t0 + secs(2));
        assert_eq!(
            pace.check(30, Reading::Transfer, IDLE, t0 + secs(1)),
            Ok(())
        );
        assert_eq!(pace.check(0, Reading::Transfer, IDLE, t0 + secs(2)), Ok(()));
        assert_eq!(pace.check(1, Reading::Transfer, IDLE, t0 + secs(3)), Ok(()));
        assert_eq!(
            pace.check(0, Reading::Transfer, IDLE, t0 + secs(4)),
            Err(Overdue::SlowTransfer)
        );
    }
}
