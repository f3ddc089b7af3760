//! Time for the driver: tokio's clock mapped to epoch [`Instant`]s.

use std::time::SystemTime;

use overdue_core::{Duration, Instant};

/// A pairing of a `tokio::time::Instant` with the epoch [`Instant`] it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timebase {
    tokio_base: tokio::time::Instant,
    epoch_base: Instant,
}

/// The longest sleep the driver arms (tokio's timer wheel is bounded; an engine with
/// nothing due sleeps this long, then looks again).
pub(crate) const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(86_400 * 365);

impl Timebase {
    /// `tokio` and `epoch` are the same instant.
    pub fn new(tokio: tokio::time::Instant, epoch: Instant) -> Timebase {
        Timebase {
            tokio_base: tokio,
            epoch_base: epoch,
        }
    }

    /// The tokio clock's current instant is epoch instant `epoch`.
    pub fn starting_at(epoch: Instant) -> Timebase {
        Timebase::new(tokio::time::Instant::now(), epoch)
    }

    /// The tokio clock's current instant is the system clock's current time.
    pub fn system() -> Timebase {
        Timebase::starting_at(system_now())
    }

    /// The epoch instant paired with the tokio base.
    pub fn epoch_base(&self) -> Instant {
        self.epoch_base
    }

    /// The tokio instant paired with the epoch base.
    pub fn tokio_base(&self) -> tokio::time::Instant {
        self.tokio_base
    }

    /// The current epoch time: `epoch_base + (tokio now - tokio_base)`.
    pub fn now(&self) -> Instant {
        self.to_epoch(tokio::time::Instant::now())
    }

    /// The epoch instant that tokio instant `t` stands for (the base, if `t` is
    /// earlier).
    pub fn to_epoch(&self, t: tokio::time::Instant) -> Instant {
        let elapsed = t.saturating_duration_since(self.tokio_base);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.epoch_base + Duration::from_micros(micros)
    }

    /// The tokio instant that epoch instant `t` stands for (the tokio base, if `t` is
    /// before the epoch base; at most a year after the current time).
    pub fn to_tokio(&self, t: Instant) -> tokio::time::Instant {
        let micros = t.saturating_duration_since(self.epoch_base).as_micros();
        let wanted = self
            .tokio_base
            .checked_add(std::time::Duration::from_micros(micros));
        let cap = tokio::time::Instant::now() + MAX_SLEEP;
        wanted.map_or(cap, |w| w.min(cap))
    }
}

/// The system clock as an epoch [`Instant`].
pub fn system_now() -> Instant {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Instant::from_micros(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn timebase_maps_both_ways() {
        let tb = Timebase::starting_at(Instant::from_secs(1_000));
        assert_eq!(tb.now(), Instant::from_secs(1_000));
        tokio::time::advance(std::time::Duration::from_millis(1_500)).await;
        assert_eq!(tb.now(), Instant::from_millis(1_001_500));
        let t = tb.to_tokio(Instant::from_secs(1_090));
        assert_eq!(t - tb.tokio_base(), std::time::Duration::from_secs(90));
        assert_eq!(tb.to_epoch(t), Instant::from_secs(1_090));
        // before the base: the base; far future: capped
        assert_eq!(tb.to_tokio(Instant::from_secs(1)), tb.tokio_base());
        assert!(tb.to_tokio(Instant::MAX) <= tokio::time::Instant::now() + MAX_SLEEP);
    }
}
