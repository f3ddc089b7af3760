//! The allowed-lateness buffer: fixed storage against growable storage.

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::event::OwnedEvent;
use crate::store::{Fixed, Growable};

fn event(n: u8, occurred: u64, follows: Option<u8>, labels: usize) -> OwnedEvent {
    OwnedEvent {
        id: EventId([n; 16]),
        event: alloc::format!("e{}", "x".repeat(labels)),
        occurred: Instant::from_secs(occurred),
        received: Instant::from_secs(occurred + 1),
        resource: (0..labels)
            .map(|i| (alloc::format!("label-{i}"), String::from("v")))
            .collect(),
        related: Vec::new(),
        follows: follows.map(|l| EventId([l; 16])),
    }
}

/// The buffer's content, comparable across storage flavours.
fn content<S: Storage>(b: &LatenessBuffer<S>) -> Vec<(u64, OwnedEvent)> {
    b.iter()
        .map(|(arrival, e)| (arrival, e.view().to_owned_event()))
        .collect()
}

#[test]
fn a_fixed_lateness_buffer_behaves_as_the_growable_one() {
    // six events of at most 128 bytes packed
    type Small = Fixed<1, 512, 1, 1, 6, 128, 1, 1, 512>;
    let mut fixed = LatenessBuffer::<Small>::default();
    let mut growable = LatenessBuffer::<Growable>::default();
    let mut rng = crate::test_rng::Rng(0x1234_5679);
    let mut refused = 0;
    let mut released = 0;
    for step in 0..20_000u64 {
        let r = rng.next();
        if !r.is_multiple_of(3) {
            let follows = (r >> 4).is_multiple_of(3).then_some((r >> 6) as u8 % 4);
            let e = event(
                (r >> 8) as u8 % 10,
                step / 8 + u64::from(r >> 12) % 20,
                follows,
                (r >> 20) as usize % 9,
            );
            let bytes = Packed::<Small>::encoded_len(&e.view());
            let fits = bytes <= 128 && fixed.len() < 6;
            assert_eq!(fixed.push(&e.view()), fits, "step {step}: {bytes} bytes");
            if fits {
                assert!(growable.push(&e.view()));
            } else {
                refused += 1;
            }
        } else {
            let watermark = Instant::from_secs(step / 8);
            assert_eq!(fixed.peek_due(watermark), growable.peek_due(watermark));
            let (f, g) = (fixed.pop_due(watermark), growable.pop_due(watermark));
            assert_eq!(
                f.map(|e| e.view().to_owned_event()),
                g.map(|e| e.view().to_owned_event()),
                "step {step}"
            );
            released += 1;
        }
        assert_eq!(fixed.len(), growable.len(), "step {step}");
        assert_eq!(fixed.following(), growable.following(), "step {step}");
        assert_eq!(fixed.earliest(), growable.earliest(), "step {step}");
        assert_eq!(fixed.longest(), growable.longest(), "step {step}");
        for n in 0..10 {
            let id = EventId([n; 16]);
            assert_eq!(fixed.contains_id(&id), growable.contains_id(&id));
        }
        if step % 89 == 0 {
            let (f, g) = (content(&fixed), content(&growable));
            assert_eq!(f, g, "step {step}");
            assert_eq!(fixed.export().2, growable.export().2);
            // the fixed buffer imports what the growable one exported
            let events = g.iter().map(|(a, e)| (*a, e.view()));
            let again =
                LatenessBuffer::<Small>::import(events, growable.export().2, None).expect("fits");
            assert_eq!(content(&again), f);
            assert_eq!(again.following(), fixed.following());
        }
    }
    assert!(
        refused > 100 && released > 100,
        "{refused} refused, {released} released"
    );
    // drained, both are empty
    while let Some(e) = fixed.pop_first() {
        let g = growable.pop_first().expect("as many events");
        assert_eq!(e.view().to_owned_event(), g.view().to_owned_event());
    }
    assert_eq!(growable.len(), 0);
}
