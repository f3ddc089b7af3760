//! Causal ordering and the de-duplication cache: unit tests.

use super::*;
use crate::store::{Fixed, Growable};
use crate::time::Duration;

fn id(n: u8) -> EventId {
    EventId([n; 16])
}

fn follower(n: u8, leader: u8, occurred: u64, received: u64) -> OwnedEvent {
    OwnedEvent {
        id: id(n),
        event: "e".into(),
        occurred: Instant::from_secs(occurred),
        received: Instant::from_secs(received),
        resource: Vec::new(),
        related: Vec::new(),
        follows: Some(id(leader)),
    }
}

impl<S: Storage> CausalOrdering<S> {
    /// `followers_of`, the events read as the engine reads them.
    fn followers(&self, leader: &EventId) -> Vec<Packed<S>> {
        let mut ids = FollowerIds::<S>::default();
        self.followers_of(leader, &mut ids);
        ids.iter()
            .map(|(_, id)| self.waiting_event(id).expect("waiting").clone())
            .collect()
    }

    /// `take_lost`, every lost follower released.
    fn lost(&mut self, cutoff: Instant) -> Vec<(u64, Packed<S>)> {
        let n = self.take_lost(cutoff);
        let out: Vec<_> = core::iter::from_fn(|| self.next_lost()).collect();
        assert_eq!(out.len(), n);
        out
    }
}

fn uuid_follower(uuid: &str, occurred: u64) -> OwnedEvent {
    let mut e = follower(0, 9, occurred, 1);
    e.id = EventId::parse(uuid).expect("a uuid");
    e
}

/// uuid5 ids of `g26`, `follower-42`, `f49`, `117`, `77` (the replay's mapping);
/// the expected orders are CPython 3.11's `list(s)` and `list(s.copy())` of a set
/// built by adding them in that order.
const TIED: [&str; 5] = [
    "7b560d65-78d8-5b30-a1d1-b46db224b225",
    "8865d82c-8f49-54e4-88b6-b56c5aa55d05",
    "01722ce5-87e5-53f8-bb3a-a0f188ce1553",
    "a72c101f-fc4c-5f7d-b218-a9c63ad609b6",
    "d08a8408-eddb-5605-8aa7-79ea5741cf55",
];

#[test]
fn followers_with_equal_occurred_come_in_the_order_of_a_copy_of_pythons_set() {
    let mut o = CausalOrdering::<Growable>::default();
    for uuid in TIED {
        assert!(o.record_follower(&uuid_follower(uuid, 100).view()));
    }
    let order: Vec<EventId> = o.followers(&id(9)).iter().map(|e| e.id()).collect();
    let expected: Vec<EventId> = [4, 0, 2, 1, 3]
        .iter()
        .map(|&i| EventId::parse(TIED[i]).expect("a uuid"))
        .collect();
    assert_eq!(
        order, expected,
        "list(s.copy()): 77, g26, f49, follower-42, 117"
    );
    // an earlier `occurred` still comes first
    let early = "00000000-0000-4000-8000-000000000001";
    assert!(o.record_follower(&uuid_follower(early, 50).view()));
    assert_eq!(
        o.followers(&id(9))[0].id(),
        EventId::parse(early).expect("a uuid")
    );

    // the layout (deleted entries included) survives export and import
    o.forget_follower(&EventId::parse(TIED[0]).expect("a uuid"), &id(9));
    let before: Vec<EventId> = o.followers(&id(9)).iter().map(|e| e.id()).collect();
    let restored = CausalOrdering::<Growable>::import_record(o.export()).expect("a valid record");
    let after: Vec<EventId> = restored.followers(&id(9)).iter().map(|e| e.id()).collect();
    assert_eq!(before, after);
    assert_eq!(after.len(), 5);
}

