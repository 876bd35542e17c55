//! An embedded Kubernetes-compatible API server. It knows nothing of Ferry.
