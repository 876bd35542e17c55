//! Migration execution (plan spec §3–§5): runs and their snapshots, the itinerary engine,
//! pipelines and the scheduler.

pub mod blocker;
pub mod itinerary;
pub mod pipeline;
pub mod scheduler;
pub mod snapshot;
