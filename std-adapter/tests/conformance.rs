//! Conformance: every scenario in `tests/conformance/scenarios/` replayed through the
//! engine must print exactly the firings Prefect 3.9.1's own trigger code produced for
//! it (`tests/conformance/expected/<name>.jsonl`, recorded with the conformance kit's
//! `prefect_oracle.py`). One test per scenario, named after its file, so a failure says
//! which Prefect behaviour broke; `own_*` scenarios were written for this project and run
//! through the same oracle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// The `step` of an oracle line (lines that do not parse sort first).
fn step_of(line: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("step").and_then(serde_json::Value::as_i64))
        .unwrap_or(-1)
}

fn by_step(lines: &[String]) -> BTreeMap<i64, Vec<&str>> {
    let mut map: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for line in lines {
        map.entry(step_of(line)).or_default().push(line);
    }
    map
}

/// Replays `name` and compares with its expected lines; panics with a per-step diff.
fn check(name: &str) {
    let dir = data_dir();
    let scenario_path = dir.join("scenarios").join(format!("{name}.json"));
    let expected_path = dir.join("expected").join(format!("{name}.jsonl"));
    let scenario = std::fs::read_to_string(&scenario_path)
        .unwrap_or_else(|e| panic!("{}: {e}", scenario_path.display()));
    let expected_text = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let expected: Vec<String> = expected_text.lines().map(str::to_owned).collect();
    let actual = overdue_std::replay::replay_str(&scenario)
        .unwrap_or_else(|e| panic!("{name}: replay failed: {e}"));
    if actual == expected {
        return;
    }

    let (want, got) = (by_step(&expected), by_step(&actual));
    let steps: BTreeSet<i64> = want.keys().chain(got.keys()).copied().collect();
    let mut report = String::new();
    let mut differing = 0;
    for step in steps {
        let w = want.get(&step).cloned().unwrap_or_default();
        let g = got.get(&step).cloned().unwrap_or_default();
        if w == g {
            continue;
        }
        differing += 1;
        if differing > 15 {
            continue;
        }
        report.push_str(&format!("step {step}:\n"));
        for i in 0..w.len().max(g.len()) {
            match (w.get(i), g.get(i)) {
                (Some(a), Some(b)) if a == b => report.push_str(&format!("    same      {a}\n")),
                (a, b) => {
                    if let Some(a) = a {
                        report.push_str(&format!("    expected  {a}\n"));
                    }
                    if let Some(b) = b {
                        report.push_str(&format!("    actual    {b}\n"));
                    }
                }
            }
        }
    }
    if differing > 15 {
        report.push_str(&format!("… and {} more differing steps\n", differing - 15));
    }
    panic!(
        "{name}: firings differ from Prefect's ({} expected, {} actual, {differing} steps differ)\n{report}",
        expected.len(),
        actual.len()
    );
}

macro_rules! conformance {
    ($( $(#[$attr:meta])* $name:ident, )*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check(stringify!($name));
            }
        )*

        /// Every scenario listed above.
        const LISTED: &[&str] = &[$(stringify!($name)),*];
    };
}

#[test]
fn every_scenario_file_has_a_test_and_an_expected_output() {
    let dir = data_dir();
    let files = |sub: &str, ext: &str| -> BTreeSet<String> {
        std::fs::read_dir(dir.join(sub))
            .unwrap_or_else(|e| panic!("{sub}: {e}"))
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter_map(|file| file.strip_suffix(ext).map(str::to_owned))
            .collect()
    };
    let scenarios = files("scenarios", ".json");
    let expected = files("expected", ".jsonl");
    let listed: BTreeSet<String> = LISTED.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed.len(), LISTED.len(), "a scenario is listed twice");
    let unlisted: Vec<_> = scenarios.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&scenarios).collect();
    assert!(
        unlisted.is_empty(),
        "scenario files without a test (add them to conformance!): {unlisted:?}"
    );
    assert!(
        missing.is_empty(),
        "tests without a scenario file: {missing:?}"
    );
    assert_eq!(
        scenarios, expected,
        "every scenario needs exactly one expected .jsonl"
    );
}

