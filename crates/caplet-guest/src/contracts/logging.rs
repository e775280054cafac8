//! `wasmcloud:builtin:logging`: structured log lines with a level, served inside the host.
//!
//! Unlike [`console_log`](crate::console_log), which needs no capability, these calls go through
//! the host's router: the actor's claims must list `wasmcloud:builtin:logging`. Levels are
//! `error`, `warn`, `info`, `debug` and `trace`; the host treats anything else as `info`.

use caplet_wire::contracts::LOGGING;
use caplet_wire::logging::{LogEntry, WRITE_LOG};

use super::{DEFAULT_LINK, call};
use crate::error::GuestError;

/// Writes `text` to the host's log at `level`.
pub fn write_log(level: &str, text: &str) -> Result<(), GuestError> {
    let entry = LogEntry {
        level: level.to_owned(),
        text: text.to_owned(),
    };
    call(DEFAULT_LINK, LOGGING, WRITE_LOG, &entry).map(drop)
}

/// Writes `text` at level `error`.
pub fn error(text: &str) -> Result<(), GuestError> {
    write_log("error", text)
}

/// Writes `text` at level `warn`.
pub fn warn(text: &str) -> Result<(), GuestError> {
    write_log("warn", text)
}

/// Writes `text` at level `info`.
pub fn info(text: &str) -> Result<(), GuestError> {
    write_log("info", text)
}

/// Writes `text` at level `debug`.
pub fn debug(text: &str) -> Result<(), GuestError> {
    write_log("debug", text)
}
