//! Link values and provider config: parsing and the validation `caplet up` runs first.
//!
//! One parser serves `bind` and [`validate_link`], so a manifest that validates binds, and the
//! errors name the key, the entry and the fix. Keys are case-insensitive because wasmCloud
//! manifests write them in capitals (`SUBSCRIPTION`).

use std::collections::BTreeMap;

use caplet_provider_api::{LinkValues, ProviderConfig};
use caplet_wire::messaging::HANDLE_MESSAGE;

use crate::limits::{DEFAULT_NATS_URL, MAX_SUBSCRIPTIONS_PER_LINK};
use crate::subject::{self, SubjectKind};

/// Link value: comma-separated subjects, each optionally `subject|queue-group`.
pub const LINK_SUBSCRIPTIONS: &str = "subscriptions";
/// wasmCloud's spelling of [`LINK_SUBSCRIPTIONS`] (any case), accepted as an alias.
pub const LINK_SUBSCRIPTION_ALIAS: &str = "subscription";
/// Link value: the operation delivered messages are sent to (default `Messaging.HandleMessage`).
pub const LINK_OPERATION: &str = "operation";
/// Provider config: the NATS server URL(s), comma-separated (default [`DEFAULT_NATS_URL`]).
pub const CONFIG_URL: &str = "url";

const LINK_KEYS: [&str; 3] = [LINK_SUBSCRIPTIONS, LINK_SUBSCRIPTION_ALIAS, LINK_OPERATION];
const CONFIG_KEYS: [&str; 1] = [CONFIG_URL];

/// One subscription of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubscriptionSpec {
    pub subject: String,
    pub queue: Option<String>,
}

/// A link's values, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkSettings {
    pub subscriptions: Vec<SubscriptionSpec>,
    pub operation: String,
}

/// Checks a messaging link's values: known keys only, valid subjects and queue groups, at most
/// [`MAX_SUBSCRIPTIONS_PER_LINK`] subscriptions. The error names the key and entry at fault.
pub fn validate_link(values: &LinkValues) -> Result<(), String> {
    parse_link(values).map(|_| ())
}

/// Checks a messaging provider's config: known keys only (`url`), and a parseable server URL.
pub fn validate_config(config: &ProviderConfig) -> Result<(), String> {
    nats_url(config).map(|_| ())
}

pub(crate) fn parse_link(values: &LinkValues) -> Result<LinkSettings, String> {
    let values = fold_keys(values, &LINK_KEYS, "link value")?;
    let listed = match (
        values.get(LINK_SUBSCRIPTIONS),
        values.get(LINK_SUBSCRIPTION_ALIAS),
    ) {
        (Some((first, _)), Some((second, _))) => {
            return Err(format!(
                "link values `{first}` and `{second}` both list subscriptions; keep one"
            ));
        }
        (Some((key, value)), None) | (None, Some((key, value))) => Some((*key, *value)),
        (None, None) => None,
    };
    let mut subscriptions: Vec<SubscriptionSpec> = Vec::new();
    if let Some((key, value)) = listed {
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let spec = parse_subscription(entry).map_err(|e| format!("link value `{key}`: {e}"))?;
            if subscriptions.contains(&spec) {
                return Err(format!(
                    "link value `{key}` lists `{entry}` twice; each message would be delivered \
                     twice, remove one"
                ));
            }
            subscriptions.push(spec);
        }
        if subscriptions.len() > MAX_SUBSCRIPTIONS_PER_LINK {
            return Err(format!(
                "link value `{key}` lists {} subscriptions, over the limit of \
                 {MAX_SUBSCRIPTIONS_PER_LINK} (MAX_SUBSCRIPTIONS_PER_LINK); use wildcards \
                 (`orders.*`, `orders.>`) to cover several subjects",
                subscriptions.len()
            ));
        }
    }
    let operation = match values.get(LINK_OPERATION) {
        None => HANDLE_MESSAGE.to_owned(),
        Some((key, value)) => {
            let value = value.trim();
            if value.is_empty() || value.contains(char::is_whitespace) {
                return Err(format!(
                    "link value `{key}` = `{}` is not an operation name; write one without \
                     spaces, e.g. `MessageSubscriber.HandleMessage`, or leave it out for \
                     `{HANDLE_MESSAGE}`",
                    value.escape_debug()
                ));
            }
            value.to_owned()
        }
    };
    Ok(LinkSettings {
        subscriptions,
        operation,
    })
}

fn parse_subscription(entry: &str) -> Result<SubscriptionSpec, String> {
    let (subject, queue) = match entry.split_once('|') {
        Some((subject, queue)) => (subject.trim(), Some(queue.trim())),
        None => (entry, None),
    };
    subject::validate(subject, SubjectKind::Pattern)
        .map_err(|e| format!("entry `{entry}`: {e}"))?;
    if let Some(queue) = queue {
        subject::validate_queue(queue).map_err(|e| format!("entry `{entry}`: {e}"))?;
    }
    Ok(SubscriptionSpec {
        subject: subject.to_owned(),
        queue: queue.map(str::to_owned),
    })
}

