//! Every case of upstream `pkg/lib/condition/condition_test.go`, re-expressed, plus the
//! behaviour Ferry adds on top (times as parameters, recompute).

use super::*;
use crate::Time;

fn at(time: &str) -> Time {
    crate::time::parse(time).unwrap()
}

fn t0() -> Time {
    at("2024-05-01T10:00:00Z")
}

fn t1() -> Time {
    at("2024-05-01T10:05:00Z")
}

/// A condition with only a type, as upstream's tests write `{Type: "A"}`.
fn typed(t: &str) -> Condition {
    Condition {
        r#type: t.into(),
        ..Condition::default()
    }
}

fn staged(mut condition: Condition, staged: bool) -> Condition {
    condition.staged = staged;
    condition
}

fn types_and_staging(conditions: &Conditions) -> Vec<(String, bool)> {
    conditions
        .list
        .iter()
        .map(|c| (c.r#type.clone(), c.staged))
        .collect()
}

fn thing_not_found() -> Condition {
    Condition {
        r#type: "ThingNotFound".into(),
        status: status::TRUE.into(),
        reason: "NotFound".into(),
        category: category::ERROR.into(),
        message: "Thing not found.".into(),
        ..Condition::default()
    }
}

// TestCondition_Equal
#[test]
fn condition_equal() {
    let a = thing_not_found();
    let mut b = thing_not_found();
    assert!(a.equal(&b));
    b.reason = "Changed".into();
    assert!(!a.equal(&b));
}

// TestCondition_Update
#[test]
fn condition_update() {
    let mut a = thing_not_found();
    let b = Condition {
        status: status::FALSE.into(),
        reason: "Found".into(),
        category: category::WARN.into(),
        ..thing_not_found()
    };
    assert!(a.update(&b, &t1()));
    assert!(a.is_staged());
    assert_eq!(a.last_transition_time, t1());
    assert!(a.equal(&b));
    assert_eq!(a.status, status::FALSE);
    assert_eq!(a.reason, "Found");
    assert_eq!(a.category, category::WARN);
}

// TestConditions_BeginStagingConditions
#[test]
fn begin_staging() {
    let mut conditions = Conditions::from(vec![
        staged(typed("A"), true),
        staged(typed("B"), true),
        staged(typed("C"), true),
        staged(typed("D").durable(), true),
    ]);
    conditions.begin_staging();
    assert!(conditions.is_staging());
    assert_eq!(
        types_and_staging(&conditions),
        [
            ("A".into(), false),
            ("B".into(), false),
            ("C".into(), false),
            ("D".into(), true)
        ]
    );
    assert!(conditions.list[3].durable);
}

// TestConditions_EndStagingConditions
#[test]
fn end_staging() {
    let mut conditions = Conditions::from(vec![
        staged(typed("A"), false),
        staged(typed("B"), true),
        staged(typed("C"), false),
        staged(typed("D"), true),
    ]);
    conditions.end_staging();
    assert!(!conditions.is_staging());
    assert_eq!(
        types_and_staging(&conditions),
        [("B".into(), true), ("D".into(), true)]
    );
}

// TestConditions_SetCondition
#[test]
fn set_condition() {
    let mut conditions = Conditions::default();
    conditions.set(thing_not_found(), &t0());
    let expected = Condition {
        last_transition_time: t0(),
        ..thing_not_found()
    };
    assert_eq!(conditions.list, std::slice::from_ref(&expected));
    assert!(conditions.list[0].is_staged());

    // Update - no change: the time is kept even though `now` moved on.
    conditions.set(thing_not_found(), &t1());
    assert_eq!(conditions.list.len(), 1);
    assert_eq!(conditions.list, [expected]);
    assert!(conditions.list[0].is_staged());
}

// TestConditions_StageCondition
#[test]
fn stage_condition() {
    let mut conditions = Conditions::from(vec![typed("A"), typed("B"), typed("C"), typed("D")]);
    conditions.stage(&["A", "C", "X"]);
    assert!(!conditions.is_staging());
    assert_eq!(
        types_and_staging(&conditions),
        [
            ("A".into(), true),
            ("B".into(), false),
            ("C".into(), true),
            ("D".into(), false)
        ]
    );
}

// TestConditions_DeleteCondition
#[test]
fn delete_condition() {
    let mut conditions = Conditions::from(vec![
        typed("A"),
        typed("B"),
        typed("C"),
        typed("D"),
        typed("E"),
    ]);
    conditions.delete(&["B", "D"]);
    assert_eq!(
        types_and_staging(&conditions),
        [
            ("A".into(), false),
            ("C".into(), false),
            ("E".into(), false)
        ]
    );
}

// TestConditions_DeleteConditionStaging
#[test]
fn delete_condition_while_staging_unstages() {
    let mut conditions = Conditions::from(vec![
        typed("A"),
        typed("B"),
        typed("C"),
        typed("D"),
        typed("E"),
    ]);
    conditions.begin_staging();
    conditions.delete(&["B", "D"]);
    assert_eq!(conditions.list.len(), 5);
    assert_eq!(
        types_and_staging(&conditions),
        [
            ("A".into(), false),
            ("B".into(), false),
            ("C".into(), false),
            ("D".into(), false),
            ("E".into(), false)
        ]
    );
    assert!(conditions.find("B").is_none());
    conditions.end_staging();
    assert!(conditions.list.is_empty());
}

// TestConditions_FindCondition
#[test]
fn find_condition() {
    let conditions = Conditions::from(vec![typed("A"), typed("B")]);
    assert_eq!(conditions.find("A"), Some(&conditions.list[0]));
    assert_eq!(conditions.find("X"), None);
}

// TestConditions_FindConditionStaging
#[test]
fn find_condition_while_staging() {
    let mut conditions = Conditions::from(vec![staged(typed("A"), true), typed("B")]);
    conditions.staging = true;
    assert_eq!(conditions.find("A"), Some(&conditions.list[0]));
    assert_eq!(conditions.find("B"), None);
}

fn with_status(t: &str, status: &str) -> Condition {
    Condition {
        status: status.into(),
        ..typed(t)
    }
}

// TestConditions_HasCondition
#[test]
fn has_condition() {
    let conditions = Conditions::from(vec![
        with_status("A", status::TRUE),
        with_status("B", status::FALSE),
        with_status("C", status::TRUE),
    ]);
    assert!(conditions.has(&["A", "C"]));
    assert!(!conditions.has(&["X"]));
    assert!(!conditions.has(&["B"]));
    assert!(!conditions.has(&[]), "an empty list of types is never had");
    assert!(!conditions.has(&["A", "B"]), "all must hold");
}

// TestConditions_HasAnyCondition
#[test]
fn has_any_condition() {
    let conditions = Conditions::from(vec![
        with_status("A", status::TRUE),
        with_status("B", status::FALSE),
    ]);
    assert!(conditions.has_any(&["A", "B"]));
    assert!(!conditions.has_any(&["B", "X"]));
    assert!(!conditions.has_any(&[]));
}

// TestConditions_HasConditionStaging
#[test]
fn has_condition_while_staging() {
    let mut conditions = Conditions::from(vec![
        staged(with_status("A", status::TRUE), true),
        with_status("B", status::TRUE),
    ]);
    conditions.staging = true;
    assert!(conditions.has(&["A"]));
    assert!(!conditions.has(&["B"]));
}

fn categorized(t: &str, category: &str, status: &str) -> Condition {
    Condition {
        category: category.into(),
        ..with_status(t, status)
    }
}

// TestConditions_HasConditionCategory
#[test]
fn has_condition_category() {
    let conditions = Conditions::from(vec![
        categorized("A", category::ERROR, status::TRUE),
        categorized("B", category::CRITICAL, status::FALSE),
        categorized("C", category::WARN, status::TRUE),
        categorized("D", category::ERROR, status::FALSE),
    ]);
    assert!(conditions.has_category(&[category::ERROR, category::WARN]));
    assert!(!conditions.has_category(&["X"]));
    assert!(!conditions.has_category(&[category::CRITICAL]));
    assert!(conditions.has_blocker());
    assert!(conditions.has_error());
    assert!(conditions.has_warn());
    assert!(!conditions.has_critical());
}

// TestConditions_HasConditionCategoryStaging
#[test]
fn has_condition_category_while_staging() {
    let mut conditions = Conditions::from(vec![
        staged(categorized("A", category::ERROR, status::TRUE), true),
        categorized("B", category::CRITICAL, status::FALSE),
        staged(categorized("C", category::WARN, status::TRUE), true),
        categorized("D", category::ERROR, status::FALSE),
    ]);
    conditions.staging = true;
    assert!(conditions.has_category(&[category::ERROR, category::WARN]));
    assert!(!conditions.has_category(&[category::CRITICAL]));
}

// TestConditions_ChangeSet
#[test]
fn change_set() {
    let mut conditions = Conditions::from(vec![typed("A"), typed("B"), typed("C"), typed("D")]);
    conditions.begin_staging();
    conditions.set(typed("A"), &t0());
    conditions.set(typed("B"), &t0());
    conditions.set(typed("C"), &t0());
    conditions.set(typed("E"), &t0());
    conditions.set(
        Condition {
            reason: "X".into(),
            ..typed("A")
        },
        &t0(),
    );
    conditions.end_staging();
    let explain = conditions.explain();
    assert_eq!(explain.added.len(), 1);
    assert_eq!(explain.added["E"].r#type, "E");
    assert_eq!(explain.updated.len(), 1);
    assert_eq!(explain.updated["A"].r#type, "A");
    assert_eq!(explain.deleted.len(), 1);
    assert_eq!(explain.deleted["D"].r#type, "D");
    assert_eq!(explain.len(), 3);
}

// --- Beyond upstream's tests ---

#[test]
fn any_field_change_bumps_the_time() {
    let base = Condition::new("T", category::WARN)
        .with_reason("R")
        .with_message("m")
        .with_suggestion("s")
        .with_items(["a"]);
    let changes: Vec<Condition> = vec![
        base.clone().with_status_false(),
        Condition {
            category: category::CRITICAL.into(),
            ..base.clone()
        },
        base.clone().with_reason("R2"),
        base.clone().with_message("m2"),
        base.clone().with_suggestion("s2"),
        base.clone().durable(),
        base.clone().with_items(["a", "b"]),
    ];
    for changed in changes {
        let mut conditions = Conditions::default();
        conditions.set(base.clone(), &t0());
        conditions.set(changed.clone(), &t1());
        assert_eq!(conditions.list.len(), 1, "unique by type");
        assert_eq!(
            conditions.list[0].last_transition_time,
            t1(),
            "change {changed:?} must bump the time"
        );
        assert!(conditions.list[0].equal(&changed));
    }
}

#[test]
fn times_are_truncated_to_seconds() {
    let precise = Time("2024-05-01T10:00:00.987654321Z".parse().unwrap());
    let mut conditions = Conditions::default();
    conditions.set(typed("A"), &precise);
    assert_eq!(conditions.list[0].last_transition_time, t0());
}

#[test]
fn staging_pass_recomputes_and_keeps_durable() {
    let mut conditions = Conditions::default();
    conditions.set(
        Condition::new("Executing", category::ADVISORY).durable(),
        &t0(),
    );
    conditions.set(Condition::new("VMNotFound", category::CRITICAL), &t0());
    conditions.set(Condition::new("Ready", category::REQUIRED), &t0());

    conditions.begin_staging();
    assert!(
        conditions.find("VMNotFound").is_none(),
        "invisible while staging"
    );
    assert!(
        conditions.find("Executing").is_some(),
        "durable stays visible"
    );
    assert!(!conditions.has_blocker());
    conditions.set(Condition::new("Ready", category::REQUIRED), &t1());
    conditions.end_staging();

    let types: Vec<_> = conditions.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(types, ["Executing", "Ready"]);
    assert_eq!(conditions.list[1].last_transition_time, t0(), "unchanged");
    assert_eq!(conditions.explain().deleted.len(), 1);
}

#[test]
fn durable_conditions_can_be_deleted_while_staging() {
    let mut conditions =
        Conditions::from(vec![Condition::new("Failed", category::ADVISORY).durable()]);
    conditions.begin_staging();
    conditions.delete(&["Failed"]);
    assert!(!conditions.has(&["Failed"]));
    conditions.end_staging();
    assert!(conditions.is_empty());
}

#[test]
fn req_and_ready() {
    let mut conditions = Conditions::default();
    assert!(!conditions.has_req());
    assert!(!conditions.is_ready());
    conditions.set(
        Condition::new(types::VALIDATING_VDDK, category::ADVISORY),
        &t0(),
    );
    assert!(conditions.has_req());
    let mut cbt = Conditions::default();
    cbt.set(
        Condition::new(types::VM_MISSING_CHANGED_BLOCK_TRACKING, category::CRITICAL),
        &t0(),
    );
    assert!(cbt.has_req());
    conditions.set(Condition::new(types::READY, category::REQUIRED), &t0());
    assert!(conditions.is_ready());
    conditions.set(
        Condition::new(types::READY, category::REQUIRED).with_status_false(),
        &t0(),
    );
    assert!(!conditions.is_ready());
}

#[test]
fn recompute_keeps_times_and_carries_durable() {
    let previous = vec![
        Condition {
            last_transition_time: t0(),
            ..Condition::new("Executing", category::ADVISORY).durable()
        },
        Condition {
            last_transition_time: t0(),
            ..Condition::new("VMNotFound", category::CRITICAL).with_items([" id:vm-1 name:'a' "])
        },
        Condition {
            last_transition_time: t0(),
            ..Condition::new("NotValid", category::CRITICAL).with_message("old")
        },
    ];
    let findings = vec![
        Condition::new("VMNotFound", category::CRITICAL).with_items([" id:vm-1 name:'a' "]),
        Condition::new("NotValid", category::CRITICAL).with_message("new"),
        Condition::new("Ready", category::REQUIRED),
    ];
    let (list, explain) = recompute(&previous, findings, &t1());
    let summary: Vec<_> = list
        .iter()
        .map(|c| (c.r#type.as_str(), c.last_transition_time.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Executing", t0()),
            ("VMNotFound", t0()),
            ("NotValid", t1()),
            ("Ready", t1())
        ]
    );
    assert_eq!(explain.added.keys().collect::<Vec<_>>(), ["Ready"]);
    assert_eq!(explain.updated.keys().collect::<Vec<_>>(), ["NotValid"]);
    assert!(explain.deleted.is_empty());

    // Nothing found any more: only the durable one stays.
    let (list, explain) = recompute(&list, [], &t1());
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].r#type, "Executing");
    assert_eq!(explain.deleted.len(), 3);
}

#[test]
fn recompute_last_finding_of_a_type_wins() {
    let findings = vec![
        Condition::new("NotValid", category::CRITICAL).with_message("TargetName is invalid."),
        Condition::new("NotValid", category::ADVISORY).with_message("No capacity information"),
    ];
    let (list, _) = recompute(&[], findings, &t0());
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].category, category::ADVISORY);
}

#[test]
fn same_ignoring_times_compares_everything_but_times() {
    let a = vec![Condition {
        last_transition_time: t0(),
        ..Condition::new("A", category::WARN)
    }];
    let mut b = a.clone();
    b[0].last_transition_time = t1();
    assert!(same_ignoring_times(&a, &b));
    b[0].message = "x".into();
    assert!(!same_ignoring_times(&a, &b));
    assert!(!same_ignoring_times(&a, &[]));
}

#[test]
fn serialized_form_matches_upstream() {
    let condition = Condition {
        last_transition_time: t0(),
        ..Condition::new("VMNotFound", category::CRITICAL)
            .with_reason("NotFound")
            .with_message("VM not found.")
            .with_items([" id:vm-1 name:'a' "])
    };
    let json = serde_json::to_string(&Conditions::from(vec![condition])).unwrap();
    assert_eq!(
        json,
        r#"[{"type":"VMNotFound","status":"True","reason":"NotFound","category":"Critical","message":"VM not found.","lastTransitionTime":"2024-05-01T10:00:00Z","items":[" id:vm-1 name:'a' "]}]"#
    );
    let durable = Condition {
        last_transition_time: t0(),
        ..Condition::new("Executing", category::ADVISORY).durable()
    };
    let json = serde_json::to_string(&durable).unwrap();
    assert_eq!(
        json,
        r#"{"type":"Executing","status":"True","category":"Advisory","lastTransitionTime":"2024-05-01T10:00:00Z","durable":true}"#
    );
}

#[test]
fn hostile_condition_lists_are_rejected_or_tolerated_cleanly() {
    let null: Conditions = serde_json::from_str("null").unwrap();
    assert!(null.is_empty());
    let err =
        serde_json::from_str::<Conditions>(r#"[{"type":"A","lastTransitionTime":"not a time"}]"#);
    assert!(err.is_err());
    let err = serde_json::from_str::<Conditions>(r#"{"type":"A"}"#);
    assert!(err.is_err());
}
