//! `--format` rendering shared by every command: Go `text/template` through gtmpl, the `table`
//! prefix with podman's headers, `json`, and podman's normalisation of `\t` and `\n` escapes.

use super::format_fields as fields;
use anyhow::{anyhow, Context as _, Result};
use gtmpl::{Context, Template};
use gtmpl_value::{FuncError, Number, Value};
use std::collections::HashMap;

/// Converts JSON data into a template value. Objects keep their keys; numbers stay numbers.
pub fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(Number::from(i))
            } else if let Some(u) = n.as_u64() {
                Value::Number(Number::from(u))
            } else {
                Value::Number(Number::from(n.as_f64().unwrap_or(0.0)))
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        serde_json::Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// Converts a template value back to JSON (for the `json` function). Object keys come out sorted.
pub fn from_value(v: &Value) -> serde_json::Value {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            }
        }
        Value::Array(a) => serde_json::Value::Array(a.iter().map(from_value).collect()),
        Value::Object(o) | Value::Map(o) => {
            let sorted: std::collections::BTreeMap<_, _> =
                o.iter().map(|(k, v)| (k.clone(), from_value(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
    }
}

/// Formats a value as Go's `fmt.Print` would: lists as `[a b]`, maps as `map[k:v]` with sorted
/// keys. gtmpl prints lists with Rust's Debug format, so every printing action goes through this.
pub(super) fn go_print(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(go_print).collect::<Vec<_>>().join(" ")),
        Value::Object(o) | Value::Map(o) => {
            let mut keys: Vec<_> = o.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_print(&o[*k])))
                .collect();
            format!("map[{}]", items.join(" "))
        }
        Value::Nil => "<nil>".into(),
        other => as_text(other),
    }
}

fn f_goprint(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(go_print(one_arg("goprint", args)?)))
}

const CONTROL: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
];

