//! A link's values and the provider config, parsed and checked once at bind (and by
//! `caplet up` through [`super::validate_link`]) so the request path never parses strings.

use std::net::SocketAddr;
use std::sync::Arc;

use caplet_provider_api::{LinkValues, ProviderConfig};

use super::{DEFAULT_ADDRESS, MAX_REQUEST_BODY_BYTES};
use crate::values;

/// Link value: the socket address to listen on, `IP:PORT`.
pub(crate) const ADDRESS: &str = "address";
/// Link value: the port, meaning `127.0.0.1:PORT` (wasmCloud's `PORT`).
pub(crate) const PORT: &str = "port";
/// Link value: the path prefix this link serves, stripped before the actor sees the path.
pub(crate) const PATH_PREFIX: &str = "path_prefix";
/// Link value and provider config: the request body limit in bytes.
pub(crate) const MAX_BODY_BYTES: &str = "max_body_bytes";

/// Every link value the server reads.
pub const LINK_KEYS: [&str; 4] = [ADDRESS, PORT, PATH_PREFIX, MAX_BODY_BYTES];
/// Every provider config key the server reads.
pub const CONFIG_KEYS: [&str; 1] = [MAX_BODY_BYTES];

/// What the provider config sets for every link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerConfig {
    /// The body limit of links that do not set their own.
    pub max_body_bytes: usize,
}

impl ServerConfig {
    pub(crate) fn parse(config: &ProviderConfig) -> Result<Self, String> {
        values::reject_unknown(config, &CONFIG_KEYS, "http server config key")?;
        let max_body_bytes = values::byte_count(config, MAX_BODY_BYTES, "http server config")?
            .unwrap_or(MAX_REQUEST_BODY_BYTES);
        Ok(Self { max_body_bytes })
    }
}

/// One link's parsed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkSettings {
    /// Where to listen (port 0: any free port, see `HttpServer::local_addr`).
    pub addr: SocketAddr,
    /// The normalised prefix: empty for the root, else `/a/b` without a trailing slash.
    pub prefix: Arc<str>,
    /// The request body limit.
    pub max_body_bytes: usize,
}

impl LinkSettings {
    pub(crate) fn parse(values: &LinkValues, config: ServerConfig) -> Result<Self, String> {
        values::reject_unknown(values, &LINK_KEYS, "http server link value")?;
        let addr = match (values::get(values, ADDRESS), values::get(values, PORT)) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "http server link values `{ADDRESS}` and `{PORT}` both set; \
                     keep one (`{PORT}` means 127.0.0.1:PORT)"
                ));
            }
            (Some(text), None) => text.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "http server link value `{ADDRESS}` = `{text}` is not a socket address; \
                     write IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
                )
            })?,
            (None, Some(text)) => {
                let port = text.parse::<u16>().map_err(|_| {
                    format!("http server link value `{PORT}` = `{text}` is not a port (0-65535)")
                })?;
                SocketAddr::from(([127, 0, 0, 1], port))
            }
            (None, None) => DEFAULT_ADDRESS
                .parse()
                .map_err(|_| format!("DEFAULT_ADDRESS `{DEFAULT_ADDRESS}` does not parse"))?,
        };
        let prefix = normalize_prefix(values::get(values, PATH_PREFIX).unwrap_or(""))?;
        let max_body_bytes = values::byte_count(values, MAX_BODY_BYTES, "http server link value")?
            .unwrap_or(config.max_body_bytes);
        Ok(Self {
            addr,
            prefix: prefix.into(),
            max_body_bytes,
        })
    }
}

/// `""` and `"/"` → `""` (the root); `/api/` → `/api`. A prefix must start with `/` and hold
/// no query, fragment, whitespace or control character.
fn normalize_prefix(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    if !text.starts_with('/') {
        return Err(format!(
            "http server link value `{PATH_PREFIX}` = `{text}` must start with `/`, e.g. /api"
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "http server link value `{PATH_PREFIX}` = `{text}` contains {bad:?}; \
             a prefix is a plain path such as /api/v1"
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: ServerConfig = ServerConfig { max_body_bytes: 10 };

    fn parse(pairs: &[(&str, &str)]) -> Result<LinkSettings, String> {
        let values = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LinkSettings::parse(&values, CONFIG)
    }

    #[test]
    fn defaults_port_and_prefix_normalisation() {
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.addr.to_string(), DEFAULT_ADDRESS);
        assert_eq!(&*settings.prefix, "");
        assert_eq!(settings.max_body_bytes, 10);
        let settings = parse(&[("PORT", "9000"), ("Path_Prefix", "/api/")]).unwrap();
        assert_eq!(settings.addr.to_string(), "127.0.0.1:9000");
        assert_eq!(&*settings.prefix, "/api");
        assert_eq!(&*parse(&[("path_prefix", "/")]).unwrap().prefix, "");
        let settings = parse(&[("address", "[::1]:81"), ("max_body_bytes", "5")]).unwrap();
        assert_eq!(settings.addr.to_string(), "[::1]:81");
        assert_eq!(settings.max_body_bytes, 5);
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("address", "localhost:80")], "not a socket address"),
            (&[("port", "70000")], "not a port"),
            (&[("port", "1"), ("address", "127.0.0.1:1")], "both set"),
            (&[("path_prefix", "api")], "must start with `/`"),
            (&[("path_prefix", "/a?b")], "contains '?'"),
            (&[("max_body_bytes", "lots")], "positive whole number"),
        ];
        for (pairs, expected) in cases {
            let error = parse(pairs).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        let error = parse(&[("tls_cert", "x")]).unwrap_err();
        assert!(error.contains("known keys: address, port"), "{error}");
        let config = [("colour".to_owned(), "red".to_owned())].into();
        assert!(
            ServerConfig::parse(&config)
                .unwrap_err()
                .contains("max_body_bytes")
        );
    }
}
