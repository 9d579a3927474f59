//! `--format` templates made only of text and `{{.Field}}` actions, which is what every default
//! table and most users' templates are. They are rendered by substitution: gtmpl's lexer starts a
//! thread for every template it parses and passes it each token, which cost `rctr ps` about a
//! millisecond. Anything else (pipelines, functions, control actions, a field an item lacks)
//! goes through gtmpl, so both render the same text (see the tests in `format.rs`).

use super::format::{go_print, to_value};

/// One part of a field-only template.
#[derive(Debug, PartialEq)]
pub enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// The pieces of `template` (already normalized), or None when it holds anything but text and
/// `{{.Field}}` actions.
pub fn pieces(template: &str) -> Option<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let name = after[..end].trim().strip_prefix('.')?;
        let ident = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !ident {
            return None;
        }
        out.push(Piece::Field(name));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return None;
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Some(out)
}

/// `pieces` rendered against `item`, or None when `item` is not an object holding every field.
pub fn render(pieces: &[Piece], item: &serde_json::Value) -> Option<String> {
    let obj = item.as_object()?;
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(f) => out.push_str(&go_print(&to_value(obj.get(*f)?))),
        }
    }
    Some(out)
}

/// `pieces` rendered against every item, or None when one of them needs gtmpl.
pub fn render_all(pieces: &[Piece], items: &[serde_json::Value]) -> Option<Vec<String>> {
    items.iter().map(|i| render(pieces, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_and_plain_fields_qualify() {
        assert_eq!(
            pieces("{{.ID}}\t{{ .Names }}!"),
            Some(vec![
                Piece::Field("ID"),
                Piece::Text("\t"),
                Piece::Field("Names"),
                Piece::Text("!"),
            ])
        );
        for t in [
            "{{.}}",
            "{{json .}}",
            "{{.Config.Env}}",
            "{{- .ID}}",
            "{{if .Running}}x{{end}}",
            "{{.ID | upper}}",
            "{{.ID}",
            "x}}",
            "{{$x := .ID}}",
        ] {
            assert_eq!(pieces(t), None, "{t}");
        }
        assert_eq!(pieces("plain"), Some(vec![Piece::Text("plain")]));
    }

    #[test]
    fn a_missing_field_or_a_non_object_falls_back() {
        let p = pieces("{{.A}}-{{.B}}").unwrap();
        let item = serde_json::json!({"A": "a", "B": 2});
        assert_eq!(render(&p, &item).as_deref(), Some("a-2"));
        assert_eq!(render(&p, &serde_json::json!({"A": "a"})), None);
        assert_eq!(render(&p, &serde_json::json!("a")), None);
        assert_eq!(render_all(&p, &[item.clone(), serde_json::json!(1)]), None);
    }
}
