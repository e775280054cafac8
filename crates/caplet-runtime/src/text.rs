//! Making guest text safe to print.
//!
//! Guest log lines and error messages end up in terminals and log pipelines. Control
//! characters (terminal escape sequences, carriage returns that overwrite lines, NULs) are
//! escaped so a guest cannot forge log lines or drive a terminal (hostile-guests.md D3).

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

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn escapes_terminal_sequences_and_newlines() {
        assert_eq!(sanitize("plain text"), "plain text");
        assert_eq!(sanitize("red\x1b[31m"), "red\\u{1b}[31m");
        assert_eq!(sanitize("line\nforged"), "line\\nforged");
    }
}
