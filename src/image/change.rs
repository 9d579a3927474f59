//! `--change` instructions for `commit` and `import`: a Dockerfile instruction applied to an
//! image config, written as podman accepts it: `CMD ["a","b"]`, `CMD a b` (shell form, run with
//! `/bin/sh -c`), or `CMD=a b`, for CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL,
//! USER, VOLUME and WORKDIR.

use serde_json::{json, Map, Value};

/// Errors in a `--change` instruction, quoting it.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("invalid change `{change}`: {message}")]
    Invalid { change: String, message: String },
    #[error("invalid change `{0}`: unknown instruction; valid are CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR")]
    Unknown(String),
}

fn invalid(change: &str, message: &str) -> ChangeError {
    ChangeError::Invalid {
        change: change.to_string(),
        message: message.to_string(),
    }
}

/// Applies each change, in order, to `config` (an OCI image config's JSON; its `config` object
/// is created when missing).
pub fn apply_all(config: &mut Value, changes: &[String]) -> Result<(), ChangeError> {
    for c in changes {
        apply(config, c)?;
    }
    Ok(())
}

/// Splits `INSTR args` or `INSTR=args`.
fn split(change: &str) -> Option<(String, &str)> {
    let t = change.trim_start();
    let end = t.find(|c: char| c.is_whitespace() || c == '=')?;
    let (instr, rest) = t.split_at(end);
    Some((instr.to_ascii_uppercase(), rest[1..].trim()))
}

/// Applies one change.
pub fn apply(config: &mut Value, change: &str) -> Result<(), ChangeError> {
    let (instr, args) = split(change).ok_or_else(|| invalid(change, "no arguments"))?;
    if !config.get("config").is_some_and(Value::is_object) {
        config["config"] = json!({});
    }
    let cfg = config["config"]
        .as_object_mut()
        .expect("made an object above");
    match instr.as_str() {
        "CMD" => {
            cfg.insert("Cmd".into(), command(change, args)?.into());
        }
        "ENTRYPOINT" => {
            cfg.insert("Entrypoint".into(), command(change, args)?.into());
        }
        "ENV" => {
            let pairs = pairs(change, args)?;
            let env = cfg.entry("Env").or_insert_with(|| json!([]));
            let list = env
                .as_array_mut()
                .ok_or_else(|| invalid(change, "Env is not a list"))?;
            for (k, v) in pairs {
                list.retain(|e| {
                    e.as_str().and_then(|s| s.split_once('=')).map(|(n, _)| n) != Some(&k)
                });
                list.push(format!("{k}={v}").into());
            }
        }
        "LABEL" => {
            let pairs = pairs(change, args)?;
            let labels = object(cfg, "Labels");
            for (k, v) in pairs {
                labels.insert(k, v.into());
            }
        }
        "EXPOSE" => {
            let ports = object(cfg, "ExposedPorts");
            for p in args.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                if num.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                    return Err(invalid(change, &format!("`{p}` is not PORT[/PROTOCOL]")));
                }
                ports.insert(format!("{num}/{proto}"), json!({}));
            }
        }
        "VOLUME" => {
            let list = if args.starts_with('[') {
                json_list(change, args)?
            } else {
                args.split_whitespace().map(String::from).collect()
            };
            let vols = object(cfg, "Volumes");
            for v in list {
                vols.insert(v, json!({}));
            }
        }
        "WORKDIR" => {
            let prev = cfg.get("WorkingDir").and_then(Value::as_str).unwrap_or("/");
            let wd = if args.starts_with('/') {
                args.to_string()
            } else {
                format!("{}/{args}", prev.trim_end_matches('/'))
            };
            cfg.insert("WorkingDir".into(), wd.into());
        }
        "USER" => {
            cfg.insert("User".into(), args.into());
        }
        "STOPSIGNAL" => {
            cfg.insert("StopSignal".into(), args.into());
        }
        "ONBUILD" => {
            let list = cfg.entry("OnBuild").or_insert_with(|| json!([]));
            if let Some(l) = list.as_array_mut() {
                l.push(args.into());
            }
        }
        _ => return Err(ChangeError::Unknown(change.to_string())),
    }
    if args.is_empty() && !matches!(instr.as_str(), "CMD" | "ENTRYPOINT") {
        return Err(invalid(change, "no arguments"));
    }
    Ok(())
}

fn object<'a>(cfg: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = cfg.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("made an object above")
}

/// CMD and ENTRYPOINT: the JSON (exec) form, or the shell form run with `/bin/sh -c`.
fn command(change: &str, args: &str) -> Result<Vec<String>, ChangeError> {
    if args.starts_with('[') {
        if let Ok(l) = json_list(change, args) {
            return Ok(l);
        }
    }
    if args.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec!["/bin/sh".into(), "-c".into(), args.into()])
}

fn json_list(change: &str, args: &str) -> Result<Vec<String>, ChangeError> {
    serde_json::from_str(args)
        .map_err(|e| invalid(change, &format!("not a JSON list of strings: {e}")))
}

/// `K=V K2="v 2"` pairs, or the legacy single `K V` form.
fn pairs(change: &str, args: &str) -> Result<Vec<(String, String)>, ChangeError> {
    let words = shell_words(args).map_err(|m| invalid(change, m))?;
    if !words.is_empty() && !words[0].contains('=') {
        let (k, v) = args
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid(change, "expected KEY=VALUE or KEY VALUE"))?;
        return Ok(vec![(k.to_string(), unquote(v.trim()))]);
    }
    words
        .into_iter()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| invalid(change, &format!("`{w}` is not KEY=VALUE")))
        })
        .filter(|p| !p.as_ref().is_ok_and(|(k, _)| k.is_empty()))
        .collect()
}

fn unquote(s: &str) -> String {
    shell_words(s)
        .ok()
        .filter(|w| w.len() == 1)
        .map(|mut w| w.remove(0))
        .unwrap_or_else(|| s.to_string())
}

/// Splits on whitespace, honouring double and single quotes and backslash escapes.
fn shell_words(s: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                have = true;
            }
            (None, c) if c.is_whitespace() => {
                if have || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quote");
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_change_forms() {
        let mut c = json!({"config": {"Env": ["PATH=/bin", "A=1"], "WorkingDir": "/srv"}});
        apply_all(
            &mut c,
            &[
                r#"CMD ["echo", "hi"]"#.into(),
                "ENTRYPOINT=/bin/sh".into(),
                "ENV A=2 B=\"two words\"".into(),
                "ENV C three".into(),
                "LABEL blue=image".into(),
                "EXPOSE 80 53/udp".into(),
                "WORKDIR app".into(),
                "USER 1000:1000".into(),
                "VOLUME /data".into(),
            ],
        )
        .unwrap();
        let cfg = &c["config"];
        assert_eq!(cfg["Cmd"], json!(["echo", "hi"]));
        assert_eq!(cfg["Entrypoint"], json!(["/bin/sh", "-c", "/bin/sh"]));
        assert_eq!(
            cfg["Env"],
            json!(["PATH=/bin", "A=2", "B=two words", "C=three"])
        );
        assert_eq!(cfg["Labels"]["blue"], "image");
        assert_eq!(cfg["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(cfg["WorkingDir"], "/srv/app");
        assert_eq!(cfg["User"], "1000:1000");
        assert_eq!(cfg["Volumes"], json!({"/data": {}}));
        assert!(apply(&mut c, "FROM x").is_err());
        assert!(apply(&mut c, "EXPOSE http").is_err());
    }
}
