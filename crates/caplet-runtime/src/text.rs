//! Making guest text safe to print.
//!
//! Guest log lines and error messages end up in terminals and log pipelines. Control
//! characters (terminal escape sequences, carriage returns that overwrite lines, NULs) are
//! escaped so a guest cannot forge log lines or drive a terminal (hostile-guests.md D3), and
//! [`LineBudget`] bounds how many lines a guest may log per second.

use std::time::{Duration, Instant};

/// Returns `text` with every control character written as a visible escape such as `\u{1b}`.
pub fn sanitize(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A one-second window of log lines: the per-instance `__console_log` limit and the host's
/// per-actor `Logging.WriteLog` limit both count lines with it, so they drop and report alike.
#[derive(Debug, Default, Clone, Copy)]
pub struct LineBudget {
    /// Start of the current one-second window; `None` before the first line.
    pub window: Option<Instant>,
    /// Lines let through in the current window.
    pub lines: u32,
    /// Lines dropped since the last line let through.
    pub dropped: u64,
}

impl LineBudget {
    /// Whether the window has ended (or never started) at `now`.
    pub fn expired(&self, now: Instant) -> bool {
        self.window
            .is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(1))
    }

    /// Takes one line of at most `limit` per second: `None` when it must be dropped (it is
    /// counted in `dropped`), else how many lines were dropped before it, to say so in it.
    pub fn admit(&mut self, now: Instant, limit: u32) -> Option<u64> {
        if self.expired(now) {
            self.window = Some(now);
            self.lines = 0;
        }
        if self.lines >= limit {
            self.dropped = self.dropped.saturating_add(1);
            return None;
        }
        self.lines = self.lines.saturating_add(1);
        Some(std::mem::take(&mut self.dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_budgets_drop_past_the_limit_and_report_in_the_next_window() {
        let start = Instant::now();
        let mut budget = LineBudget::default();
        let admitted: Vec<_> = (0..5).map(|_| budget.admit(start, 3)).collect();
        assert_eq!(admitted, [Some(0), Some(0), Some(0), None, None]);
        let later = start + Duration::from_millis(1000);
        assert_eq!(budget.admit(later, 3), Some(2));
        assert_eq!(budget.admit(later, 3), Some(0));
    }

    #[test]
    fn escapes_terminal_sequences_and_newlines() {
        assert_eq!(sanitize("plain text"), "plain text");
        assert_eq!(sanitize("red\x1b[31m"), "red\\u{1b}[31m");
        assert_eq!(sanitize("line\nforged"), "line\\nforged");
    }
}