#[test]
fn impossible_follower_set_layouts_are_refused() {
    let mut o = CausalOrdering::<Growable>::default();
    assert!(o.record_follower(&uuid_follower(TIED[0], 100).view()));
    let good = o.export();
    let with = |size: u32, slots: Vec<(u32, Option<EventId>)>| {
        let mut r = o.export();
        r.followers[0].1 = (size, slots);
        CausalOrdering::<Growable>::import_record(r)
    };
    let one = Some(EventId::parse(TIED[0]).expect("a uuid"));
    assert!(CausalOrdering::<Growable>::import_record(good).is_some());
    assert!(with(12, vec![(0, one)]).is_none(), "not a power of two");
    assert!(with(4, vec![(0, one)]).is_none(), "below CPython's minimum");
    assert!(
        with(1 << 30, vec![(0, one)]).is_none(),
        "far larger than its entries"
    );
    assert!(with(8, vec![(8, one)]).is_none(), "position out of range");
    assert!(
        with(8, vec![(3, one), (3, None)]).is_none(),
        "position repeated"
    );
    let full: Vec<_> = (0..5).map(|i| (i, None)).collect();
    assert!(with(8, full).is_none(), "no empty slot left");
}

#[test]
fn followers_come_back_in_occurred_order_and_lost_ones_are_released_once() {
    let mut o = CausalOrdering::<Growable>::default();
    assert!(o.record_follower(&follower(3, 9, 30, 5).view()));
    assert!(o.record_follower(&follower(2, 9, 20, 6).view()));
    assert!(o.record_follower(&follower(4, 8, 10, 7).view()));
    let ids: Vec<_> = o.followers(&id(9)).iter().map(|e| e.id()).collect();
    assert_eq!(ids, [id(2), id(3)]);
    assert_eq!(o.earliest_received(), Some(Instant::from_secs(5)));
    let lost: Vec<_> = o
        .lost(Instant::from_secs(6))
        .iter()
        .map(|(_, e)| e.id())
        .collect();
    assert_eq!(lost, [id(2), id(3)]);
    assert_eq!(o.len(), 1);
    assert!(o.followers(&id(9)).is_empty());
    assert!(o.lost(Instant::from_secs(6)).is_empty());
    // taken, not released, put back: the same order and lost again at the same cutoff
    assert!(o.record_follower(&follower(3, 9, 30, 5).view()));
    assert!(o.record_follower(&follower(2, 9, 20, 6).view()));
    assert_eq!(o.take_lost(Instant::from_secs(6)), 2);
    assert_eq!(o.peek_lost(), Some(id(2)));
    assert_eq!(o.len(), 3, "taken ones still count");
    o.put_back_lost();
    assert_eq!(o.len(), 3);
    assert_eq!(o.chain_len(&id(9), 20), 2);
    let again: Vec<_> = o
        .lost(Instant::from_secs(6))
        .iter()
        .map(|(p, e)| (*p, e.id()))
        .collect();
    assert_eq!(again, [(4, id(2)), (3, id(3))]);
}

/// A follower with `labels` resource labels (varying packed sizes).
fn sized_follower(n: u8, leader: u8, occurred: u64, received: u64, labels: usize) -> OwnedEvent {
    let mut e = follower(n, leader, occurred, received);
    e.resource = (0..labels)
        .map(|i| (alloc::format!("label-{i}"), alloc::format!("value-{n}-{i}")))
        .collect();
    e.related = (0..labels % 3)
        .map(|i| alloc::vec![(alloc::string::String::from("role"), alloc::format!("r{i}"))])
        .collect();
    e
}

/// What a list of packed events says, comparable across storage flavours.
fn owned<B: core::ops::Deref<Target = [u8]>>(
    events: impl IntoIterator<Item = crate::event::PackedEvent<B>>,
) -> Vec<OwnedEvent> {
    events
        .into_iter()
        .map(|e| e.view().to_owned_event())
        .collect()
}

/// Lost followers with their positions, comparable across storage flavours.
fn summary<B: core::ops::Deref<Target = [u8]>>(
    lost: &[(u64, crate::event::PackedEvent<B>)],
) -> Vec<(u64, OwnedEvent)> {
    lost.iter()
        .map(|(p, e)| (*p, e.view().to_owned_event()))
        .collect()
}

