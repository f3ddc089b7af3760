use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};

use proptest::prelude::*;

use super::*;

type Growing = PackedFiring<Vec<u8>>;

fn owned(
    trigger: u32,
    child: Option<u32>,
    labels: &[(&str, &str)],
    children: Vec<OwnedFiring>,
) -> OwnedFiring {
    OwnedFiring {
        trigger: TriggerId(trigger),
        child,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        event: Some(EventId([7; 16])),
        at: Instant::from_micros(1_234_567),
        kind: FiringKind::Reactive,
        children,
    }
}

/// A composite firing two levels deep, labels at the leaves.
fn nested() -> OwnedFiring {
    let leaf = |i: u32, value: &str| {
        let mut f = owned(
            9,
            Some(i),
            &[("a", value), ("prefect.resource.id", "x")],
            vec![],
        );
        f.kind = FiringKind::Proactive;
        f.event = None;
        f
    };
    let inner = owned(9, Some(1), &[], vec![leaf(0, "first"), leaf(1, "")]);
    owned(9, None, &[], vec![leaf(0, "é\u{1f}"), inner])
}

#[test]
fn an_event_firing_packs_and_reads_back_in_place() {
    let f = owned(3, Some(2), &[("a", "1"), ("bb", "")], vec![]);
    let packed = Growing::from_view(&f.view()).unwrap();
    // header, 1 label count, 2 × (1 + 1 + 1 + 1) + 1 + 0, 1 child count
    assert_eq!(packed.as_bytes().len(), 33 + 1 + 4 + 4 + 1);
    assert_eq!(&packed.as_bytes()[..4], &3u32.to_le_bytes());
    assert_eq!(packed.as_bytes()[4], HAS_CHILD | HAS_EVENT);
    assert_eq!(&packed.as_bytes()[5..9], &2u32.to_le_bytes());
    let view = packed.view();
    assert_eq!(view.trigger, TriggerId(3));
    assert_eq!(view.child, Some(2));
    assert_eq!(view.event, Some(EventId([7; 16])));
    assert_eq!(view.at, Instant::from_micros(1_234_567));
    assert_eq!(view.kind, FiringKind::Reactive);
    assert_eq!(view.labels().len(), 2);
    assert_eq!(view.labels().collect::<Vec<_>>(), [("a", "1"), ("bb", "")]);
    assert_eq!(view.children().len(), 0);
    assert_eq!(packed.at(), view.at);
    assert_eq!(view.to_owned(), f);
    assert_eq!(view, f.view());
}

#[test]
fn nested_composite_firings_read_back_at_every_level() {
    let f = nested();
    let packed = Growing::from_view(&f.view()).unwrap();
    let view = packed.view();
    assert_eq!(view, f.view());
    assert_eq!(view.to_owned(), f);
    assert_eq!(OwnedFiring::from(view), f);
    let children: Vec<Firing<'_>> = view.children().collect();
    assert_eq!(children.len(), 2);
    for (packed_child, owned_child) in children.iter().zip(&f.children) {
        assert_eq!(*packed_child, owned_child.view());
        assert_eq!(
            packed_child.labels().collect::<Vec<_>>(),
            owned_child.view().labels().collect::<Vec<_>>()
        );
    }
    let grandchildren: Vec<_> = children[1].children().map(|c| c.to_owned()).collect();
    assert_eq!(grandchildren, f.children[1].children);
    // a difference anywhere makes the views differ
    let mut other = f.clone();
    other.children[1].children[1].labels[0].1 = "x".into();
    assert_ne!(view, other.view());
    let mut other = f.clone();
    other.children[1].kind = FiringKind::Proactive;
    assert_ne!(view, other.view());
}

#[test]
fn a_view_encodes_exactly_as_the_owned_firing() {
    for f in [nested(), owned(1, None, &[("k", "v")], vec![])] {
        let packed = Growing::from_view(&f.view()).unwrap();
        let from_view = postcard::to_allocvec(&packed.view()).unwrap();
        assert_eq!(from_view, postcard::to_allocvec(&f).unwrap());
        let back: OwnedFiring = postcard::from_bytes(&from_view).unwrap();
        assert_eq!(back, f);
    }
}

#[test]
fn debug_shows_labels_and_children() {
    let f = nested();
    let packed = Growing::from_view(&f.view()).unwrap();
    let text = format!("{:?}", packed.view());
    assert!(text.contains("(\"a\", \"first\")"), "{text}");
    assert!(text.contains("children: [Firing {"), "{text}");
    assert_eq!(text, format!("{:?}", f.view()));
}

