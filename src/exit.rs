//! rctr's exit-code policy, shared with podman and docker:
//! 125 when rctr itself fails, 126 when the container command cannot be invoked, 127 when it is
//! not found, otherwise the container's own status (128+N when it dies of signal N).

/// rctr itself failed.
pub const FAILURE: i32 = 125;
/// The container command exists but cannot be invoked.
pub const CANNOT_INVOKE: i32 = 126;
/// The container command was not found.
pub const NOT_FOUND: i32 = 127;

/// An error that carries its own exit code. Wrap an error in it where the code is not 125.
/// Its message is the wrapped error's whole chain, so it deliberately exposes no `source()`:
/// otherwise `{:#}` would print that chain twice.
#[derive(Debug, thiserror::Error)]
#[error("{inner:#}")]
pub struct Coded {
    pub code: i32,
    pub inner: anyhow::Error,
}

/// Attaches an exit code to an error.
pub fn with_code(code: i32, source: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        code,
        inner: source.into(),
    })
}

/// The exit code an error should produce: the first [`Coded`] in its chain, else 125.
pub fn code_of(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Coded>().map(|c| c.code))
        .unwrap_or(FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn code_survives_context() {
        let e: anyhow::Result<()> = Err(with_code(127, anyhow::anyhow!("x: not found")));
        let e = e.context("running container c1").unwrap_err();
        assert_eq!(code_of(&e), 127);
        assert_eq!(format!("{e:#}"), "running container c1: x: not found");
        assert_eq!(code_of(&anyhow::anyhow!("plain")), 125);
    }
}