/// The NATS server URL(s) from the config, checked.
pub(crate) fn nats_url(config: &ProviderConfig) -> Result<String, String> {
    let config = fold_keys(config, &CONFIG_KEYS, "messaging provider config key")?;
    let Some((key, url)) = config.get(CONFIG_URL) else {
        return Ok(DEFAULT_NATS_URL.to_owned());
    };
    let url = url.trim();
    if url.is_empty() {
        return Err(format!(
            "config `{key}` is empty; give a NATS server such as `{DEFAULT_NATS_URL}`, or leave \
             it out for that default"
        ));
    }
    for server in url.split(',').map(str::trim) {
        server.parse::<async_nats::ServerAddr>().map_err(|e| {
            format!(
                "config `{key}`: `{server}` is not a NATS server address ({e}); write \
                 `nats://host:port` (or `tls://host:port`), several separated by commas"
            )
        })?;
    }
    Ok(url.to_owned())
}

/// Lower-cases the keys, refusing unknown keys (with the list of known ones) and keys given
/// twice in different case. Values keep the original key for error messages.
fn fold_keys<'a>(
    values: &'a BTreeMap<String, String>,
    known: &[&'static str],
    what: &str,
) -> Result<BTreeMap<&'static str, (&'a str, &'a str)>, String> {
    let mut folded = BTreeMap::new();
    for (key, value) in values {
        let lower = key.to_ascii_lowercase();
        let Some(canonical) = known.iter().find(|k| **k == lower) else {
            return Err(format!(
                "unknown {what} `{key}`; known keys (any case): {}",
                known.join(", ")
            ));
        };
        if let Some((first, _)) = folded.insert(*canonical, (key.as_str(), value.as_str())) {
            return Err(format!(
                "{what} `{canonical}` is given twice (as `{first}` and `{key}`); keep one"
            ));
        }
    }
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn subscriptions_parse_with_queue_groups_and_any_key_case() {
        let settings = parse_link(&values(&[(
            "SUBSCRIPTION",
            " orders.* , jobs.>|workers,,audit ",
        )]))
        .unwrap();
        assert_eq!(settings.operation, HANDLE_MESSAGE);
        let parsed: Vec<(&str, Option<&str>)> = settings
            .subscriptions
            .iter()
            .map(|s| (s.subject.as_str(), s.queue.as_deref()))
            .collect();
        assert_eq!(
            parsed,
            [
                ("orders.*", None),
                ("jobs.>", Some("workers")),
                ("audit", None)
            ]
        );
        let settings = parse_link(&values(&[
            ("Subscriptions", "a"),
            ("OPERATION", "MessageSubscriber.HandleMessage"),
        ]))
        .unwrap();
        assert_eq!(settings.operation, "MessageSubscriber.HandleMessage");
        assert!(
            parse_link(&LinkValues::new())
                .unwrap()
                .subscriptions
                .is_empty()
        );
    }

    #[test]
    fn bad_links_are_refused_with_the_key_and_the_fix() {
        let cases = [
            (
                values(&[("subscriptions", "a..b")]),
                "`subscriptions`: entry `a..b`",
            ),
            (values(&[("subscriptions", "a.>.b")]), "must come last"),
            (values(&[("subscriptions", "a b")]), "whitespace"),
            (
                values(&[("subscriptions", "a|")]),
                "queue group after `|` is empty",
            ),
            (values(&[("subscriptions", "a,a")]), "twice"),
            (
                values(&[("subscribtions", "a")]),
                "known keys (any case): subscriptions",
            ),
            (
                values(&[("subscriptions", "a"), ("SUBSCRIPTION", "b")]),
                "keep one",
            ),
            (values(&[("operation", " ")]), "not an operation name"),
        ];
        for (link, expected) in cases {
            let error = validate_link(&link).unwrap_err();
            assert!(error.contains(expected), "{link:?}: {error}");
        }
        let many = (0..=MAX_SUBSCRIPTIONS_PER_LINK)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let error = validate_link(&values(&[("subscriptions", &many)])).unwrap_err();
        assert!(error.contains("MAX_SUBSCRIPTIONS_PER_LINK"), "{error}");
    }

    #[test]
    fn config_takes_a_url_and_nothing_else() {
        assert_eq!(nats_url(&ProviderConfig::new()).unwrap(), DEFAULT_NATS_URL);
        let config = values(&[("URL", "nats://10.0.0.1:4222, nats://10.0.0.2:4222")]);
        assert_eq!(validate_config(&config), Ok(()));
        let error = validate_config(&values(&[("uri", "nats://x")])).unwrap_err();
        assert!(
            error.contains("unknown") && error.contains("url"),
            "{error}"
        );
        let error = validate_config(&values(&[("url", "")])).unwrap_err();
        assert!(error.contains("empty"), "{error}");
        let error = validate_config(&values(&[("url", "nats://host:notaport")])).unwrap_err();
        assert!(error.contains("not a NATS server address"), "{error}");
    }
}