#[test]
fn a_fixed_buffer_refuses_a_firing_longer_than_it() {
    let f = owned(1, None, &[("name", "value")], vec![]);
    let len = Growing::from_view(&f.view()).unwrap().as_bytes().len();
    assert_eq!(len, 33 + 1 + 1 + 4 + 1 + 5 + 1);
    let fits = PackedFiring::<heapless::Vec<u8, 46>>::from_view(&f.view()).unwrap();
    assert_eq!(fits.view(), f.view());
    assert!(PackedFiring::<heapless::Vec<u8, 45>>::from_view(&f.view()).is_none());
}

#[test]
fn the_bounds_cover_the_longest_firings_exactly() {
    // an event trigger's firing: the names, and values filling the key bound
    let names = ["a", "long-label"];
    let key = (1 + 3) + 1; // "xyz" and "", each with its length
    let bound = max_event_firing_len(names.into_iter(), key);
    let f = owned(1, Some(0), &[("a", "xyz"), ("long-label", "")], vec![]);
    let len = Growing::from_view(&f.view()).unwrap().as_bytes().len();
    assert_eq!(len, bound);
    // a composite of two such firings
    let parent = owned(1, None, &[], vec![f.clone(), f.clone()]);
    let parent_len = Growing::from_view(&parent.view()).unwrap().as_bytes().len();
    assert_eq!(
        parent_len,
        max_composite_firing_len([bound, bound].into_iter())
    );
    assert_eq!(
        max_event_firing_len(["a"].into_iter(), usize::MAX),
        usize::MAX
    );
    assert_eq!(
        max_composite_firing_len([usize::MAX].into_iter()),
        usize::MAX
    );
}

#[test]
fn bytes_that_do_not_decode_read_as_a_bare_firing() {
    let f = nested();
    let packed = Growing::from_view(&f.view()).unwrap();
    let bytes = packed.as_bytes();
    for cut in 0..bytes.len() {
        let broken = PackedFiring {
            bytes: bytes[..cut].to_vec(),
        };
        let view = broken.view();
        assert_eq!(view.labels().count(), 0);
        assert_eq!(view.children().count(), 0);
    }
    let mut flags = bytes.to_vec();
    flags[4] = 0x80;
    assert_eq!(PackedFiring { bytes: flags }.view().trigger, TriggerId(0));
}

fn arb_label() -> impl Strategy<Value = (String, String)> {
    ("[a-z.]{0,12}", "\\PC{0,140}")
}

fn arb_firing() -> impl Strategy<Value = OwnedFiring> {
    let leaf = (
        any::<u32>(),
        any::<Option<u32>>(),
        prop::collection::vec(arb_label(), 0..4),
        any::<Option<[u8; 16]>>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(trigger, child, labels, event, at, proactive)| OwnedFiring {
                trigger: TriggerId(trigger),
                child,
                labels,
                event: event.map(EventId),
                at: Instant::from_micros(at),
                kind: if proactive {
                    FiringKind::Proactive
                } else {
                    FiringKind::Reactive
                },
                children: Vec::new(),
            },
        );
    leaf.prop_recursive(3, 24, 4, |inner| {
        (arb_firing_head(), prop::collection::vec(inner, 0..4)).prop_map(|(mut f, children)| {
            f.children = children;
            f
        })
    })
}

fn arb_firing_head() -> impl Strategy<Value = OwnedFiring> {
    (any::<u32>(), any::<Option<u32>>(), any::<u64>()).prop_map(|(trigger, child, at)| {
        OwnedFiring {
            trigger: TriggerId(trigger),
            child,
            labels: Vec::new(),
            event: None,
            at: Instant::from_micros(at),
            kind: FiringKind::Reactive,
            children: Vec::new(),
        }
    })
}

proptest! {
    #[test]
    fn packing_round_trips(f in arb_firing()) {
        let packed = Growing::from_view(&f.view()).unwrap();
        let view = packed.view();
        prop_assert_eq!(view, f.view());
        prop_assert_eq!(view.to_owned(), f.clone());
        prop_assert_eq!(
            postcard::to_allocvec(&view).unwrap(),
            postcard::to_allocvec(&f).unwrap()
        );
        // packing the view again gives the same bytes
        let again = Growing::from_view(&view).unwrap();
        prop_assert_eq!(again.as_bytes(), packed.as_bytes());
    }

    #[test]
    fn any_bytes_read_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        let packed = PackedFiring { bytes };
        let view = packed.view();
        let _ = format!("{view:?}");
        let _ = view.to_owned();
        let _ = packed.at();
    }
}
