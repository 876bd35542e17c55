//! Destination objects Ferry writes and reads: KubeVirt `VirtualMachine` and
//! `VirtualMachineInstance`, CDI `DataVolume`, Multus `NetworkAttachmentDefinition`.
//!
//! Only the fields Ferry sets or reads are typed. Every typed level keeps the rest in a
//! flattened `extra` map, so a read-modify-write of an object written by KubeVirt, CDI or
//! a user loses nothing.

pub mod cdi;
pub mod kubevirt;
pub mod nad;

pub use cdi::DataVolume;
pub use kubevirt::{VirtualMachine, VirtualMachineInstance};
pub use nad::NetworkAttachmentDefinition;

use serde_json::Value;
use std::collections::BTreeMap;

/// A JSON object whose fields Ferry does not interpret; also used for marker objects such
/// as `bios: {}` or `masquerade: {}`.
pub type Object = BTreeMap<String, Value>;
