//! `[host]` and the limit tables: who may sign actors, where the control API listens, and the
//! per-actor resource limits.
//!
//! The trust settings are checked strictly here because a mistake in them fails open: an
//! issuer list that silently became empty would otherwise only surface as "every actor refused".

use std::net::SocketAddr;
use std::path::Path;

use caplet_claims::{KeyKind, parse_public_key};

use crate::LoadOptions;
use crate::limits::LIMIT_KEYS;
use crate::model::{HostSettings, LimitOverrides};
use crate::policy;
use crate::read::{Reader, Value, quoted};

const HOST_KEYS: [&str; 9] = [
    "issuers",
    "allow_unsigned",
    "control_api",
    "control_token_file",
    "limits",
    "policy",
    "breaker_failures",
    "breaker_open_ms",
    "log_lines_per_second",
];

/// Reads `[host]` (absent means all defaults) and checks that some actor could ever run.
pub(crate) fn read_host(
    r: &mut Reader<'_>,
    value: Option<&Value<'_>>,
    base_dir: &Path,
    options: &LoadOptions,
) -> HostSettings {
    let mut host = HostSettings::default();
    let table = value.and_then(|v| r.table(v, "[host]"));
    // Set when trust is configured, even wrongly: a bad entry is reported on its own, not also
    // as "no trusted issuers".
    let mut trust_given = value.is_some() && table.is_none();
    if let Some(table) = table {
        r.check_keys(table, "[host]", &HOST_KEYS);
        if let Some(value) = table.get("issuers") {
            trust_given = read_issuers(r, value, &mut host.issuers);
        }
        if let Some(value) = table.get("allow_unsigned") {
            match r.boolean(value, "`allow_unsigned` in [host]") {
                Some(allow) => host.allow_unsigned = allow,
                None => trust_given = true,
            }
        }
        if let Some(value) = table.get("control_api") {
            host.control_api = read_socket_addr(r, value);
        }
        if let Some(value) = table.get("control_token_file") {
            let what = "`control_token_file` in [host]";
            match r.string(value, what) {
                Some(path) if path.is_empty() => r.diag.error(
                    &value.span(),
                    format!("{what} must not be empty"),
                    Some("leave it out to let the host choose where the token goes".to_string()),
                ),
                Some(path) => host.control_token_file = Some(base_dir.join(path)),
                None => {}
            }
        }
        if let Some(value) = table.get("limits") {
            host.limits = read_limits(r, value, "[host.limits]");
        }
        if let Some(value) = table.get("policy") {
            host.policy = policy::read_policy(r, value, base_dir);
        }
        if let Some(value) = table.get("breaker_failures") {
            host.breaker_failures = policy::read_breaker_key(
                r,
                value,
                "breaker_failures",
                0,
                policy::MAX_BREAKER_FAILURES,
                "consecutive crashes",
            )
            .and_then(|n| u32::try_from(n).ok());
        }
        if let Some(value) = table.get("breaker_open_ms") {
            host.breaker_open_ms = policy::read_breaker_key(
                r,
                value,
                "breaker_open_ms",
                policy::MIN_BREAKER_OPEN_MS,
                policy::MAX_BREAKER_OPEN_MS,
                "milliseconds",
            );
        }
        if let Some(value) = table.get("log_lines_per_second") {
            host.log_lines_per_second = read_log_lines_per_second(r, value);
        }
    }
    host.allow_unsigned |= options.allow_unsigned;
    if !trust_given && !host.allow_unsigned {
        let span = value.map_or(0..0, |v| v.span());
        r.diag.error(
            &span,
            "no trusted issuers: [host] issuers is empty and allow_unsigned is false, so no actor could run",
            Some(
                "list the account public keys (A..., from `caplet keys gen account`) that sign your actors in [host] issuers = [\"A...\"], or for development only set allow_unsigned = true (or run `caplet up --allow-unsigned`)"
                    .to_string(),
            ),
        );
    }
    host
}

