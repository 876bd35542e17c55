//! A whole simulated cluster on one machine, and `ferry sandbox`.
//!
//! [`cluster`] holds the simulated cluster components ("actors"): each is a small
//! controller on a [`kube::Client`] that behaves, as seen through the Kubernetes API, as
//! the real component does — CDI (DataVolumes, importer pods), a storage provisioner and
//! PV binder, a kubelet (pods with loopback IPs, running known workloads in process: the
//! virt-v2v conversion, CDI's importer, hook playbooks), the Job controller and KubeVirt.
//! They only need a client, so they run the same on Ferry's embedded API server and on a
//! real kube-apiserver.
//!
//! [`sandbox`] is `ferry sandbox`: the API server, the actors, the controller and the
//! OVA inventory in one process, migrating sample VMs end to end.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod sandbox;
