//! Hands a built spec to the runtime and maps its outcome to rctr's exit policy.

use crate::container::options::CreateOptions;
use anyhow::Result;
use oci_spec::runtime::Spec;

/// Runs the container in the foreground and returns its exit code.
pub fn run(spec: &Spec, opts: &CreateOptions, interactive: bool) -> Result<i32> {
    let _ = (spec, opts, interactive);
    anyhow::bail!("the runtime is not available in this build")
}
