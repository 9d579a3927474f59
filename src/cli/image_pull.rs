//! `rctr pull`: the command and its progress display (one indicatif bar per layer on a TTY,
//! podman's plain lines otherwise, nothing with `-q`).

use crate::context::Context;
use crate::image::{self, PullOptions, PullReporter};
use anyhow::{Context as _, Result};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image to pull: a name (short names use the configured search registries), name:tag or name@digest
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<String>,
    /// Print only the image id
    #[arg(short, long)]
    pub quiet: bool,
    /// Pull the image for this platform (os/arch[/variant]) instead of this machine's
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Require HTTPS and verify certificates (false also allows plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
}

/// Pulls each image and prints its id, as podman does.
pub fn pull(ctx: &Context, args: PullArgs) -> Result<i32> {
    super::enter_userns(ctx)?;
    let opts = PullOptions {
        platform: args.platform.clone(),
        tls_verify: args.tls_verify,
    };
    for name in &args.images {
        let reporter = Progress::new(args.quiet);
        let rec = image::pull(ctx, name, &opts, &reporter)
            .with_context(|| format!("cannot pull `{name}`"))?;
        reporter.finish();
        println!("{}", rec.id);
    }
    Ok(0)
}

/// How pull progress is shown.
pub struct Progress {
    mode: Mode,
    bars: Mutex<HashMap<String, ProgressBar>>,
    multi: MultiProgress,
}

#[derive(PartialEq)]
enum Mode {
    Quiet,
    Lines,
    Bars,
}

impl Progress {
    /// Bars on a TTY without NO_COLOR, plain lines otherwise, nothing when `quiet`.
    pub fn new(quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let mode = if quiet {
            Mode::Quiet
        } else if tty && !no_color {
            Mode::Bars
        } else {
            Mode::Lines
        };
        let multi = MultiProgress::with_draw_target(if mode == Mode::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Progress {
            mode,
            bars: Mutex::new(HashMap::new()),
            multi,
        }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        let _ = self.multi.clear();
    }
}

fn short(digest: &str) -> &str {
    let hex = digest.trim_start_matches("sha256:");
    &hex[..hex.len().min(12)]
}

impl PullReporter for Progress {
    fn trying(&self, image: &str) {
        if self.mode != Mode::Quiet {
            let _ = self.multi.println(format!("Trying to pull {image}..."));
            if self.mode == Mode::Lines {
                eprintln!("Trying to pull {image}...");
            }
        }
    }

    fn layer_start(&self, digest: &str, size: u64) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => eprintln!("Copying blob {}", short(digest)),
            Mode::Bars => {
                let bar = self.multi.add(ProgressBar::new(size));
                bar.set_style(
                    ProgressStyle::with_template(
                        "Copying blob {prefix} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec}",
                    )
                    .expect("valid progress template"),
                );
                bar.set_prefix(short(digest).to_string());
                self.bars.lock().unwrap().insert(digest.to_string(), bar);
            }
        }
    }

    fn layer_progress(&self, digest: &str, n: u64) {
        if let Some(b) = self.bars.lock().unwrap().get(digest) {
            b.inc(n);
        }
    }

    fn layer_done(&self, digest: &str, cached: bool) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines if cached => {
                eprintln!("Copying blob {} skipped: already exists", short(digest))
            }
            Mode::Lines => {}
            Mode::Bars => {
                if let Some(b) = self.bars.lock().unwrap().get(digest) {
                    b.finish_with_message("done");
                } else if cached {
                    let _ = self.multi.println(format!(
                        "Copying blob {} skipped: already exists",
                        short(digest)
                    ));
                }
            }
        }
    }
}
