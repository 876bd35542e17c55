//! Structural OpenAPI v3 schemas as a Kubernetes API server applies them to custom
//! resources: validation with field-path causes, defaulting, pruning, and the JSONPath
//! subset used by printer columns.
