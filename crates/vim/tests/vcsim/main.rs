//! The client against govmomi's vCenter simulator, one simulator per test on
//! a free loopback port (see `ferry_vim::vcsim`), plus a scripted fake server
//! for hostile responses.

#![allow(clippy::unwrap_used)]

mod common;
mod datastore;
mod hostile;
mod inventory;
mod session;
mod updates;
mod vm_ops;
