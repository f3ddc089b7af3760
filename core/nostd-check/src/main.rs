//! The no_std proof: a `#![no_std]` binary with its own panic handler that uses overdue-core.
//!
//! If overdue-core or any of its dependencies (with the features asked for here) linked
//! `std`, std's `panic_impl` would clash with the handler below and the build would fail
//! with "found duplicate lang item `panic_impl`". The binary then exercises the wheel and a
//! packed event in a fixed buffer, a trigger definition compiled into a fixed buffer,
//! the engine on fixed storage (a zombie run detected, a capacity refused, a snapshot
//! restored in place), and exits 0 only if everything came out right. libc is linked for `main`, `abort` and, with
//! feature `alloc`, `malloc`/`free`.
#![no_std]
#![no_main]

use overdue_core::time::{Duration, Instant};
use overdue_core::wheel::{FixedWheel, InsertError, Storage, Wheel};

#[link(name = "c")]
extern "C" {
    fn abort() -> !;
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort has no preconditions.
    unsafe { abort() }
}

/// The unwinding personality the precompiled `core` refers to; with `panic = "abort"`
/// nothing unwinds, so it is never called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// Inserts a handful of deadlines (out of order, one cancelled, one reset) and checks
/// that they come out exactly when due, in order. Returns 0 or the failing check's number.
fn exercise<S: Storage<u32>>(mut wheel: Wheel<u32, S>) -> i32 {
    let deadlines = [5_000u64, 1_500, 90_000_000, 1_500, 64_001, 4_096_000];
    let mut handles = [None; 6];
    for (i, &d) in deadlines.iter().enumerate() {
        match wheel.insert(Instant::from_micros(d), i as u32) {
            Ok(h) => handles[i] = Some(h),
            Err(_) => return 1,
        }
    }
    let (Some(cancelled), Some(moved)) = (handles[2], handles[4]) else {
        return 2;
    };
    if wheel.cancel(cancelled) != Some(2) {
        return 3;
    }
    if wheel.reset(moved, Instant::from_micros(4_000)).is_err() {
        return 4;
    }
    if wheel.next_deadline() != Some(Instant::from_micros(1_500)) {
        return 5;
    }
    if wheel.poll(Instant::from_micros(1_499)).is_some() {
        return 6;
    }
    let want = [
        (1_500u64, 1u32),
        (1_500, 3),
        (4_000, 4),
        (5_000, 0),
        (4_096_000, 5),
    ];
    let mut got = 0;
    while let Some(e) = wheel.poll(Instant::from_secs(10)) {
        if got >= want.len() || (e.deadline.as_micros(), e.payload) != want[got] {
            return 7;
        }
        got += 1;
    }
    if got != want.len() || !wheel.is_empty() || wheel.cancel(cancelled).is_some() {
        return 8;
    }
    match wheel.insert(Instant::from_secs(10), 9) {
        Err(InsertError::Elapsed(9)) => 0,
        _ => 9,
    }
}

/// The fixed wheel must refuse a ninth entry and hand the payload back.
fn exercise_full() -> i32 {
    let mut wheel: FixedWheel<u32, 8> = FixedWheel::new(Duration::from_millis(1), Instant::ZERO);
    for k in 0..8 {
        if wheel.insert(Instant::from_secs(k + 1), k as u32).is_err() {
            return 11;
        }
    }
    match wheel.insert(Instant::from_secs(99), 99) {
        Err(InsertError::Full(99)) => 0,
        _ => 12,
    }
}

/// A packed event (how the engine holds events for later) in a fixed buffer: packed,
/// read back whole through the view, refused when it does not fit.
fn exercise_packed() -> i32 {
    use overdue_core::event::{Event, EventId, Labels, PackedEvent, Related};
    use overdue_core::store::{Fixed, Storage};
    type Slot<const N: usize> = <Fixed<1, 512, 1, 1, 1, N, 1, 1, 512> as Storage>::EventBytes;
    let related: &[&[(&str, &str)]] = &[
        &[
            ("prefect.resource.id", "prefect.flow.f"),
            ("prefect.resource.role", "flow"),
        ],
        &[],
    ];
    let event = Event {
        id: EventId([3; 16]),
        event: "prefect.flow-run.Completed",
        occurred: Instant::from_secs(5),
        received: Instant::from_secs(6),
        resource: Labels::Pairs(&[("prefect.resource.id", "prefect.flow-run.1"), ("k", "")]),
        related: Related::Pairs(related),
        follows: Some(EventId([1; 16])),
    };
    let len = PackedEvent::<Slot<256>>::encoded_len(&event);
    let Some(packed) = PackedEvent::<Slot<256>>::pack(&event) else {
        return 30;
    };
    let view = packed.view();
    if packed.as_bytes().len() != len
        || view.id != event.id
        || view.event != event.event
        || (view.occurred, view.received, view.follows)
            != (event.occurred, event.received, event.follows)
        || view.resource.get("prefect.resource.id") != Some("prefect.flow-run.1")
        || view.resource.get("k") != Some("")
        || view.related.len() != 2
        || view.find_resource_label("related:flow:prefect.resource.id") != Some("prefect.flow.f")
    {
        return 31;
    }
    match PackedEvent::<Slot<64>>::pack(&event) {
        None if len > 64 => 0,
        _ => 32,
    }
}