/// Largest `log_lines_per_second` accepted: `u32::MAX`, what the host's logging provider counts
/// in (in effect, no limit).
pub const MAX_LOG_LINES_PER_SECOND: u64 = u32::MAX as u64;

/// Reads `log_lines_per_second` of `[host]`: 0..=[`MAX_LOG_LINES_PER_SECOND`], 0 dropping every
/// `wasmcloud:builtin:logging` line; `None` after reporting an error.
fn read_log_lines_per_second(r: &mut Reader<'_>, value: &Value<'_>) -> Option<u32> {
    let what = "`log_lines_per_second` in [host]";
    let n = r.integer(value, what)?;
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            r.diag.error(
                &value.span(),
                format!(
                    "{what} = {n} is out of range 0..={MAX_LOG_LINES_PER_SECOND} lines per second"
                ),
                Some(format!(
                    "use 0 to {MAX_LOG_LINES_PER_SECOND} lines per actor per second (0 drops every line), or leave the key out to keep the default (20)"
                )),
            );
            None
        }
    }
}

/// Reads and checks `issuers`; false only for an empty array.
fn read_issuers(r: &mut Reader<'_>, value: &Value<'_>, issuers: &mut Vec<String>) -> bool {
    let toml::de::DeValue::Array(items) = value.get_ref() else {
        r.type_error(value, "`issuers` in [host]", "an array of strings");
        return true;
    };
    for item in items.iter() {
        let Some(key) = r.string(item, "each entry of `issuers` in [host]") else {
            continue;
        };
        match parse_public_key(&key, Some(KeyKind::Account)) {
            Ok(_) => issuers.push(key),
            Err(error) => r.diag.error(
                &item.span(),
                format!("issuer \"{}\" is not an account public key: {error}", quoted(&key)),
                Some(
                    "issuers are account public keys: 56 characters starting with A; create one with `caplet keys gen account` and copy its public key (never the S... seed)"
                        .to_string(),
                ),
            ),
        }
    }
    !items.is_empty()
}

fn read_socket_addr(r: &mut Reader<'_>, value: &Value<'_>) -> Option<SocketAddr> {
    let text = r.string(value, "`control_api` in [host]")?;
    match text.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            r.diag.error(
                &value.span(),
                format!(
                    "`control_api` in [host] is not a socket address: \"{}\"",
                    quoted(&text)
                ),
                Some(
                    "write IP:PORT, e.g. \"127.0.0.1:7171\" or \"[::1]:7171\" (host names are not resolved)"
                        .to_string(),
                ),
            );
            None
        }
    }
}

/// Reads a limits table (`[host.limits]` or `[actor.limits]`), checking each key's range.
pub(crate) fn read_limits(r: &mut Reader<'_>, value: &Value<'_>, section: &str) -> LimitOverrides {
    let mut limits = LimitOverrides::default();
    let Some(table) = r.table(value, section) else {
        return limits;
    };
    let known: Vec<&str> = LIMIT_KEYS.iter().map(|k| k.key).collect();
    r.check_keys(table, section, &known);
    for key in &LIMIT_KEYS {
        let Some(item) = table.get(key.key) else {
            continue;
        };
        let what = format!("`{}` in {section}", key.key);
        let Some(n) = r.integer(item, &what) else {
            continue;
        };
        match u64::try_from(n) {
            Ok(n) if (key.min..=key.max).contains(&n) => *(key.field)(&mut limits) = Some(n),
            _ => {
                let hint = if n == 0 {
                    "zero is not accepted; leave the key out to keep the default".to_string()
                } else if n > 0 {
                    format!(
                        "the value is in {}; use {} to {}, or leave the key out to keep the default",
                        key.unit, key.min, key.max
                    )
                } else {
                    format!("use {} to {} ({})", key.min, key.max, key.unit)
                };
                r.diag.error(
                    &item.span(),
                    format!(
                        "{what} = {n} is out of range {}..={} {}",
                        key.min, key.max, key.unit
                    ),
                    Some(hint),
                );
            }
        }
    }
    limits
}
