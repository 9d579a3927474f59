//! Container sizes for `ps --size` and `inspect --size`, from the container's record and its
//! image (see `container::size`). Callers are root in rctr's user namespace.

use crate::container::size::{self, Sizes};
use crate::container::state::Containers;
use crate::container::ContainerRecord;
use crate::image::Store;
use anyhow::{Context as _, Result};

/// The sizes of container `rec`.
pub fn sizes(store: &Store, containers: &Containers, rec: &ContainerRecord) -> Result<Sizes> {
    let image = store
        .resolve(&rec.image_id)
        .with_context(|| format!("the image of container `{}` is gone", rec.name))?;
    size::sizes(
        rec.driver,
        &containers.dir(&rec.id),
        &store.layer_dirs(&image),
        image.size,
    )
    .with_context(|| format!("cannot measure container `{}`", rec.name))
}
