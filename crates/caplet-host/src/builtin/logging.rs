//! `wasmcloud:builtin:logging`: actor log lines into the host's log, bounded and sanitised.

use caplet_provider_api::{
    ActorRef, BoxFuture, LinkDefinition, Provider, ProviderCall, ProviderError,
};
use caplet_runtime::text::sanitize;
use caplet_wire::contracts::LOGGING;
use caplet_wire::logging::{LogEntry, WRITE_LOG};

use crate::MAX_LOG_LINE_BYTES;

/// Writes `Logging.WriteLog` entries through `tracing`, tagged with the actor's name. The text
/// is cut to [`MAX_LOG_LINE_BYTES`] and control characters are escaped, so a guest cannot forge
/// log lines or flood the log with one huge line.
#[derive(Debug, Default)]
pub struct LoggingProvider;

impl Provider for LoggingProvider {
    fn contract_id(&self) -> &str {
        LOGGING
    }

    fn implementation(&self) -> &str {
        "builtin"
    }

    fn bind(&self, _link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn unbind<'a>(&'a self, _actor: &'a ActorRef, _link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn handle(&self, call: ProviderCall) -> BoxFuture<'_, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            if call.operation != WRITE_LOG && call.operation != "WriteLog" {
                return Err(super::unknown_operation(
                    LOGGING,
                    &call.operation,
                    &[WRITE_LOG],
                ));
            }
            let entry: LogEntry = caplet_wire::decode(&call.payload)
                .map_err(|e| ProviderError::BadRequest(e.to_string()))?;
            let text = bounded(&entry.text);
            let actor = &*call.actor.name;
            match entry.level.to_ascii_lowercase().as_str() {
                "error" => tracing::error!(target: "caplet::actor", actor, "{text}"),
                "warn" | "warning" => tracing::warn!(target: "caplet::actor", actor, "{text}"),
                "debug" => tracing::debug!(target: "caplet::actor", actor, "{text}"),
                "trace" => tracing::trace!(target: "caplet::actor", actor, "{text}"),
                _ => tracing::info!(target: "caplet::actor", actor, "{text}"),
            }
            Ok(Vec::new())
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// `text` sanitised and cut to [`MAX_LOG_LINE_BYTES`] at a character boundary.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_LOG_LINE_BYTES {
        return sanitize(text);
    }
    let mut end = MAX_LOG_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = text.get(..end).unwrap_or_default();
    format!("{}…[truncated]", sanitize(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_control_characters_escaped() {
        let long = "é".repeat(MAX_LOG_LINE_BYTES);
        let cut = bounded(&long);
        assert!(cut.ends_with("…[truncated]"));
        assert!(cut.len() < MAX_LOG_LINE_BYTES + 32);
        assert!(!bounded("a\nb\x1b[31m").contains('\n'));
    }
}
