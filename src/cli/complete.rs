//! Dynamic shell completion: the names of containers, images and volumes, read from the store
//! each time the shell asks (`COMPLETE=bash rctr ...`). Candidates are attached centrally, by the
//! value name each argument declares (`CONTAINER`, `IMAGE`, `VOLUME`), so command files stay
//! plain clap definitions.

use crate::context::{Context, Overrides};
use clap::{Arg, Command};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

/// Adds name candidates to every positional argument in `cmd` and its subcommands whose value
/// name (or field name) says what it holds. The whole tree is built first: the subcommands'
/// arguments are deferred until then (see `generate::tests::argument_structs_have_no_doc_comments`).
pub fn with_dynamic_names(mut cmd: Command) -> Command {
    cmd.build();
    walk(cmd, false)
}

fn walk(cmd: Command, under_volume: bool) -> Command {
    // `volume rm NAME...` names existing volumes; `volume create NAME` names a new one.
    let volumes_here = under_volume && cmd.get_name() != "create";
    let is_volume = cmd.get_name() == "volume";
    cmd.mut_args(move |a| attach(a, volumes_here))
        .mut_subcommands(move |c| walk(c, is_volume))
}

fn attach(arg: Arg, volumes_here: bool) -> Arg {
    if !arg.is_positional() {
        return arg;
    }
    let name = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    let word = name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('S');
    match word {
        "CONTAINER" => arg.add(ArgValueCandidates::new(containers)),
        "IMAGE" => arg.add(ArgValueCandidates::new(images)),
        "VOLUME" => arg.add(ArgValueCandidates::new(volumes)),
        "NETWORK" => arg.add(ArgValueCandidates::new(networks)),
        "NAME" if volumes_here => arg.add(ArgValueCandidates::new(volumes)),
        _ => arg,
    }
}

fn context() -> Option<Context> {
    Context::resolve(&Overrides::default()).ok()
}

fn containers() -> Vec<CompletionCandidate> {
    let Some(ctx) = context() else {
        return Vec::new();
    };
    let Ok(list) = crate::container::state::Containers::open(&ctx.root).and_then(|c| c.list())
    else {
        return Vec::new();
    };
    list.into_iter()
        .map(|c| {
            CompletionCandidate::new(c.name)
                .help(Some(c.id[..12.min(c.id.len())].to_string().into()))
        })
        .collect()
}

fn images() -> Vec<CompletionCandidate> {
    let Some(ctx) = context() else {
        return Vec::new();
    };
    let Ok(list) = crate::image::Store::open(&ctx.root).and_then(|s| s.images()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for img in list {
        for n in &img.names {
            out.push(CompletionCandidate::new(n.clone()));
            // Short forms as users type them: `busybox:latest` for docker.io/library/busybox:latest.
            if let Some(short) = n.strip_prefix("docker.io/library/") {
                out.push(CompletionCandidate::new(short.to_string()));
            }
        }
    }
    out
}

fn volumes() -> Vec<CompletionCandidate> {
    let Some(ctx) = context() else {
        return Vec::new();
    };
    let Ok(list) = crate::container::volumes::Volumes::open(&ctx.root).and_then(|v| v.list())
    else {
        return Vec::new();
    };
    list.into_iter()
        .map(|v| CompletionCandidate::new(v.name))
        .collect()
}

fn networks() -> Vec<CompletionCandidate> {
    let Some(ctx) = context() else {
        return Vec::new();
    };
    let mut out = vec![CompletionCandidate::new(
        crate::network::user::config::DEFAULT_NETWORK,
    )];
    if let Ok(list) = crate::network::user::Networks::open(&ctx.root).and_then(|n| n.list()) {
        out.extend(
            list.into_iter().map(|n| {
                CompletionCandidate::new(n.name).help(Some(n.id[..12].to_string().into()))
            }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn find<'a>(cmd: &'a Command, path: &[&str]) -> &'a Command {
        path.iter().fold(cmd, |c, name| {
            c.find_subcommand(name)
                .unwrap_or_else(|| panic!("no subcommand {name}"))
        })
    }

    fn has_candidates(cmd: &Command, arg: &str) -> bool {
        cmd.get_arguments()
            .find(|a| a.get_id() == arg)
            .unwrap()
            .get::<ArgValueCandidates>()
            .is_some()
    }

    #[test]
    fn names_are_attached_by_what_the_argument_holds() {
        let cmd = with_dynamic_names(crate::cli::Cli::command());
        assert!(has_candidates(find(&cmd, &["volume", "rm"]), "names"));
        assert!(!has_candidates(find(&cmd, &["volume", "create"]), "name"));
        assert!(has_candidates(find(&cmd, &["rm"]), "containers"));
        assert!(has_candidates(find(&cmd, &["rmi"]), "images"));
        assert!(has_candidates(find(&cmd, &["network", "rm"]), "networks"));
        assert!(has_candidates(
            find(&cmd, &["network", "connect"]),
            "network"
        ));
    }
}
