//! rctr's integration tests: one test binary that runs the real `rctr` as the invoking user.
//! The test bed (tests/run, tests/fixtures/) provides registries and fixture images.

mod archive;
mod detach;
mod doctor;
mod exec;
mod harness;
mod hostile;
mod images;
mod isolation;
mod lifecycle;
mod login;
mod logs;
mod netmodes;
mod netuser;
mod network;
mod pull;
mod run;
mod runtime;
mod storage;
mod system;
mod testbed;
mod volume;
