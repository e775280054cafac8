//! `wasmcloud:builtin:logging`, served inside the host.

use serde::{Deserialize, Serialize};

/// Write one [`LogEntry`]; no output.
pub const WRITE_LOG: &str = "Logging.WriteLog";

/// One log line from an actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// `error`, `warn`, `info`, `debug` or `trace` (case-insensitive); anything else is `info`.
    pub level: String,
    /// The text.
    pub text: String,
}
