//! rctr's integration tests: one test binary that runs the real `rctr` as the invoking user.
//! The test bed (tests/run, tests/fixtures/) provides registries and fixture images.

mod harness;
mod runtime;
mod system;
