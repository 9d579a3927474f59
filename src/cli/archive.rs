//! `save` and `load`: image archives in docker-archive and oci-archive formats.

use crate::context::Context;
use crate::image::archive::{self, ArchiveReporter, Format, SaveImage};
use crate::image::store::{self, ImageRecord, Store};
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ArchiveCommand {
    /// Save images to an archive
    Save(SaveArgs),
    /// Load images from an archive
    Load(LoadArgs),
}

/// Archive formats, named as podman names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// docker's format: manifest.json and uncompressed layer tars
    DockerArchive,
    /// A tarred OCI image layout
    OciArchive,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to this file (default: standard output, which must not be a terminal)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(long, value_enum, default_value = "docker-archive")]
    pub format: FormatArg,
    /// Save every IMAGE as its own image; without it, the names after the first are extra tags
    /// for the first image
    #[arg(short = 'm', long)]
    pub multi_image_archive: bool,
    /// Do not show progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Images to save
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this archive (default: standard input)
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Do not show progress
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn dispatch(ctx: &Context, cmd: ArchiveCommand) -> Result<i32> {
    match cmd {
        ArchiveCommand::Save(a) => save(ctx, a),
        ArchiveCommand::Load(a) => load(ctx, a),
    }
}

/// Prints podman's copy progress lines on stderr.
struct Progress;

impl ArchiveReporter for Progress {
    fn blob(&self, digest: &str) {
        eprintln!("Copying blob {digest}");
    }
    fn config(&self, digest: &str) {
        eprintln!("Copying config {digest}");
    }
    fn manifest(&self) {
        eprintln!("Writing manifest to image destination");
    }
}

fn reporter(quiet: bool) -> &'static dyn ArchiveReporter {
    if quiet {
        &archive::Quiet
    } else {
        &Progress
    }
}

/// The names of `rec` that `arg` refers to: none when it was given by id (the image is then
/// saved unnamed, as podman and docker do), else the full name it resolved to.
fn names_for(rec: &ImageRecord, arg: &str) -> Vec<String> {
    rec.names
        .iter()
        .filter(|n| {
            let only = ImageRecord {
                id: String::new(),
                names: vec![(*n).clone()],
                repo_digests: Vec::new(),
                ..rec.clone()
            };
            store::find(&[only], arg).is_ok()
        })
        .cloned()
        .collect()
}

fn save(ctx: &Context, a: SaveArgs) -> Result<i32> {
    let format = match a.format {
        FormatArg::DockerArchive => Format::DockerArchive,
        FormatArg::OciArchive => Format::OciArchive,
    };
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("refusing to save to terminal. Use -o flag or redirect");
    }
    let store = Store::open(&ctx.root)?;
    let mut images: Vec<SaveImage> = Vec::new();
    let resolve = |arg: &str| -> Result<ImageRecord> {
        store
            .resolve(arg)
            .with_context(|| format!("cannot save `{arg}`"))
    };
    if a.multi_image_archive {
        for arg in &a.images {
            let rec = resolve(arg)?;
            let names = names_for(&rec, arg);
            match images.iter_mut().find(|i| i.record.id == rec.id) {
                Some(i) => {
                    for n in names {
                        if !i.names.contains(&n) {
                            i.names.push(n);
                        }
                    }
                }
                None => images.push(SaveImage { record: rec, names }),
            }
        }
    } else {
        let rec = resolve(&a.images[0])?;
        let mut names = names_for(&rec, &a.images[0]);
        for tag in &a.images[1..] {
            let r = crate::image::reference::ImageRef::parse_normalized(tag)
                .with_context(|| format!("invalid tag `{tag}` for `{}`", a.images[0]))?;
            let n = r
                .tagged_name()
                .with_context(|| format!("`{tag}` is not a tag: it has a digest and no tag"))?;
            if !names.contains(&n) {
                names.push(n);
            }
        }
        images.push(SaveImage { record: rec, names });
    }
    let rep = reporter(a.quiet);
    match &a.output {
        Some(path) => {
            // Written beside the destination and renamed into place, so a failed save never
            // leaves a truncated archive under the requested name.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::Builder::new()
                .prefix(".rctr-save-")
                .tempfile_in(dir)
                .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
            let name = path.display().to_string();
            let out = std::io::BufWriter::with_capacity(1 << 20, tmp);
            let out = archive::save(&store, &images, format, out, &name, rep)?;
            let tmp = out
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("cannot write `{name}`"))?;
            tmp.as_file()
                .sync_all()
                .with_context(|| format!("cannot write `{name}`"))?;
            // Archives are not secret; give them the usual mode instead of the temp file's 0600.
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644));
            tmp.persist(path)
                .map_err(|e| e.error)
                .with_context(|| format!("cannot write `{name}`"))?;
        }
        None => {
            let stdout = std::io::stdout().lock();
            let out = std::io::BufWriter::with_capacity(1 << 20, stdout);
            let mut out = archive::save(&store, &images, format, out, "stdout", rep)?;
            out.flush().context("cannot write the archive to stdout")?;
        }
    }
    Ok(0)
}

fn load(ctx: &Context, a: LoadArgs) -> Result<i32> {
    // Opened before entering the user namespace, so the error names the file as the user sees it.
    let (input, name): (Box<dyn std::io::Read>, String) = match &a.input {
        Some(p) => (
            Box::new(
                std::fs::File::open(p)
                    .with_context(|| format!("cannot open archive `{}`", p.display()))?,
            ),
            p.display().to_string(),
        ),
        None => {
            if std::io::stdin().is_terminal() {
                bail!(
                    "cannot read from terminal, use command-line redirection or the --input flag"
                );
            }
            (Box::new(std::io::stdin()), "stdin".to_string())
        }
    };
    // Layer files get the owners recorded in the archive, which needs the full id mapping.
    super::enter_userns(ctx)?;
    let store = Store::open(&ctx.root)?;
    store.clean_temps();
    let loaded = archive::load(&store, input, &name, reporter(a.quiet))?;
    for img in loaded {
        if img.names.is_empty() {
            println!("Loaded image: sha256:{}", img.id);
        }
        for n in img.names {
            println!("Loaded image: {n}");
        }
    }
    Ok(0)
}
