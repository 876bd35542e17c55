//! Predicates for `skip_serializing_if` that reproduce Go's `omitempty`.

/// Go omits a `bool` field tagged `omitempty` when it is `false`.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// Go omits a numeric field tagged `omitempty` when it is zero.
pub(crate) fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// Never omit. Used on fields Go always emits but whose CRD schema does not list them as
/// required (`+optional` in upstream's Go): the *serialize* schema contract treats a field
/// with `skip_serializing_if` as optional.
pub(crate) fn never<T>(_: &T) -> bool {
    false
}