/// Rewrites each printing action `{{ pipeline }}` into `{{ pipeline | goprint }}` so that its value
/// prints as Go prints it. Control actions, comments and variable assignments are left alone.
fn wrap_print_actions(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = action_end(after) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (lead, body, trail) = split_trim_markers(inner);
        let word = body
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or("");
        let assigns =
            body.trim_start().starts_with('$') && (body.contains(":=") || body.contains(" = "));
        let plain = !body.trim().is_empty()
            && !body.trim_start().starts_with("/*")
            && !CONTROL.contains(&word)
            && !assigns;
        if plain {
            out.push_str(&format!("{{{{{lead}{} | goprint{trail}}}}}", body.trim()));
        } else {
            out.push_str(&format!("{{{{{inner}}}}}"));
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The offset of the `}}` that closes an action, skipping quoted strings.
fn action_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' && q == b'"' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if b[i] == b'"' || b[i] == b'`' {
                    quote = Some(b[i]);
                } else if b[i] == b'}' && b.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

/// Splits Go's whitespace-trim markers (`{{- ` and ` -}}`) off an action's text.
fn split_trim_markers(inner: &str) -> (&str, &str, &str) {
    let (lead, body) = match inner.strip_prefix("- ") {
        Some(b) => ("- ", b),
        None => ("", inner),
    };
    match body.strip_suffix(" -") {
        Some(b) => (lead, b, " -"),
        None => (lead, body, ""),
    }
}

fn one_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FuncError> {
    match args {
        [v] => Ok(v),
        _ => Err(FuncError::ExactlyXArgs(name.into(), 1)),
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::NoValue | Value::Nil => String::new(),
        other => other.to_string(),
    }
}

fn f_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = one_arg("json", args)?;
    Ok(Value::String(
        serde_json::to_string(&from_value(v)).unwrap_or_default(),
    ))
}

fn f_upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        as_text(one_arg("upper", args)?).to_uppercase(),
    ))
}

fn f_lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        as_text(one_arg("lower", args)?).to_lowercase(),
    ))
}

fn f_title(args: &[Value]) -> Result<Value, FuncError> {
    let s = as_text(one_arg("title", args)?);
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    Ok(Value::String(out))
}

fn f_join(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [Value::Array(items), sep] => Ok(Value::String(
            items
                .iter()
                .map(as_text)
                .collect::<Vec<_>>()
                .join(&as_text(sep)),
        )),
        [other, _] => Ok(Value::String(as_text(other))),
        _ => Err(FuncError::ExactlyXArgs("join".into(), 2)),
    }
}

fn f_truncate(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [s, Value::Number(n)] => {
            let n = n.as_u64().unwrap_or(0) as usize;
            Ok(Value::String(as_text(s).chars().take(n).collect()))
        }
        _ => Err(FuncError::ExactlyXArgs("truncate".into(), 2)),
    }
}

fn f_split(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [s, sep] => Ok(Value::Array(
            as_text(s)
                .split(as_text(sep).as_str())
                .map(|p| Value::String(p.into()))
                .collect(),
        )),
        _ => Err(FuncError::ExactlyXArgs("split".into(), 2)),
    }
}

/// podman accepts `\t` and `\n` written literally on the command line as tab and newline.
pub fn normalize(format: &str) -> String {
    format.replace("\\t", "\t").replace("\\n", "\n")
}

/// Parses a template with podman's extra functions (`json`, `upper`, `lower`, `title`, `join`,
/// `split`, `truncate`) alongside Go's built-ins.
fn parse(text: &str) -> Result<Template> {
    let mut t = Template::default();
    t.add_funcs(&[
        ("json", f_json as gtmpl_value::Func),
        ("upper", f_upper),
        ("lower", f_lower),
        ("title", f_title),
        ("join", f_join),
        ("split", f_split),
        ("truncate", f_truncate),
        ("goprint", f_goprint),
    ]);
    t.parse(wrap_print_actions(text))
        .map_err(|e| anyhow!("invalid --format template `{text}`: {e}"))?;
    Ok(t)
}

/// Renders one template against one value.
pub fn render(format: &str, data: &serde_json::Value) -> Result<String> {
    let norm = normalize(format);
    if let Some(line) = fields::pieces(&norm).and_then(|p| fields::render(&p, data)) {
        return Ok(line);
    }
    let t = parse(&norm)?;
    t.render(&Context::from(to_value(data)))
        .map_err(|e| anyhow!("cannot render --format template `{format}`: {e}"))
}

/// What a `--format` value asks for.
pub enum Style<'a> {
    /// `json`: the items as a pretty JSON array.
    Json,
    /// `table ...`: a header row, then one row per item, columns aligned.
    Table(&'a str),
    /// Any other template: one rendering per item, each on its own line.
    Template(&'a str),
}

/// Classifies a `--format` value.
pub fn style(format: &str) -> Style<'_> {
    let f = format.trim_start();
    if f == "json" {
        Style::Json
    } else if let Some(rest) = f.strip_prefix("table") {
        Style::Table(rest.trim_start())
    } else {
        Style::Template(format)
    }
}

/// Renders a list of items for a `--format` value. `headers` maps a field name to its column
/// title (podman's `IMAGE ID` for `.ID`); unmapped fields are upper-cased.
pub fn render_list(
    format: &str,
    items: &[serde_json::Value],
    headers: &[(&str, &str)],
) -> Result<String> {
    match style(format) {
        Style::Json => {
            Ok(serde_json::to_string_pretty(items).context("cannot encode JSON")? + "\n")
        }
        Style::Template(t) => {
            let norm = normalize(t);
            let lines = match fields::pieces(&norm).and_then(|p| fields::render_all(&p, items)) {
                Some(lines) => lines,
                None => render_each(t, &norm, items)?,
            };
            let mut out = String::new();
            for line in lines {
                out.push_str(&line);
                if !line.ends_with('\n') {
                    out.push('\n');
                }
            }
            Ok(out)
        }
        Style::Table(t) => {
            let t = if t.is_empty() { "{{.}}" } else { t };
            let norm = normalize(t);
            let mut rows = vec![header_line(&norm, headers)];
            match fields::pieces(&norm).and_then(|p| fields::render_all(&p, items)) {
                Some(lines) => rows.extend(lines),
                None => rows.extend(render_each(t, &norm, items)?),
            }
            Ok(tabulate(&rows))
        }
    }
}

/// Renders the normalized template `norm` (given as `t`) against each item with gtmpl.
fn render_each(t: &str, norm: &str, items: &[serde_json::Value]) -> Result<Vec<String>> {
    let tmpl = parse(norm)?;
    items
        .iter()
        .map(|item| {
            tmpl.render(&Context::from(to_value(item)))
                .map_err(|e| anyhow!("cannot render --format template `{t}`: {e}"))
        })
        .collect()
}

/// Builds the header row of a table template by replacing each `{{.Field}}` with its title.
fn header_line(template: &str, headers: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let action = rest[start + 2..start + end].trim();
        let field = action
            .trim_start_matches('.')
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("");
        if action.starts_with('.') && !field.is_empty() {
            let title = headers
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, h)| h.to_string())
                .unwrap_or_else(|| split_camel(field).to_uppercase());
            out.push_str(&title);
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn split_camel(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let prev_lower = i > 0 && chars[i - 1].is_lowercase();
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let prev_upper = i > 0 && chars[i - 1].is_uppercase();
        if c.is_uppercase() && (prev_lower || (prev_upper && next_lower)) {
            out.push(' ');
        }
        out.push(*c);
    }
    out
}

/// Aligns tab-separated cells into columns as podman's tabwriter does (minimum width 12,
/// two spaces of padding); the last cell of a row is never padded.
pub fn tabulate(rows: &[String]) -> String {
    let split: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.trim_end_matches('\n').split('\t').collect())
        .collect();
    let ncols = split.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; ncols];
    for r in &split {
        for (i, c) in r.iter().enumerate() {
            if i + 1 < r.len() {
                widths[i] = widths[i].max(c.chars().count() + 2).max(12);
            }
        }
    }
    let mut out = String::new();
    for r in &split {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                let pad = widths[i].saturating_sub(c.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_templates_render_as_gtmpl_renders_them() {
        let items = [
            serde_json::json!({"ID": "abc", "Names": "web", "Size": 12, "Up": true, "F": 1.5,
                               "Ports": "", "Env": ["A=1", "B=2"], "L": {"k": "v"}, "N": null}),
            serde_json::json!({"ID": "d\te", "Names": "x y", "Size": -3, "Up": false, "F": 2.0,
                               "Ports": "0.0.0.0:80->80/tcp", "Env": [], "L": {}, "N": null}),
        ];
        for t in [
            "{{.ID}}\t{{.Names}}",
            "id={{ .ID }} size={{.Size}} up={{.Up}} f={{.F}}",
            "{{.Ports}}|{{.Env}}|{{.L}}|{{.N}}",
            "no fields at all",
        ] {
            let norm = normalize(t);
            let fast = fields::pieces(&norm)
                .and_then(|p| fields::render_all(&p, &items))
                .unwrap_or_else(|| panic!("`{t}` should take the substitution path"));
            assert_eq!(fast, render_each(t, &norm, &items).unwrap(), "{t}");
        }
    }
    use serde_json::json;

    #[test]
    fn fields_functions_and_escapes() {
        let v = json!({"ID": "abc", "Names": ["a", "b"], "N": 3, "Labels": {"k": "v"}});
        assert_eq!(render("{{.ID}}\\t{{upper .ID}}", &v).unwrap(), "abc\tABC");
        assert_eq!(
            render("{{join .Names \",\"}} {{len .Names}}", &v).unwrap(),
            "a,b 2"
        );
        assert_eq!(render("{{index .Labels \"k\"}}", &v).unwrap(), "v");
        assert_eq!(render("{{if eq .N 3}}three{{end}}", &v).unwrap(), "three");
        assert_eq!(
            render("{{range .Names}}[{{.}}]{{end}}", &v).unwrap(),
            "[a][b]"
        );
        assert_eq!(render("{{json .Labels}}", &v).unwrap(), "{\"k\":\"v\"}");
        assert_eq!(render("{{printf \"%s-%d\" .ID .N}}", &v).unwrap(), "abc-3");
    }

    #[test]
    fn lists_and_maps_print_as_go_prints_them() {
        let v = json!({"L": ["a", "b"], "M": {"z": 1, "a": "x"}, "S": "s"});
        assert_eq!(render("{{.L}}", &v).unwrap(), "[a b]");
        assert_eq!(render("{{.M}}", &v).unwrap(), "map[a:x z:1]");
        assert_eq!(render("{{ .S | upper }}-{{- .S -}} !", &v).unwrap(), "S-s!");
        assert_eq!(render("{{$x := .S}}{{$x}}", &v).unwrap(), "s");
        assert_eq!(
            render("{{/* c */}}{{range .L}}<{{.}}>{{end}}", &v).unwrap(),
            "<a><b>"
        );
        assert_eq!(render("{{printf \"%s}}\" .S}}", &v).unwrap(), "s}}");
    }

    #[test]
    fn bad_template_names_itself() {
        let err = render("{{.ID", &json!({})).unwrap_err().to_string();
        assert!(err.contains("{{.ID"), "{err}");
    }

    #[test]
    fn table_has_mapped_headers_and_aligned_columns() {
        let items = vec![
            json!({"ID": "1", "Repository": "r"}),
            json!({"ID": "22", "Repository": "rr"}),
        ];
        let out = render_list(
            "table {{.ID}}\t{{.Repository}}",
            &items,
            &[("ID", "IMAGE ID")],
        )
        .unwrap();
        assert_eq!(
            out,
            "IMAGE ID    REPOSITORY\n1           r\n22          rr\n"
        );
    }

    #[test]
    fn camel_case_headers() {
        assert_eq!(split_camel("CreatedAt"), "Created At");
        assert_eq!(split_camel("ID"), "ID");
        assert_eq!(split_camel("RepoDigests"), "Repo Digests");
    }
}
