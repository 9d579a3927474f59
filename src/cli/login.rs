//! `login` and `logout`: store and remove registry credentials in podman's auth.json.

use crate::context::Context;
use crate::image::auth::{self, normalize_registry, AuthFile, TlsOptions};
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum LoginCommand {
    /// Log in to a container registry
    Login(LoginArgs),
    /// Log out of a container registry
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username for the registry
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password for the registry
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
    /// Path of the credentials file (default: $XDG_RUNTIME_DIR/containers/auth.json)
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates (default: true unless the registry is insecure)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// Directory with certificates (*.crt, *.cert, *.key) for the registry
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Print the user name stored for the registry and exit
    #[arg(long)]
    pub get_login: bool,
    /// Registry to log in to (default: the first search registry)
    pub registry: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Path of the credentials file (default: $XDG_RUNTIME_DIR/containers/auth.json)
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Remove the credentials of every registry
    #[arg(short, long, conflicts_with = "registry")]
    pub all: bool,
    /// Registry to log out of (default: the first search registry)
    pub registry: Option<String>,
}

pub fn dispatch(ctx: &Context, cmd: LoginCommand) -> Result<i32> {
    match cmd {
        LoginCommand::Login(a) => login(ctx, a),
        LoginCommand::Logout(a) => logout(ctx, a),
    }
}

/// The registry a command acts on: the argument, normalised, or the first search registry.
fn registry_key(ctx: &Context, arg: Option<&str>) -> Result<String> {
    match arg {
        Some(r) => Ok(normalize_registry(r)),
        None => ctx
            .config
            .registries
            .search
            .first()
            .map(|r| normalize_registry(r))
            .context("no registry given, and no search registries are configured"),
    }
}

fn login(ctx: &Context, a: LoginArgs) -> Result<i32> {
    let key = registry_key(ctx, a.registry.as_deref())?;
    let host = key.split('/').next().unwrap_or(&key).to_string();
    let authfile = a.authfile.clone().unwrap_or_else(|| ctx.auth_file());
    let files = auth::auth_files(ctx, a.authfile.as_deref());
    if a.get_login {
        return match auth::lookup(&files, &key)? {
            Some((user, _)) => {
                println!("{user}");
                Ok(0)
            }
            None => bail!("not logged into {key}"),
        };
    }
    if a.password_stdin && a.username.is_none() {
        bail!("must provide --username with --password-stdin");
    }
    let tls = TlsOptions {
        verify: a.tls_verify.unwrap_or(!ctx.config.is_insecure(&host)),
        cert_dirs: match &a.cert_dir {
            Some(d) => vec![d.clone()],
            None => ctx.certs_dirs().iter().map(|d| d.join(&host)).collect(),
        },
    };
    let rt = super::tokio_runtime()?;
    let verify = |user: &str, pass: &str| rt.block_on(auth::verify_login(&key, user, pass, &tls));

    // With no user or password given, reuse stored credentials when they still work.
    if a.username.is_none() && a.password.is_none() {
        if let Some((user, pass)) = auth::lookup(&files, &key)? {
            println!("Authenticating with existing credentials for {key}");
            match verify(&user, &pass) {
                Ok(()) => {
                    println!("Existing credentials are valid. Already logged in to {key}");
                    return Ok(0);
                }
                Err(e) => {
                    ::log::debug!("{e}");
                    println!("Existing credentials are invalid, please enter valid username and password");
                }
            }
        }
    }
    let mut stdin = std::io::stdin().lock();
    let user = match a.username {
        Some(u) => u,
        None => prompt_line(&mut stdin, "Username: ")?,
    };
    let pass = match (a.password, a.password_stdin) {
        (Some(p), _) => p,
        (None, true) => {
            let mut s = String::new();
            stdin
                .read_to_string(&mut s)
                .context("cannot read the password from standard input")?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt_password(&mut stdin)?,
    };
    if user.is_empty() {
        bail!("username is required to log into {key}");
    }
    if pass.is_empty() {
        bail!("password is required to log into {key}");
    }
    verify(&user, &pass)?;
    let mut file = AuthFile::load(&authfile)?;
    file.set(&key, &user, &pass);
    file.save()?;
    println!("Login Succeeded!");
    Ok(0)
}

fn prompt_line(stdin: &mut impl BufRead, prompt: &str) -> Result<String> {
    print!("{prompt}");
    std::io::stdout().flush().ok();
    let mut s = String::new();
    stdin
        .read_line(&mut s)
        .context("cannot read from standard input")?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a password, with echo turned off when standard input is a terminal.
fn prompt_password(stdin: &mut impl BufRead) -> Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let tty = std::io::stdin();
    if !tty.is_terminal() {
        return prompt_line(stdin, "Password: ");
    }
    let saved = tcgetattr(&tty).context("cannot read the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&tty, SetArg::TCSANOW, &quiet).context("cannot turn off terminal echo")?;
    let read = prompt_line(stdin, "Password: ");
    let _ = tcsetattr(&tty, SetArg::TCSANOW, &saved);
    read
}

fn logout(ctx: &Context, a: LogoutArgs) -> Result<i32> {
    let authfile = a.authfile.clone().unwrap_or_else(|| ctx.auth_file());
    let mut file = AuthFile::load(&authfile)?;
    if a.all {
        file.clear();
        file.save()?;
        println!("Removed login credentials for all registries");
        return Ok(0);
    }
    let key = registry_key(ctx, a.registry.as_deref())?;
    if file.remove(&key) {
        file.save()?;
        println!("Removed login credentials for {key}");
        return Ok(0);
    }
    let docker = ctx.docker_config_file();
    if AuthFile::load(&docker).is_ok_and(|d| d.contains(&key)) {
        bail!(
            "not logged into {key} with rctr: the credentials in `{}` were stored by docker login; \
             use `docker logout {key}` to remove them",
            docker.display()
        );
    }
    bail!("not logged into {key}")
}
