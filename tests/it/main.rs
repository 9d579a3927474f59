//! rctr's integration tests: one test binary that runs the real `rctr` as the invoking user.
//! The test bed (tests/run, tests/fixtures/) provides registries and fixture images.

mod doctor;
mod harness;
mod login;
mod hostile;
mod images;
mod pull;
mod system;
mod testbed;
mod runtime;
mod isolation;
mod run;
mod storage;
mod volume;
