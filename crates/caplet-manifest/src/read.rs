//! Typed access to the spanned TOML tree, reporting every mismatch instead of stopping.
//!
//! The manifest is walked by hand rather than through serde because serde stops at the first
//! error; here each wrong type, unknown key or unset variable becomes one error at its own
//! position and the walk goes on. Every string read goes through `${VAR}` substitution.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::env;
use crate::error::{Diagnostics, MAX_REPORTED_ERRORS, list, rank};

/// A value with its byte range in the manifest.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Characters of user text quoted in a message before it is cut.
const MAX_QUOTED_CHARS: usize = 64;

/// `text` for a message: control characters escaped, cut after [`MAX_QUOTED_CHARS`].
pub(crate) fn quoted(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_QUOTED_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The walker's state: where errors go and how variables are looked up.
pub(crate) struct Reader<'a> {
    pub(crate) diag: Diagnostics<'a>,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Hints still worth ranking by similarity; only the first errors are shown anyway, and
    /// ranking every one of thousands would make a hostile file slow to reject.
    suggestions_left: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(diag: Diagnostics<'a>, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Reader {
            diag,
            env,
            suggestions_left: MAX_REPORTED_ERRORS,
        }
    }

    /// "did you mean `x`? " (or "") and `candidates` most similar to `target` first; once the
    /// budget is spent, "" and the candidates as given.
    pub(crate) fn suggest<'c>(
        &mut self,
        target: &str,
        candidates: &[&'c str],
    ) -> (String, Vec<&'c str>) {
        if self.suggestions_left == 0 {
            return (String::new(), candidates.to_vec());
        }
        self.suggestions_left -= 1;
        let (close, ranked) = rank(target, candidates);
        let guess = close.map_or_else(String::new, |c| format!("did you mean `{c}`? "));
        (guess, ranked)
    }

    /// Reports every key of `table` not in `known`, with the known keys as the hint.
    pub(crate) fn check_keys(&mut self, table: &DeTable<'_>, section: &str, known: &[&str]) {
        for key in table.keys() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let (guess, ranked) = self.suggest(name, known);
            let hint = format!(
                "{guess}known keys in {section}: {}",
                list(&ranked, known.len())
            );
            self.diag.error(
                &key.span(),
                format!("unknown key `{}` in {section}", quoted(name)),
                Some(hint),
            );
        }
    }

    /// `key` of `table`, or an error at `header` saying it is missing.
    pub(crate) fn required<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        header: &Range<usize>,
        section: &str,
        key: &str,
        example: &str,
    ) -> Option<&'t Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            self.diag.error(
                header,
                format!("{section} is missing `{key}`"),
                Some(format!("add {key} = {example}")),
            );
        }
        value
    }

    /// Reports that `value` is not the `expected` kind ("a string", ...).
    pub(crate) fn type_error(&mut self, value: &Value<'_>, what: &str, expected: &str) {
        let found = value.get_ref().type_str();
        let article = if found.starts_with(['a', 'i']) {
            "an"
        } else {
            "a"
        };
        self.diag.error(
            &value.span(),
            format!("{what} must be {expected}, found {article} {found}"),
            None,
        );
    }

    /// A string, variables substituted; `None` after reporting an error.
    pub(crate) fn string(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        let DeValue::String(text) = value.get_ref() else {
            self.type_error(value, what, "a string");
            return None;
        };
        self.substitute(text, &value.span(), what)
    }

    /// `text` with variables substituted, or `None` after reporting each failure at `span`.
    pub(crate) fn substitute(
        &mut self,
        text: &str,
        span: &Range<usize>,
        what: &str,
    ) -> Option<String> {
        match env::substitute(text, self.env) {
            Ok(value) => Some(value),
            Err(errors) => {
                for error in errors {
                    let (message, hint) = error.describe();
                    self.diag
                        .error(span, format!("{message} (in {what})"), Some(hint));
                }
                None
            }
        }
    }

    /// A boolean; `None` after reporting an error.
    pub(crate) fn boolean(&mut self, value: &Value<'_>, what: &str) -> Option<bool> {
        if let DeValue::Boolean(b) = value.get_ref() {
            return Some(*b);
        }
        self.type_error(value, what, "true or false");
        None
    }

    /// An integer; `None` after reporting an error.
    pub(crate) fn integer(&mut self, value: &Value<'_>, what: &str) -> Option<i64> {
        let DeValue::Integer(int) = value.get_ref() else {
            self.type_error(value, what, "an integer");
            return None;
        };
        let parsed = i64::from_str_radix(int.as_str(), int.radix()).ok();
        if parsed.is_none() {
            self.diag.error(
                &value.span(),
                format!("{what} is too large for a 64-bit integer"),
                None,
            );
        }
        parsed
    }

    /// A table; `None` after reporting an error.
    pub(crate) fn table<'t, 'i>(
        &mut self,
        value: &'t Value<'i>,
        what: &str,
    ) -> Option<&'t DeTable<'i>> {
        if let DeValue::Table(table) = value.get_ref() {
            return Some(table);
        }
        self.type_error(value, what, "a table");
        None
    }

    /// The entries of an array of tables (`[[section]]`), each with its span; an error for
    /// anything else.
    pub(crate) fn tables<'t, 'i>(
        &mut self,
        value: &'t Value<'i>,
        section: &str,
    ) -> Vec<(&'t DeTable<'i>, Range<usize>)> {
        let DeValue::Array(items) = value.get_ref() else {
            let name = section.trim_matches(['[', ']']);
            self.diag.error(
                &value.span(),
                format!("`{name}` must be an array of tables"),
                Some(format!(
                    "write {section} (double brackets) above each entry"
                )),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                let table = self.table(item, &format!("each {section} entry"))?;
                Some((table, item.span()))
            })
            .collect()
    }

    /// A table of scalars (`[provider.config]`, `[link.values]`) as strings, with each key's line.
    pub(crate) fn scalar_map(
        &mut self,
        value: &Value<'_>,
        section: &str,
    ) -> (BTreeMap<String, String>, BTreeMap<String, usize>) {
        let mut values = BTreeMap::new();
        let mut lines = BTreeMap::new();
        let Some(table) = self.table(value, section) else {
            return (values, lines);
        };
        for (key, item) in table.iter() {
            let name: &str = key.get_ref();
            let what = format!("`{}` in {section}", quoted(name));
            let text = match item.get_ref() {
                DeValue::String(text) => self.substitute(text, &item.span(), &what),
                DeValue::Integer(int) => Some(
                    i64::from_str_radix(int.as_str(), int.radix())
                        .map_or_else(|_| int.as_str().to_string(), |n| n.to_string()),
                ),
                DeValue::Float(float) => Some(float.as_str().to_string()),
                DeValue::Boolean(b) => Some(b.to_string()),
                DeValue::Datetime(_) | DeValue::Array(_) | DeValue::Table(_) => {
                    self.type_error(item, &what, "a string, integer, float or boolean");
                    None
                }
            };
            if let Some(text) = text {
                lines.insert(name.to_string(), self.diag.line(&key.span()));
                values.insert(name.to_string(), text);
            }
        }
        (values, lines)
    }

    /// An optional string key that must not be empty.
    pub(crate) fn name_or_default(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        section: &str,
        default: &str,
    ) -> String {
        let Some(value) = table.get(key) else {
            return default.to_string();
        };
        let what = format!("`{key}` in {section}");
        match self.string(value, &what) {
            Some(text) if text.is_empty() => {
                self.diag.error(
                    &value.span(),
                    format!("{what} must not be empty"),
                    Some(format!("leave `{key}` out to use \"{default}\"")),
                );
                default.to_string()
            }
            Some(text) => text,
            None => default.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_and_cuts() {
        assert_eq!(quoted("a\nb"), "a\\nb");
        assert_eq!(quoted(&"x".repeat(70)), format!("{}…", "x".repeat(64)));
    }
}
