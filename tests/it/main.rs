//! rctr's integration tests: one test binary that runs the real `rctr` as the invoking user.
//! The test bed (.ci/run, tests/fixtures/) provides registries and images; see tests/it/harness.rs.