/// A trigger written as a `static` definition (how a caller without `alloc` writes
/// one): checked, fingerprinted, compiled and packed in a fixed buffer, matched, and
/// routed by the scan router; refused when its buffer is too small.
fn exercise_triggers() -> i32 {
    use overdue_core::event::{Event, EventId, Labels, Related};
    use overdue_core::matcher::{CompiledEventTrigger, RouteIndex, ScanRouter};
    use overdue_core::store::{Fixed, Storage};
    use overdue_core::trigger::{
        EventTriggerDef, Posture, SequenceTriggerDef, SpecDef, SpecDefs, Strs, TriggerDef,
        TriggerDefs, TriggerErrorKind,
    };
    type Buf<const N: usize> = <Fixed<1, N, 1, 1, 1, 1, 1, 1, 1> as Storage>::TriggerBytes;
    static ZOMBIE: EventTriggerDef<'static> = EventTriggerDef {
        id: None,
        match_: SpecDef::Borrowed(&[("prefect.resource.id", &["prefect.flow-run.*"])]),
        match_related: SpecDefs::EMPTY,
        after: Strs::Borrowed(&["prefect.flow-run.heartbeat"]),
        expect: Strs::Borrowed(&["prefect.flow-run.*", "prefect.flow-run.*"]),
        for_each: Strs::Borrowed(&["prefect.resource.id"]),
        posture: Posture::Proactive,
        threshold: 1,
        within: Duration::ZERO,
    };
    static SHUFFLED: EventTriggerDef<'static> = EventTriggerDef {
        expect: Strs::Borrowed(&["prefect.flow-run.*"]),
        within: Duration::from_secs(10),
        ..ZOMBIE
    };
    let def = TriggerDef::Event(ZOMBIE);
    if def.validate().is_err()
        || def.fingerprint() != TriggerDef::Event(SHUFFLED).fingerprint()
        || def.fingerprint() == 0
    {
        return 50;
    }
    static TOO_SHORT: [TriggerDef<'static>; 1] = [TriggerDef::Event(EventTriggerDef {
        within: Duration::from_secs(3),
        ..ZOMBIE
    })];
    let bad = TriggerDef::Sequence(SequenceTriggerDef {
        id: None,
        within: None,
        triggers: TriggerDefs::Borrowed(&TOO_SHORT),
    });
    match bad.validate() {
        Err(e)
            if e.path == "triggers[0].within"
                && matches!(e.kind, TriggerErrorKind::ProactiveWithinTooShort(_)) => {}
        _ => return 51,
    }
    let Some(packed) = CompiledEventTrigger::<Buf<256>>::pack(&ZOMBIE) else {
        return 52;
    };
    let event = Event {
        id: EventId([3; 16]),
        event: "prefect.flow-run.heartbeat",
        occurred: Instant::from_secs(5),
        received: Instant::from_secs(6),
        resource: Labels::Pairs(&[("prefect.resource.id", "prefect.flow-run.1")]),
        related: Related::EMPTY,
        follows: None,
    };
    if !packed.covers(&event)
        || !packed.starts_after(event.event)
        || !packed.key_values(&event).eq(["prefect.flow-run.1"])
        || packed.within() != Duration::from_secs(10)
        || packed.expect().len() != 1
    {
        return 53;
    }
    let mut out = <Fixed<4, 1, 1, 1, 1, 1, 1, 1, 1> as Storage>::TriggerSeq::<u32>::default();
    let router = ScanRouter;
    router.candidates(event.event, [(7, &packed)].into_iter(), &mut out);
    if out[..] != [7] {
        return 54;
    }
    router.candidates("prefect.deployment.x", [(7, &packed)].into_iter(), &mut out);
    if !out.is_empty() {
        return 55;
    }
    let len = CompiledEventTrigger::<Buf<256>>::packed_len(&ZOMBIE);
    match CompiledEventTrigger::<Buf<64>>::pack(&ZOMBIE) {
        None if len > 64 && packed.packed().len() == len => 0,
        _ => 56,
    }
}

