//! A whole simulated cluster on one machine: the embedded API server, simulated
//! CDI, KubeVirt and pods, and `ferry sandbox`.
