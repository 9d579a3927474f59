//! rctr: rootless, daemonless containers for Linux workstations.
//!
//! `cli` holds the command line and all output; the engines (`image`, `container`, `runtime`,
//! `storage`, `network`, `build`) take plain option structs, return typed errors, and never print.

pub mod cli;
pub mod config;
pub mod container;
pub mod context;
pub mod exit;
pub mod host;
pub mod image;
pub mod network;
pub mod runtime;
pub mod storage;
