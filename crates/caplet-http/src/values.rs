//! Link values and provider config as both providers read them: keys compare
//! case-insensitively (wasmCloud manifests write `PORT` as often as `port`), and an unknown
//! key is an error that lists the known ones, so a typo never silently disables a setting.

use std::collections::BTreeMap;

/// The value of `key` (any letter case) in `values`, trimmed.
pub(crate) fn get<'a>(values: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    values
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| value.trim())
}

/// Fails on the first key of `values` that is not one of `known` (any letter case).
/// `what` names the map in the message: "http server link value", ...
pub(crate) fn reject_unknown(
    values: &BTreeMap<String, String>,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    match values
        .keys()
        .find(|key| !known.iter().any(|k| k.eq_ignore_ascii_case(key)))
    {
        Some(key) => Err(format!(
            "unknown {what} `{key}`; known keys: {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Parses `key` as a positive integer; `None` when absent.
pub(crate) fn positive(
    values: &BTreeMap<String, String>,
    key: &str,
    what: &str,
) -> Result<Option<u64>, String> {
    let Some(text) = get(values, key) else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(format!(
            "{what} `{key}` must be a positive whole number, got `{text}`"
        )),
        Ok(n) => Ok(Some(n)),
    }
}

/// Parses `key` as a byte count that fits `usize`; `None` when absent.
pub(crate) fn byte_count(
    values: &BTreeMap<String, String>,
    key: &str,
    what: &str,
) -> Result<Option<usize>, String> {
    positive(values, key, what)?
        .map(|n| {
            usize::try_from(n)
                .map_err(|_| format!("{what} `{key}` is too large for this platform: {n}"))
        })
        .transpose()
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
    fn keys_are_case_insensitive_and_unknown_keys_are_named() {
        let values = map(&[("PORT", " 8080 "), ("Colour", "red")]);
        assert_eq!(get(&values, "port"), Some("8080"));
        let error = reject_unknown(&values, &["port", "address"], "link value").unwrap_err();
        assert_eq!(
            error,
            "unknown link value `Colour`; known keys: port, address"
        );
        assert_eq!(positive(&values, "port", "v").unwrap(), Some(8080));
        assert!(positive(&map(&[("n", "0")]), "n", "v").is_err());
        assert!(positive(&map(&[("n", "-3")]), "n", "v").is_err());
        assert_eq!(positive(&values, "absent", "v").unwrap(), None);
    }
}
