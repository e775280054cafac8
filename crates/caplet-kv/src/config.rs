//! Reading provider config and link values: case-insensitive keys, sizes and durations.
//!
//! `caplet up` validates a manifest before it starts anything, with the same functions the
//! providers use when they are built, so an error is reported once, early, and in the same
//! words: which key, which value, what is accepted.

use std::collections::BTreeMap;
use std::time::Duration;

/// The value of `key` in `map`, matching key names case-insensitively. Two spellings of the
/// same key (`url` and `URL`) are an error, since one would silently win.
pub(crate) fn lookup<'a>(
    map: &'a BTreeMap<String, String>,
    key: &str,
    what: &str,
) -> Result<Option<&'a str>, String> {
    let mut found: Option<(&str, &str)> = None;
    for (name, value) in map {
        if !name.eq_ignore_ascii_case(key) {
            continue;
        }
        if let Some((first, _)) = found {
            return Err(format!(
                "{what} has both `{first}` and `{name}`: they are the same key (keys are \
                 case-insensitive); keep one"
            ));
        }
        found = Some((name, value));
    }
    Ok(found.map(|(_, value)| value))
}

/// Rejects keys not in `known` (case-insensitively), listing the known ones.
pub(crate) fn reject_unknown_keys(
    map: &BTreeMap<String, String>,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    let unknown: Vec<&str> = map
        .keys()
        .filter(|name| !known.iter().any(|k| k.eq_ignore_ascii_case(name)))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{what}: unknown key{} {}; known keys: {}",
        if unknown.len() == 1 { "" } else { "s" },
        quoted(&unknown),
        quoted(known)
    ))
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A positive byte count: digits, optionally followed by `KiB`, `MiB` or `GiB`
/// (case-insensitive, spaces allowed before the unit).
pub(crate) fn parse_bytes(key: &str, value: &str) -> Result<usize, String> {
    let text = value.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "kib" => 10,
        "mib" => 20,
        "gib" => 30,
        _ => return Err(bytes_error(key, value)),
    };
    let number: usize = digits.parse().map_err(|_| bytes_error(key, value))?;
    let bytes = number
        .checked_mul(1usize << shift)
        .ok_or_else(|| bytes_error(key, value))?;
    if bytes == 0 {
        return Err(format!("`{key}` = \"{value}\" must be at least 1 byte"));
    }
    Ok(bytes)
}

fn bytes_error(key: &str, value: &str) -> String {
    format!(
        "`{key}` = \"{value}\" is not a byte size; write a whole number of bytes, optionally \
         with a KiB, MiB or GiB suffix (e.g. \"67108864\" or \"64MiB\")"
    )
}

/// Most milliseconds a timeout key accepts (one minute).
const MAX_TIMEOUT_MS: u64 = 60_000;

/// A timeout in whole milliseconds, 1 to 60000.
pub(crate) fn parse_millis(key: &str, value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "`{key}` = \"{value}\" is not a timeout; write whole milliseconds from 1 to \
             {MAX_TIMEOUT_MS} (e.g. \"2000\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn lookup_is_case_insensitive_and_refuses_two_spellings() {
        assert_eq!(
            lookup(&map(&[("URL", "x")]), "url", "link").unwrap(),
            Some("x")
        );
        assert_eq!(lookup(&map(&[]), "url", "link").unwrap(), None);
        let error = lookup(&map(&[("URL", "x"), ("url", "y")]), "url", "link").unwrap_err();
        assert!(error.contains("`URL` and `url`"), "{error}");
    }

    #[test]
    fn unknown_keys_are_listed_with_the_known_ones() {
        let error =
            reject_unknown_keys(&map(&[("urk", "x")]), &["url", "max_bytes"], "redis").unwrap_err();
        assert_eq!(
            error,
            "redis: unknown key `urk`; known keys: `url`, `max_bytes`"
        );
        assert!(reject_unknown_keys(&map(&[("URL", "x")]), &["url"], "redis").is_ok());
    }

    #[test]
    fn byte_sizes_accept_suffixes_and_refuse_nonsense() {
        assert_eq!(parse_bytes("max_bytes", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("max_bytes", "64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("max_bytes", " 2 kib ").unwrap(), 2048);
        assert_eq!(parse_bytes("max_bytes", "1GiB").unwrap(), 1 << 30);
        for bad in [
            "",
            "0",
            "-1",
            "12MB",
            "1.5MiB",
            "MiB",
            "99999999999999999999999GiB",
        ] {
            assert!(parse_bytes("max_bytes", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn timeouts_are_bounded_milliseconds() {
        assert_eq!(
            parse_millis("t", "250").unwrap(),
            Duration::from_millis(250)
        );
        for bad in ["0", "60001", "1s", ""] {
            assert!(parse_millis("t", bad).is_err(), "{bad:?} accepted");
        }
    }
}
