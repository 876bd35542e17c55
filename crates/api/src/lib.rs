//! Forklift's `forklift.konveyor.io/v1beta1` API for Ferry: the kinds, the condition
//! model, references, CRD generation, and the destination types Ferry writes.
