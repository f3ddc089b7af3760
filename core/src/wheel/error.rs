//! The wheel's errors: [`InsertError`] and [`ResetError`], both handing the payload back.

use core::fmt;

/// Why [`Wheel::insert`](super::Wheel::insert) refused an entry; the payload comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InsertError<T> {
    /// The deadline is at or before [`Wheel::elapsed`](super::Wheel::elapsed): it would
    /// have fired already.
    Elapsed(T),
    /// A fixed-capacity wheel is full (for [`Wheel::insert_at`](super::Wheel::insert_at):
    /// the index is beyond its capacity, or is `u32::MAX`).
    Full(T),
    /// [`Wheel::insert_at`](super::Wheel::insert_at) was given the index of a live entry.
    Occupied(T),
}

impl<T> InsertError<T> {
    /// The payload that was not inserted.
    pub fn into_payload(self) -> T {
        match self {
            InsertError::Elapsed(p) | InsertError::Full(p) | InsertError::Occupied(p) => p,
        }
    }
}

impl<T> fmt::Display for InsertError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::Elapsed(_) => f.write_str("deadline already elapsed"),
            InsertError::Full(_) => f.write_str("timing wheel is full"),
            InsertError::Occupied(_) => {
                f.write_str("the timing wheel's entry at that index is live")
            }
        }
    }
}

impl<T: fmt::Debug> core::error::Error for InsertError<T> {}

/// Why [`Wheel::reset`](super::Wheel::reset) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetError<T> {
    /// The handle's entry already fired or was cancelled; nothing changed.
    Stale,
    /// The new deadline is at or before [`Wheel::elapsed`](super::Wheel::elapsed): the entry
    /// was removed (its handle is now stale) and its payload comes back, as
    /// [`Wheel::insert`](super::Wheel::insert) would have refused it.
    Elapsed(T),
}

impl<T> fmt::Display for ResetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResetError::Stale => f.write_str("stale timer handle"),
            ResetError::Elapsed(_) => f.write_str("new deadline already elapsed; entry removed"),
        }
    }
}

impl<T: fmt::Debug> core::error::Error for ResetError<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate alloc;
    use alloc::string::ToString;

    #[test]
    fn errors_display_and_give_the_payload_back() {
        assert_eq!(InsertError::Full(1).to_string(), "timing wheel is full");
        assert_eq!(
            InsertError::Elapsed(1).to_string(),
            "deadline already elapsed"
        );
        assert_eq!(ResetError::<u8>::Stale.to_string(), "stale timer handle");
        assert_eq!(
            ResetError::Elapsed(3).to_string(),
            "new deadline already elapsed; entry removed"
        );
        assert_eq!(InsertError::Full(5).into_payload(), 5);
        assert_eq!(InsertError::Elapsed(6).into_payload(), 6);
        assert_eq!(InsertError::Occupied(7).into_payload(), 7);
        assert_eq!(
            InsertError::Occupied(7).to_string(),
            "the timing wheel's entry at that index is live"
        );
    }
}
