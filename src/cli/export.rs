//! `rctr export` (and `rctr container export`): a container's filesystem as a tar; and
//! `rctr import`: an image from such a tarball, as podman has them.

use crate::container::diff::{self, Changed};
use crate::container::state::Containers;
use crate::context::Context;
use crate::image::store::manage::qualify_new_name;
use crate::image::store::newimage::{self, ManifestFormat, NewImage};
use crate::image::store::Store;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, default is STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `rctr export`.
pub fn export(ctx: &Context, a: ExportArgs) -> Result<i32> {
    use std::io::IsTerminal;
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("refusing to export to terminal. Use -o flag or redirect");
    }
    super::enter_userns(ctx)?;
    let store = Store::open(&ctx.root).context("cannot open the image store")?;
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(&a.container)?;
    let image = store
        .resolve(&rec.image_id)
        .with_context(|| format!("the image of container `{}` is gone", rec.name))?;
    let dir = diff::changed_dir(rec.driver, &containers.dir(&rec.id));
    let changed = match rec.driver {
        crate::storage::DriverKind::Vfs => Changed::Copy(&dir),
        _ => Changed::Upper(&dir),
    };
    let lower = store.layer_dirs(&image);
    let what = || format!("cannot export container `{}`", rec.name);
    match &a.output {
        Some(p) => {
            // Written beside the target and renamed, so a failed export leaves no partial file.
            let parent = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(parent)
                .with_context(|| format!("cannot create a file in `{}`", parent.display()))?;
            crate::container::export::export(
                changed,
                &lower,
                std::io::BufWriter::with_capacity(256 * 1024, tmp.as_file_mut()),
            )
            .with_context(what)?;
            tmp.persist(p)
                .with_context(|| format!("cannot write `{}`", p.display()))?;
        }
        None => {
            let out = std::io::stdout().lock();
            crate::container::export::export(
                changed,
                &lower,
                std::io::BufWriter::with_capacity(256 * 1024, out),
            )
            .with_context(what)?;
        }
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Set the architecture of the imported image
    #[arg(long)]
    pub arch: Option<String>,
    /// Set the OS of the imported image
    #[arg(long)]
    pub os: Option<String>,
    /// Set the variant of the imported image
    #[arg(long)]
    pub variant: Option<String>,
    /// Apply an instruction to the image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL,
    /// USER, VOLUME or WORKDIR (repeatable)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Set a commit message for the imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// The tarball (plain, gzip or zstd), or - for stdin
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The new image's name (default: none)
    #[arg(value_name = "REFERENCE")]
    pub reference: Option<String>,
}

/// `rctr import`.
pub fn import(ctx: &Context, a: ImportArgs) -> Result<i32> {
    if a.file.starts_with("http://") || a.file.starts_with("https://") {
        bail!(
            "cannot import `{}`: importing from a URL is not supported; download the tarball and import the file",
            a.file
        );
    }
    super::commit::check_changes(&a.change)?;
    let names = match &a.reference {
        Some(n) => vec![qualify_new_name(n)?
            .tagged_name()
            .expect("qualified names have a tag")],
        None => Vec::new(),
    };
    let mut input: Box<dyn Read> = if a.file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(&a.file).with_context(|| format!("cannot open `{}`", a.file))?)
    };
    super::enter_userns(ctx)?;
    let store = Store::open(&ctx.root).context("cannot open the image store")?;
    let say = |s: &str| {
        if !a.quiet {
            eprintln!("{s}");
        }
    };
    say("Getting image source signatures");
    let source = if a.file == "-" { "stdin" } else { &a.file };
    let (digest, size) = store
        .write_layer_blob(|w| {
            let mut r = crate::image::unpack::decompressor(&mut input)?;
            std::io::copy(&mut r, w).map(drop)
        })
        .with_context(|| format!("cannot read the tarball `{source}`"))?;
    say(&format!("Copying blob {digest}"));
    let mut config = newimage::base_config();
    for (key, value) in [
        ("architecture", &a.arch),
        ("os", &a.os),
        ("variant", &a.variant),
    ] {
        if let Some(v) = value {
            config[key] = v.clone().into();
        }
    }
    crate::image::change::apply_all(&mut config, &a.change)?;
    let img = store
        .add_layer_image(
            &digest,
            size,
            NewImage {
                parent: None,
                config,
                author: None,
                created_by: "/bin/sh -c #(nop) ADD file in / ",
                comment: Some(a.message.as_deref().unwrap_or("imported from tarball")),
                format: ManifestFormat::Oci,
                names,
            },
        )
        .with_context(|| format!("cannot import `{source}`"))?;
    say(&format!("Copying config sha256:{}", img.id));
    say("Writing manifest to image destination");
    say("Storing signatures");
    super::commit::finish(&img.id, None)
}
