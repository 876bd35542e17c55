//! Migration execution (plan spec §3–§5): runs and their snapshots, the itinerary engine,
//! pipelines and the scheduler.

pub mod action;
mod begin;
pub mod blocker;
mod cleanup;
mod engine;
pub mod itinerary;
pub mod objects;
mod phases;
pub mod pipeline;
pub mod progress;
pub mod scheduler;
pub mod snapshot;

pub mod settle;

pub use engine::{
    CONVERSION_POLL, Decision, ExecuteError, Input, QUEUE_POLL, SOURCE_POLL, archive, decide,
};
pub use settle::{Apply, Settled, settle};
