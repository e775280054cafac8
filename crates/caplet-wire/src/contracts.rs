//! Well-known capability contract ids, as wasmCloud 0.x (wascap 0.7+) names them.
//!
//! A module's `caps` claim lists the contracts it may call. Older modules use the waSCC names
//! (`wascc:keyvalue`, `wascc:http_server`, ...); [`canonical`] maps those to today's ids so a
//! host can compare either form. Unknown ids are kept as they are: custom contracts are allowed.

/// Key-value store.
pub const KEY_VALUE: &str = "wasmcloud:keyvalue";
/// Inbound HTTP: the module handles requests.
pub const HTTP_SERVER: &str = "wasmcloud:httpserver";
/// Publish/subscribe and request/reply messaging.
pub const MESSAGING: &str = "wasmcloud:messaging";
/// Outbound HTTP requests.
pub const HTTP_CLIENT: &str = "wasmcloud:httpclient";
/// Host logging (built in).
pub const LOGGING: &str = "wasmcloud:builtin:logging";
/// Blob (object) storage.
pub const BLOB_STORE: &str = "wasmcloud:blobstore";
/// Random numbers and GUIDs (built in).
pub const NUMBERGEN: &str = "wasmcloud:builtin:numbergen";

/// Every well-known id with its display name, in the order `caplet claims inspect` lists them.
pub const WELL_KNOWN: [(&str, &str); 7] = [
    (KEY_VALUE, "K/V Store"),
    (HTTP_SERVER, "HTTP Server"),
    (MESSAGING, "Messaging"),
    (HTTP_CLIENT, "HTTP Client"),
    (LOGGING, "Logging"),
    (BLOB_STORE, "Blob Store"),
    (NUMBERGEN, "Number Generation"),
];

/// Older names (waSCC, wascap 0.1-0.6) and the current id each one means.
const LEGACY_ALIASES: [(&str, &str); 7] = [
    ("wascc:keyvalue", KEY_VALUE),
    ("wascc:http_server", HTTP_SERVER),
    ("wascc:messaging", MESSAGING),
    ("wascc:http_client", HTTP_CLIENT),
    ("wascc:logging", LOGGING),
    ("wasmcloud:logging", LOGGING),
    ("wascc:blobstore", BLOB_STORE),
];

/// The current id for `id`: legacy waSCC names map to their wasmCloud id, others are unchanged.
pub fn canonical(id: &str) -> &str {
    LEGACY_ALIASES
        .iter()
        .find(|(legacy, _)| *legacy == id)
        .map_or(id, |(_, current)| current)
}

/// A display name such as "K/V Store"; unknown ids are returned unchanged.
pub fn display_name(id: &str) -> &str {
    let id = canonical(id);
    WELL_KNOWN
        .iter()
        .find(|(known, _)| *known == id)
        .map_or(id, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names_map_to_current_ids() {
        assert_eq!(canonical("wascc:http_server"), HTTP_SERVER);
        assert_eq!(canonical("wasmcloud:logging"), LOGGING);
        assert_eq!(canonical("acme:custom"), "acme:custom");
        assert_eq!(display_name("wascc:keyvalue"), "K/V Store");
        assert_eq!(display_name("acme:custom"), "acme:custom");
    }
}