/// The engine itself on fixed storage, on the stack: a zombie-run trigger loaded from
/// a `static` definition, four runs heartbeating, one going silent: only that one
/// fires, proactively; a fifth run is refused with the capacity it needs; a snapshot
/// restored in place behaves as the original; corrupt bytes leave an empty engine.
fn exercise_engine() -> i32 {
    use overdue_core::engine::{
        Capacity, Engine, EngineConfig, FiringKind, HandleEventError, RestoreOutcome, TriggerId,
    };
    use overdue_core::event::{Event, EventId, Labels, Related};
    use overdue_core::store::Fixed;
    use overdue_core::trigger::{EventTriggerDef, Posture, SpecDef, SpecDefs, Strs, TriggerDef};
    // 4 trigger nodes, 4 keys, 16 remembered ids, 8 pending firings
    type Small = Fixed<4, 512, 4, 64, 4, 256, 16, 8, 256>;
    static ZOMBIE: TriggerDef<'static> = TriggerDef::Event(EventTriggerDef {
        id: None,
        match_: SpecDef::Borrowed(&[("prefect.resource.id", &["prefect.flow-run.*"])]),
        match_related: SpecDefs::EMPTY,
        after: Strs::Borrowed(&["prefect.flow-run.heartbeat"]),
        expect: Strs::Borrowed(&["prefect.flow-run.heartbeat"]),
        for_each: Strs::Borrowed(&["prefect.resource.id"]),
        posture: Posture::Proactive,
        threshold: 1,
        within: Duration::from_secs(90),
    });
    const RUNS: [&str; 5] = [
        "prefect.flow-run.1",
        "prefect.flow-run.2",
        "prefect.flow-run.3",
        "prefect.flow-run.4",
        "prefect.flow-run.5",
    ];
    let heartbeat = |run: usize, at: u64, n: u64| {
        let resource: &'static [(&'static str, &'static str)] = match run {
            0 => &[("prefect.resource.id", RUNS[0])],
            1 => &[("prefect.resource.id", RUNS[1])],
            2 => &[("prefect.resource.id", RUNS[2])],
            3 => &[("prefect.resource.id", RUNS[3])],
            _ => &[("prefect.resource.id", RUNS[4])],
        };
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&n.to_le_bytes());
        Event {
            id: EventId(id),
            event: "prefect.flow-run.heartbeat",
            occurred: Instant::from_secs(at),
            received: Instant::from_secs(at),
            resource: Labels::Pairs(resource),
            related: Related::EMPTY,
            follows: None,
        }
    };
    let mut engine = Engine::<Small>::create(EngineConfig::default());
    if engine.add_trigger(TriggerId(1), &ZOMBIE).is_err() {
        return 60;
    }
    let mut n = 0;
    let mut fired = 0;
    for second in 0..=300u64 {
        let now = Instant::from_secs(second);
        if second % 30 == 0 {
            // run 4 (index 3) heartbeats once and dies
            let alive = if second == 0 { 4 } else { 3 };
            for run in 0..alive {
                n += 1;
                if engine
                    .handle_event(&heartbeat(run, second, n), now)
                    .is_err()
                {
                    return 61;
                }
            }
        }
        engine.handle_timeout(now);
        while let Some(f) = engine.poll_action() {
            let mut labels = f.labels();
            if f.kind != FiringKind::Proactive
                || labels.next() != Some(("prefect.resource.id", RUNS[3]))
                || labels.next().is_some()
            {
                return 62;
            }
            fired += 1;
        }
    }
    // the dead run fired once and its window is gone; the live ones keep theirs
    if fired != 1 || engine.tracked_keys() != 3 {
        return 63;
    }
    // run 4 comes back (a fourth key); a fifth run would need a fifth
    let now = Instant::from_secs(300);
    n += 1;
    if engine.handle_event(&heartbeat(3, 300, n), now).is_err() {
        return 64;
    }
    n += 1;
    match engine.handle_event(&heartbeat(4, 300, n), now) {
        Err(HandleEventError::Full(Capacity::Keys)) => {}
        _ => return 65,
    }
    if engine.tracked_keys() != 4 {
        return 66;
    }
    // saved into a buffer on the stack and restored in place into another engine,
    // which saves the same bytes and goes on alike
    let mut saved = [0u8; 2048];
    let Ok(len) = engine.snapshot(&mut saved) else {
        return 67;
    };
    let mut restored = Engine::<Small>::create(EngineConfig::default());
    let mut kept = 0;
    let triggers = [(TriggerId(1), ZOMBIE)];
    let outcome = restored.restore_in_place(
        EngineConfig::default(),
        &triggers,
        &saved[..len],
        &mut |_, outcome| kept += usize::from(outcome == RestoreOutcome::Kept),
    );
    let mut again = [0u8; 2048];
    if outcome.is_err()
        || kept != 1
        || restored.snapshot(&mut again) != Ok(len)
        || again[..len] != saved[..len]
    {
        return 68;
    }
    // runs 1-3 and 4 go silent: all four fire 90 s after their last heartbeat
    let mut fired = [0u32; 2];
    for second in 300..=400u64 {
        for (e, count) in [&mut engine, &mut restored]
            .into_iter()
            .zip(fired.iter_mut())
        {
            e.handle_timeout(Instant::from_secs(second));
            while e.poll_action().is_some() {
                *count += 1;
            }
        }
    }
    if fired != [4, 4] {
        return 69;
    }
    // corrupt bytes: a typed error, and the engine is left empty, not half restored
    saved[len / 2] ^= 0x55;
    match restored.restore_in_place(
        EngineConfig::default(),
        &triggers,
        &saved[..len],
        &mut |_, _| {},
    ) {
        Err(_) if restored.trigger_count() == 0 && restored.tracked_keys() == 0 => 0,
        _ => 70,
    }
}