#[test]
fn a_fixed_waitlist_behaves_as_the_growable_one() {
    // eight waiting events of at most 160 bytes packed: the engine's admission keeps
    // within that, so the driver does as well
    type Small = Fixed<1, 512, 1, 1, 8, 160, 1, 1, 512>;
    let mut fixed = CausalOrdering::<Small>::default();
    let mut growable = CausalOrdering::<Growable>::default();
    let mut rng = crate::test_rng::Rng(0x9e37_79b9);
    let mut next = move || rng.next();
    let mut refused = 0;
    for step in 0..20_000u64 {
        let r = next();
        let (n, leader) = ((r % 12) as u8, ((r >> 8) % 4) as u8 + 20);
        match (r >> 16) % 8 {
            0..=3 => {
                let e = sized_follower(
                    n,
                    leader,
                    (r >> 20) as u64 % 50,
                    step / 4,
                    (r >> 24) as usize % 6,
                );
                let bytes = Packed::<Small>::encoded_len(&e.view());
                let fits = bytes <= 160
                    && (fixed.is_waiting(&e.id) || fixed.len() < 8)
                    && fixed.room_to_follow(&id(leader), &e.id);
                let recorded = fixed.record_follower(&e.view());
                assert_eq!(recorded, fits, "step {step}: {bytes} bytes");
                if recorded {
                    assert!(growable.record_follower(&e.view()));
                } else {
                    refused += 1;
                }
            }
            4 => {
                fixed.forget_follower(&id(n), &id(leader));
                growable.forget_follower(&id(n), &id(leader));
            }
            5 => {
                let cutoff = Instant::from_secs(step / 4)
                    .saturating_sub(Duration::from_secs(u64::from(r >> 24) % 40));
                if (r >> 28) % 2 == 0 {
                    // a cut tick: some released, the others put back
                    assert_eq!(fixed.take_lost(cutoff), growable.take_lost(cutoff));
                    for _ in 0..(r >> 29) % 3 {
                        let (f, g) = (fixed.next_lost(), growable.next_lost());
                        assert_eq!(summary(&Vec::from_iter(f)), summary(&Vec::from_iter(g)));
                    }
                    fixed.put_back_lost();
                    growable.put_back_lost();
                } else {
                    let (f, g) = (fixed.lost(cutoff), growable.lost(cutoff));
                    assert_eq!(summary(&f), summary(&g), "step {step}");
                }
            }
            _ => {
                let leader = id(leader);
                assert_eq!(
                    owned(fixed.followers(&leader)),
                    owned(growable.followers(&leader)),
                    "step {step}"
                );
                assert_eq!(fixed.chain_len(&leader, 3), growable.chain_len(&leader, 3));
            }
        }
        assert_eq!(
            fixed.len(),
            growable.len(),
            "step {step} op {}",
            (r >> 16) % 8
        );
        assert_eq!(fixed.earliest_received(), growable.earliest_received());
        assert_eq!(fixed.longest(), growable.longest(), "step {step}");
        for probe in 0..12 {
            assert_eq!(
                fixed.is_waiting(&id(probe)),
                growable.is_waiting(&id(probe))
            );
        }
        if step % 97 == 0 || step > 150 {
            let (f, g) = (fixed.export(), growable.export());
            assert_eq!(f.waiting, g.waiting, "step {step}");
            assert_eq!(f.followers, g.followers, "step {step} op {}", (r >> 16) % 8);
            assert_eq!(f.next_position, g.next_position, "step {step}");
            // and the fixed one imports what the growable one exported
            let again = CausalOrdering::<Small>::import_record(g).expect("fits");
            assert_eq!(again.export().waiting, f.waiting);
        }
    }
    assert!(
        refused > 100,
        "the bounds were reached ({refused} refusals)"
    );
}
