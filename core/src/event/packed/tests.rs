//! Packed events: round trips through the encoding, and the byte bound.

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::event::OwnedEvent;

type Growing = PackedEvent<Vec<u8>>;

/// Everything a view shows, owned, for comparison.
fn read_back(view: &Event<'_>) -> OwnedEvent {
    view.to_owned_event()
}

fn event(
    name: &str,
    resource: Vec<(String, String)>,
    related: Vec<Vec<(String, String)>>,
) -> OwnedEvent {
    OwnedEvent {
        id: EventId([7; 16]),
        event: name.into(),
        occurred: Instant::from_micros(1_700_000_000_123_456),
        received: Instant::from_micros(u64::MAX),
        resource,
        related,
        follows: Some(EventId([0xab; 16])),
    }
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.into(), v.into())
}

/// Packs `e`, checks the length formula and that every way of reading it back gives
/// `e` again.
fn assert_round_trip(e: &OwnedEvent) {
    let packed = Growing::pack(&e.view()).expect("a growable buffer takes any event");
    assert_eq!(packed.as_bytes().len(), Growing::encoded_len(&e.view()));
    assert_eq!(packed.id(), e.id);
    assert_eq!(packed.occurred(), e.occurred);
    assert_eq!(packed.received(), e.received);
    assert_eq!(packed.follows(), e.follows);
    let view = packed.view();
    assert_eq!(&read_back(&view), e);
    // the random-access readers agree with the iterators
    assert_eq!(view.resource.len(), e.resource.len());
    for (i, (k, v)) in e.resource.iter().enumerate() {
        assert_eq!(view.resource.pair(i), Some((k.as_str(), v.as_str())));
        let first = e
            .resource
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.as_str());
        assert_eq!(view.resource.get(k), first);
    }
    assert_eq!(view.resource.pair(e.resource.len()), None);
    assert_eq!(view.related.len(), e.related.len());
    for (i, labels) in e.related.iter().enumerate() {
        let got = view.related.get(i).expect("every related resource");
        assert_eq!(got.iter().count(), labels.len());
        assert!(got
            .iter()
            .eq(labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    }
    assert!(view.related.get(e.related.len()).is_none());
    assert_eq!(view.resource.get("no such label"), None);
}

#[test]
fn an_empty_event_round_trips_in_the_header_and_three_bytes() {
    let mut e = event("", Vec::new(), Vec::new());
    e.follows = None;
    assert_round_trip(&e);
    let packed = Growing::pack(&e.view()).unwrap();
    assert_eq!(packed.as_bytes().len(), PACKED_HEADER_LEN + 3);
    assert_eq!(packed.follows(), None);
}

#[test]
fn long_strings_take_multi_byte_lengths_and_round_trip() {
    for len in [127, 128, 16_383, 16_384, 70_000] {
        let long: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
        let e = event(
            &long,
            alloc::vec![pair(crate::event::RESOURCE_ID, &long), pair(&long, "")],
            alloc::vec![alloc::vec![pair("", &long)]],
        );
        assert_round_trip(&e);
    }
}

#[test]
fn many_related_resources_round_trip_in_order() {
    let mut related: Vec<Vec<(String, String)>> = (0..300)
        .map(|i| {
            (0..i % 5)
                .map(|j| {
                    pair(
                        &alloc::format!("label-{j}"),
                        &alloc::format!("value-{i}-{j}"),
                    )
                })
                .collect()
        })
        .collect();
    related[153].push(pair(crate::event::RESOURCE_ROLE, "flow"));
    related[154].push(pair(crate::event::RESOURCE_ROLE, "flow"));
    let e = event(
        "prefect.flow-run.Completed",
        alloc::vec![
            pair(crate::event::RESOURCE_ID, "prefect.flow-run.1"),
            pair("a", "1"),
            pair("a", "2")
        ],
        related,
    );
    assert_round_trip(&e);
    let view = Growing::pack(&e.view()).unwrap();
    let view = view.view();
    // `related:<role>:<label>` reads through the packed related resources
    assert_eq!(
        view.find_resource_label("related:flow:label-2"),
        Some("value-153-2")
    );
    assert_eq!(view.find_resource_label("related:none:a"), None);
    assert_eq!(view.find_resource_label("a"), Some("1"));
    assert_eq!(
        view.related.get(299).unwrap().get("label-3"),
        Some("value-299-3")
    );
}

#[test]
fn a_fixed_buffer_takes_an_event_exactly_up_to_its_size() {
    let e = event(
        "e",
        alloc::vec![pair(crate::event::RESOURCE_ID, "r")],
        alloc::vec![alloc::vec![pair("k", "v")]],
    );
    let len = Growing::encoded_len(&e.view());
    assert_eq!(len, PACKED_HEADER_LEN + 2 + (1 + 2 + 19 + 1) + (1 + 1 + 4));
    let fits = PackedEvent::<heapless::Vec<u8, 80>>::pack(&e.view()).expect("80 bytes");
    assert_eq!(
        fits.as_bytes(),
        Growing::pack(&e.view()).unwrap().as_bytes()
    );
    assert_eq!(read_back(&fits.view()), e);
    assert!(PackedEvent::<heapless::Vec<u8, 79>>::pack(&e.view()).is_none());
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z.:-]{0,12}",
        1 => "\\PC{0,40}",
        1 => (120usize..300).prop_map(|n| "y".repeat(n)),
    ]
}

fn labels() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((text(), text()), 0..6)
}

fn owned_event() -> impl Strategy<Value = OwnedEvent> {
    (
        any::<[u8; 16]>(),
        text(),
        any::<u64>(),
        any::<u64>(),
        labels(),
        proptest::collection::vec(labels(), 0..8),
        proptest::option::of(any::<[u8; 16]>()),
    )
        .prop_map(
            |(id, name, occurred, received, resource, related, follows)| OwnedEvent {
                id: EventId(id),
                event: name,
                occurred: Instant::from_micros(occurred),
                received: Instant::from_micros(received),
                resource,
                related,
                follows: follows.map(EventId),
            },
        )
}

proptest! {
    #[test]
    fn any_event_round_trips(e in owned_event()) {
        assert_round_trip(&e);
        // a fixed buffer holds it exactly when it is long enough
        let len = Growing::encoded_len(&e.view());
        let fixed = PackedEvent::<heapless::Vec<u8, 256>>::pack(&e.view());
        prop_assert_eq!(fixed.is_some(), len <= 256);
        if let Some(fixed) = fixed {
            prop_assert_eq!(read_back(&fixed.view()), e);
        }
    }
}
