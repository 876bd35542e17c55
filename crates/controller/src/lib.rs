//! The Ferry manager: wires the provider, map, hook, host, migration and plan
//! controllers onto kube-runtime.