#[cfg(feature = "alloc")]
mod heap {
    use core::alloc::{GlobalAlloc, Layout};

    extern "C" {
        fn malloc(size: usize) -> *mut u8;
        fn free(p: *mut u8);
        fn posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32;
    }

    /// The C heap as the global allocator.
    struct Malloc;

    // SAFETY: malloc/posix_memalign return blocks of at least the requested size and
    // alignment (malloc aligns to 16 on the targets we run on), or null; free takes them.
    unsafe impl GlobalAlloc for Malloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= 16 {
                malloc(layout.size().max(1))
            } else {
                let mut p = core::ptr::null_mut();
                if posix_memalign(&mut p, layout.align(), layout.size().max(1)) == 0 {
                    p
                } else {
                    core::ptr::null_mut()
                }
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            free(ptr)
        }
    }

    #[global_allocator]
    static GLOBAL: Malloc = Malloc;
}

/// The growable wheel: the same checks, plus many entries to make the `Vec` grow.
#[cfg(feature = "alloc")]
fn exercise_growable() -> i32 {
    use overdue_core::wheel::GrowableWheel;
    let code = exercise(GrowableWheel::new(Duration::from_millis(1), Instant::ZERO));
    if code != 0 {
        return 20 + code;
    }
    let mut wheel: GrowableWheel<u32> = GrowableWheel::new(Duration::from_millis(1), Instant::ZERO);
    for k in 0..10_000u64 {
        // Deadlines in a scrambled order.
        let d = (k * 7_919) % 10_000 + 1;
        if wheel.insert(Instant::from_millis(d), d as u32).is_err() {
            return 40;
        }
    }
    let mut last = 0;
    let mut n = 0;
    while let Some(e) = wheel.poll(Instant::MAX) {
        if e.payload <= last {
            return 41;
        }
        last = e.payload;
        n += 1;
    }
    if n == 10_000 {
        0
    } else {
        42
    }
}

#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let code = exercise(FixedWheel::<u32, 8>::new(
        Duration::from_millis(1),
        Instant::ZERO,
    ));
    if code != 0 {
        return code;
    }
    let code = exercise_full();
    if code != 0 {
        return code;
    }
    let code = exercise_packed();
    if code != 0 {
        return code;
    }
    let code = exercise_triggers();
    if code != 0 {
        return code;
    }
    let code = exercise_engine();
    if code != 0 {
        return code;
    }
    #[cfg(feature = "alloc")]
    {
        let code = exercise_growable();
        if code != 0 {
            return code;
        }
    }
    0
}