conformance! {
    basics_proactive_fires_after_time_expires,
    basics_reactive_cleans_up_after_itself,
    basics_reactive_fires_even_if_event_matches_after,
    basics_reactive_for_each_related_labels,
    basics_reactive_immediate_fires_on_every_event,
    basics_reactive_only_expected_events,
    basics_reactive_threshold3_fires_as_soon_as_it_can,
    basics_reactive_threshold_not_met_across_windows,
    compound_all_match_fires,
    compound_all_no_match_does_not_fire,
    compound_all_of_all_and_any_fires,
    compound_all_of_two_alls_with_match_fires,
    compound_all_of_two_anys_fires,
    compound_all_two_children_same_resource,
    compound_any_fires,
    compound_any_nested_fires,
    duplicate_event_ids_consumer_deduplicates,
    duplicate_event_ids_direct_counts_twice,
    event_name_glob_quirks,
    events_clock_3803_backlog_negative,
    events_clock_3803_backlog_positive_no_events,
    events_clock_3803_backlog_reset_mode_fires_early,
    follows_3244_completed_before_running_never_fires,
    follows_3244_missing_completed_fires_once,
    follows_followers_processed_when_leader_arrives,
    follows_lost_followers_processed_by_periodic_evaluation,
    follows_old_follower_processed_immediately,
    follows_self_is_not_waiting,
    for_each_related_label_missing_uses_empty_key,
    log_write_events_are_dropped_by_consumer,
    match_wildcards_and_negation,
    own_compound_all_two_children_same_event,
    own_compound_all_within_wall_clock,
    own_compound_any_two_children_same_event,
    own_compound_children_keep_their_own_buckets,
    own_compound_nested_three_deep,
    own_compound_proactive_child,
    own_compound_require_2_of_3,
    own_compound_two_of_three_same_event_order,
    own_compound_same_child_fires_repeatedly,
    own_compound_two_children_same_tick,
    own_consumer_dedup_30_minutes,
    own_cooldown_per_key,
    own_diff_chaos_clock,
    own_diff_clock_10,
    own_diff_composites_flow_runs_scheduled,
    own_diff_composites_nested_consumer_live,
    own_diff_depthclock_13,
    own_diff_event_id_spellings,
    own_diff_follower_chain_depth_21,
    own_diff_follows_redelivery,
    own_diff_for_each_odd_labels,
    own_diff_glob_expect_matrix,
    own_diff_globalpro_6,
    own_diff_held_retention_kept,
    own_diff_held_retention_swept,
    own_diff_held_slots,
    own_diff_labels_14,
    own_diff_lost_follower_waiting,
    own_diff_odd_12,
    own_diff_proactive_children_ties,
    own_diff_proactive_mixed_live,
    own_diff_ptie_1,
    own_diff_pyset_40,
    own_diff_random_options,
    own_diff_times_fractions_scheduled,
    own_duplicate_child_ids_across_automations,
    own_duplicate_child_ids_in_one_compound,
    own_duplicate_trigger_id_last_automation_wins,
    own_events_clock_live_backlog,
    own_events_clock_live_late_event,
    own_expired_unswept_bucket_reused,
    own_follows_chain_deeper_than_max_depth,
    own_follows_chain_of_followers,
    own_follows_equal_occurred_after_a_lost_follower,
    own_follows_equal_occurred_set_order,
    own_follows_leader_arrives_later,
    own_follows_lost_follower_released_by_tick,
    own_follows_redelivered_follower_ends_the_leaders_loop,
    own_follows_redelivered_follower_keeps_its_leader_waiting,
    own_follows_old_follower_and_twice_delivered,
    own_for_each_related_first_role_wins,
    own_for_each_several_labels,
    own_held_events_swept_after_30_minutes,
    own_held_slot_trimming,
    own_held_terminal_before_heartbeat,
    own_iso_times_and_fractions,
    own_late_heartbeat_after_firing_refires,
    own_log_write_consumer,
    own_log_write_direct,
    own_many_triggers_one_event,
    own_nested_composites_same_event_order,
    own_now_goes_backwards,
    own_proactive_threshold2_global_and_for_each_without_after,
    own_proactive_threshold3_after_for_each,
    own_random_101,
    own_random_102,
    own_random_103,
    own_reactive_lookback_first_bucket,
    own_reactive_threshold0,
    own_reactive_within0_threshold1_and_3,
    own_received_given,
    own_same_event_after_and_expect_threshold2,
    own_scheduled_late_event_window_in_past,
    own_scheduled_proactive_runs,
    own_sequence_repeated_first_child,
    own_sequence_three_children_same_event,
    own_sequence_three_steps_and_reordering,
    own_sequence_ties_follow_trigger_ids,
    own_sequence_within_expires_on_wall_clock,
    own_sweep_periodic_after,
    own_sweep_periodic_before,
    own_sweep_periodic_never,
    own_threshold_zero_and_negative,
    own_tick_now_differs_from_tick_time,
    proactive_global_threshold2_renews,
    proactive_minimum_within_defaults_to_10s,
    random_0,
    random_1,
    random_2,
    random_3,
    random_4,
    random_5,
    random_6,
    random_7,
    random_8,
    random_9,
    reactive_after_stale_bucket_blocks_new_window,
    reactive_cooldown_ignores_events_until_next_window,
    reactive_first_bucket_lookback_accepts_old_events,
    reactive_threshold3_within60_tumbling_windows,
    reactive_within0_threshold2_swept_by_periodic_evaluation,
    regression_3521_completed_run_never_fires,
    regression_3521_missing_completed_fires_once,
    regression_3521_side_quest_late_first_evaluation,
    regression_proactive_flow_run_includes_triggering_event,
    regression_rapid_fire_threshold10_reverse_order,
    regression_rapid_fire_within0_every_event_fires,
    regression_reactive_event_far_in_future_fires,
    regression_same_event_after_and_expect_proactive_does_not_fire,
    regression_same_event_after_and_expect_proactive_fires,
    regression_same_event_after_and_expect_reactive_fires_on_second,
    regression_same_event_after_and_expect_reactive_within0_never_fires,
    regression_same_event_proactive_for_each_threshold1,
    regression_work_queue_unhealthy_alerts,
    regression_work_queue_went_healthy_no_alert,
    regression_zombie_fires_when_heartbeats_stop,
    sequence_duplicate_middle_step_fires,
    sequence_in_order_event_time_expired_but_wall_clock_close_fires,
    sequence_in_order_expired_in_wall_clock_does_not_fire,
    sequence_in_order_fires,
    sequence_no_within_expired_fires,
    sequence_out_of_order_does_not_fire,
    sequence_single_trigger_fires,
    sequence_single_trigger_not_fired,
    sequence_with_nested_compound_fires,
    sla_any_event_after_pending,
    sla_only_the_stuck_flow_run_fires,
    sla_react_only_to_scheduled_flows_completing,
    sla_stuck_flow_run_wildcard_expect,
    zombie_backlog_events_clock_reset,
    zombie_completed_stops_monitoring,
    zombie_crashed_state_after_heartbeats_no_alert,
    zombie_custom_terminal_state_name,
    zombie_duplicate_heartbeat_ids_deduplicated,
    zombie_heartbeats_keep_coming,
    zombie_heartbeats_stop_fires,
    zombie_heartbeats_stop_sparse_ticks,
    zombie_many_runs_interleaved,
}
