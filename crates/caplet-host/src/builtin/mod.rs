//! Providers served inside the host, as wasmCloud serves them: logging (rate-limited per actor,
//! [`crate::DEFAULT_MAX_LOG_LINES_PER_SECOND`]) and number generation.
//! They are ordinary [`caplet_provider_api::Provider`]s, installed for link `default` when the
//! host starts; the router asks only for the capability claim, not a link, before calling them.

mod logging;
mod numbergen;

pub use logging::{LoggingProvider, logging_lines_dropped};
pub use numbergen::NumberGenProvider;

use caplet_provider_api::ProviderError;

fn unknown_operation(contract: &str, operation: &str, known: &[&str]) -> ProviderError {
    ProviderError::BadRequest(format!(
        "unknown operation `{operation}` for {contract}; known operations: {}",
        known.join(", ")
    ))
}
