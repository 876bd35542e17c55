//! Leases (coordination.k8s.io/v1), as leader election uses them.

use super::{def, get_path, roundtrip, str_path};
use crate::resource::{Behaviour, Column, Decoded, ResourceDef};
use crate::status::{ApiError, FieldError};
use crate::table::{age_of, name_of};
use k8s_openapi::api::coordination::v1 as coordination;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug)]
struct Lease;

impl Behaviour for Lease {
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn decode(&self, obj: Value, version: &str) -> Result<Decoded, ApiError> {
        roundtrip::<coordination::Lease>(obj, "Lease", version)
    }
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if let Some(d) = get_path(obj, &["spec", "leaseDurationSeconds"]).and_then(Value::as_i64)
            && d <= 0
        {
            errs.push(FieldError::invalid(
                "spec.leaseDurationSeconds",
                d,
                "must be greater than 0",
            ));
        }
        if let Some(t) = get_path(obj, &["spec", "leaseTransitions"]).and_then(Value::as_i64)
            && t < 0
        {
            errs.push(FieldError::invalid(
                "spec.leaseTransitions",
                t,
                "must be greater than or equal to 0",
            ));
        }
        errs
    }
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::name(),
            Column::new("Holder", "string", "", "", 0),
            Column::age(),
        ]
    }
    fn row(&self, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(str_path(obj, &["spec", "holderIdentity"])),
            json!(age_of(obj, now)),
        ]
    }
}

/// `leases` (coordination.k8s.io/v1).
pub fn leases() -> ResourceDef {
    def(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        &[],
        &[],
        true,
        &[],
        Arc::new(Lease),
    )
}
