//! `${VAR}` substitution in manifest strings, so secrets and per-machine addresses stay out of
//! the file.
//!
//! The environment comes in as a lookup function: `load` passes the process environment, tests
//! and embedders pass their own. Substitution is one pass, left to right; substituted text is
//! never scanned again, so a variable's value cannot inject further references.

/// Why a string's references could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubstError {
    /// `${NAME}` with `NAME` unset and no default.
    Missing(String),
    /// `${` without a closing `}`.
    Unterminated,
    /// `${...}` whose name is not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
}

impl SubstError {
    /// The message and hint for the error.
    pub(crate) fn describe(&self) -> (String, String) {
        match self {
            SubstError::Missing(name) => (
                format!("environment variable `{name}` is not set"),
                format!("set it, or give a default: ${{{name}:-value}}"),
            ),
            SubstError::Unterminated => (
                "`${` without a closing `}`".to_string(),
                "close the reference (${NAME} or ${NAME:-default}), or write $${ for a literal ${"
                    .to_string(),
            ),
            SubstError::BadName(name) => (
                format!("`{name}` is not a valid environment variable name"),
                "names are letters, digits and `_`, not starting with a digit; write $${ for a literal ${"
                    .to_string(),
            ),
        }
    }
}

/// Replaces `${NAME}` and `${NAME:-default}` in `value`; `$${` stands for a literal `${`.
///
/// As in a POSIX shell, `:-` uses the default when the variable is unset *or empty*. A default
/// runs to the first `}` and is taken literally. Every error in the value is returned.
pub(crate) fn substitute(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<SubstError>> {
    if !value.contains('$') {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut errors = Vec::new();
    let mut rest = value;
    while let Some((before, from_dollar)) = rest.split_once('$') {
        out.push_str(before);
        let dollar_rest = from_dollar;
        if let Some(after) = dollar_rest.strip_prefix("${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = dollar_rest.strip_prefix('{') {
            let Some((inner, after_close)) = after.split_once('}') else {
                errors.push(SubstError::Unterminated);
                rest = "";
                break;
            };
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if !valid_name(name) {
                errors.push(SubstError::BadName(name.to_string()));
            } else {
                match (env(name), default) {
                    (Some(found), Some(default)) if found.is_empty() => out.push_str(default),
                    (Some(found), _) => out.push_str(&found),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => errors.push(SubstError::Missing(name.to_string())),
                }
            }
            rest = after_close;
        } else {
            out.push('$');
            rest = dollar_rest;
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn sub(value: &str) -> Result<String, Vec<SubstError>> {
        substitute(value, &env)
    }

    #[test]
    fn references_defaults_and_escapes() {
        assert_eq!(sub("plain").unwrap(), "plain");
        assert_eq!(
            sub("redis://${HOST}:6379/").unwrap(),
            "redis://db.local:6379/"
        );
        assert_eq!(sub("${NOPE:-x:y}").unwrap(), "x:y");
        assert_eq!(sub("${HOST:-x}").unwrap(), "db.local");
        assert_eq!(sub("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(sub("${EMPTY}").unwrap(), "");
        assert_eq!(sub("${NOPE:-}").unwrap(), "");
        assert_eq!(sub("$${HOST}").unwrap(), "${HOST}");
        assert_eq!(sub("$$ and $x and $").unwrap(), "$$ and $x and $");
        assert_eq!(sub("ünï${HOST}ç").unwrap(), "ünïdb.localç");
    }

    #[test]
    fn every_error_is_reported() {
        assert_eq!(
            sub("${A}-${B:-ok}-${C}").unwrap_err(),
            vec![
                SubstError::Missing("A".into()),
                SubstError::Missing("C".into())
            ]
        );
        assert_eq!(sub("x${HOST").unwrap_err(), vec![SubstError::Unterminated]);
        assert_eq!(
            sub("${1X}").unwrap_err(),
            vec![SubstError::BadName("1X".into())]
        );
        assert_eq!(
            sub("${}").unwrap_err(),
            vec![SubstError::BadName(String::new())]
        );
    }

    #[test]
    fn values_are_not_rescanned() {
        let env = |name: &str| (name == "A").then(|| "${B}".to_string());
        assert_eq!(substitute("${A}", &env).unwrap(), "${B}");
    }
}
