//! `[host.policy]` and the breaker keys of `[host]`: which policy engine the host asks at actor
//! load and link time (`docs/policy.md`), and when an actor's circuit opens.
//!
//! Only the shape is checked here (one backend, an `http://` URL, a readable policy file,
//! ranges); whether the Rego compiles is checked by `caplet up`'s pre-flight, which has the
//! engine.

use std::ops::Range;
use std::path::Path;

use crate::model::PolicySettings;
use crate::read::{Reader, Value, quoted};

const POLICY_KEYS: [&str; 6] = [
    "rego",
    "query",
    "opa_url",
    "opa_path",
    "timeout_ms",
    "cache_ttl_s",
];

/// Longest policy decision timeout accepted, in milliseconds.
///
/// Default: 60 000 ms (one minute). Larger values are refused with an error at their line: an
/// actor start or link waits this long when the engine hangs. Change: edit this constant.
pub const MAX_POLICY_TIMEOUT_MS: u64 = 60_000;

/// Longest decision cache TTL accepted, in seconds.
///
/// Default: 86 400 s (one day). 0 disables the cache. Change: edit this constant.
pub const MAX_POLICY_CACHE_TTL_S: u64 = 86_400;

/// Largest `breaker_failures` accepted (0 disables the breaker).
///
/// Default: 1 000 000. Change: edit this constant.
pub const MAX_BREAKER_FAILURES: u64 = 1_000_000;

/// Range of `breaker_open_ms`, in milliseconds.
///
/// Default: 10 ms to 3 600 000 ms (one hour). Change: edit these constants.
pub const MIN_BREAKER_OPEN_MS: u64 = 10;
/// See [`MIN_BREAKER_OPEN_MS`].
pub const MAX_BREAKER_OPEN_MS: u64 = 3_600_000;

/// Reads `[host.policy]`; `None` after reporting errors.
pub(crate) fn read_policy(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    base_dir: &Path,
) -> Option<PolicySettings> {
    let section = "[host.policy]";
    let table = r.table(value, section)?;
    let line = r.diag.line(&value.span());
    r.check_keys(table, section, &POLICY_KEYS);
    let mut ok = true;
    let text = |r: &mut Reader<'_>, key: &str| -> Option<(String, Range<usize>)> {
        let item = table.get(key)?;
        let what = format!("`{key}` in {section}");
        let text = r.string(item, &what)?;
        if text.trim().is_empty() {
            r.diag.error(
                &item.span(),
                format!("{what} must not be empty"),
                Some(format!("leave `{key}` out to use the default")),
            );
            return None;
        }
        Some((text, item.span()))
    };
    let rego = text(r, "rego");
    let query = text(r, "query");
    let opa_url = text(r, "opa_url");
    let opa_path = text(r, "opa_path");
    let number = |r: &mut Reader<'_>, key: &str, min: u64, max: u64, unit: &str| -> Option<u64> {
        let item = table.get(key)?;
        let what = format!("`{key}` in {section}");
        let n = r.integer(item, &what)?;
        match u64::try_from(n) {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                r.diag.error(
                    &item.span(),
                    format!("{what} = {n} is out of range {min}..={max} {unit}"),
                    Some(format!(
                        "use {min} to {max} {unit}, or leave the key out for the default"
                    )),
                );
                None
            }
        }
    };
    let timeout_ms = number(r, "timeout_ms", 1, MAX_POLICY_TIMEOUT_MS, "milliseconds");
    let cache_ttl_s = number(r, "cache_ttl_s", 0, MAX_POLICY_CACHE_TTL_S, "seconds");
    match (&rego, &opa_url) {
        (Some(_), Some((_, url))) => {
            r.diag.error(
                url,
                format!("{section} sets both `rego` and `opa_url`"),
                Some(
                    "choose one policy engine: a Rego file run in the host, or an OPA server"
                        .into(),
                ),
            );
            ok = false;
        }
        (None, None) => {
            r.diag.error(
                &value.span(),
                format!("{section} names no policy engine"),
                Some("add rego = \"policy.rego\" (in-process) or opa_url = \"http://127.0.0.1:8181\" (external OPA); or remove [host.policy]".into()),
            );
            ok = false;
        }
        _ => {}
    }
    if let (Some(_), Some((_, item))) = (&rego, &opa_path) {
        r.diag.error(
            item,
            format!("`opa_path` in {section} applies to an OPA server, not to `rego`"),
            Some("for a Rego file, choose the rule with `query = \"data.caplet.allow\"`".into()),
        );
        ok = false;
    }
    if let (Some(_), Some((_, item))) = (&opa_url, &query) {
        r.diag.error(
            item,
            format!("`query` in {section} applies to `rego`, not to an OPA server"),
            Some("for OPA, choose the document with `opa_path = \"caplet\"`".into()),
        );
        ok = false;
    }
    if let Some((query, item)) = &query
        && (!query.starts_with("data.") || query.len() <= 5)
    {
        r.diag.error(
            item,
            format!(
                "`query` in {section} is not a rule path: \"{}\"",
                quoted(query)
            ),
            Some("write the rule to ask, e.g. query = \"data.caplet.allow\"".into()),
        );
        ok = false;
    }
    if let Some((url, item)) = &opa_url
        && !valid_http_url(url)
    {
        r.diag.error(
            item,
            format!("`opa_url` in {section} is not an http:// URL: \"{}\"", quoted(url)),
            Some("write http://HOST:PORT, e.g. \"http://127.0.0.1:8181\" (plain HTTP only; run OPA next to the host)".into()),
        );
        ok = false;
    }
    if let Some((path, item)) = &opa_path
        && !path
            .trim_matches('/')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
    {
        r.diag.error(
            item,
            format!(
                "`opa_path` in {section} is not a document path: \"{}\"",
                quoted(path)
            ),
            Some(
                "write the OPA document to ask, e.g. opa_path = \"caplet\" or \"caplet/allow\""
                    .into(),
            ),
        );
        ok = false;
    }
    let rego = match rego {
        Some((file, item)) => {
            let path = base_dir.join(&file);
            if !path.is_file() {
                r.diag.error(
                    &item,
                    format!(
                        "the Rego policy `rego` in {section} is not a file: {}",
                        path.display()
                    ),
                    Some("the path is relative to the manifest's folder".into()),
                );
                ok = false;
            }
            Some(path)
        }
        None => None,
    };
    if !ok {
        return None;
    }
    Some(PolicySettings {
        rego,
        query: query.map(|(q, _)| q),
        opa_url: opa_url.map(|(u, _)| u),
        opa_path: opa_path.map(|(p, _)| p),
        timeout_ms,
        cache_ttl_s,
        line,
    })
}

/// `http://host[:port][/prefix]` with a host.
fn valid_http_url(url: &str) -> bool {
    let Some(rest) = url.trim().strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    !authority.is_empty() && !authority.contains(['@', ' ', '?', '#'])
}

/// Reads `breaker_failures` or `breaker_open_ms` of `[host]`.
pub(crate) fn read_breaker_key(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    key: &str,
    min: u64,
    max: u64,
    unit: &str,
) -> Option<u64> {
    let what = format!("`{key}` in [host]");
    let n = r.integer(value, &what)?;
    match u64::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            r.diag.error(
                &value.span(),
                format!("{what} = {n} is out of range {min}..={max} {unit}"),
                Some(format!(
                    "use {min} to {max} {unit}, or leave the key out to keep the default"
                )),
            );
            None
        }
    }
}
