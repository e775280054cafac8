//! NATS subject syntax: validation and wildcard matching.
//!
//! Both providers accept exactly NATS' syntax (dot-separated tokens, `*` for one token, `>` for
//! the rest), so a manifest moves from the local broker to NATS unchanged. The local broker
//! matches with [`matches`]; NATS matches on the server.

use crate::limits::MAX_SUBJECT_BYTES;

/// What a subject is used for, which decides whether wildcards are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubjectKind {
    /// A subscription: `*` and `>` allowed as whole tokens.
    Pattern,
    /// A subject messages are published to (or a reply subject): no wildcards.
    Literal,
}

/// Checks `subject`; the error says what is wrong, without naming where the subject came from
/// (callers add that).
pub(crate) fn validate(subject: &str, kind: SubjectKind) -> Result<(), String> {
    if subject.is_empty() {
        return Err("the subject is empty".into());
    }
    if subject.len() > MAX_SUBJECT_BYTES {
        return Err(format!(
            "the subject is {} bytes, over the limit of {MAX_SUBJECT_BYTES} (MAX_SUBJECT_BYTES)",
            subject.len()
        ));
    }
    if let Some(position) = subject.find(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "subject `{}` contains whitespace or a control character at byte {position}; \
             subjects are dot-separated tokens without spaces, e.g. `orders.created`",
            subject.escape_debug()
        ));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    let last = tokens.len().saturating_sub(1);
    for (index, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(format!(
                "subject `{subject}` has an empty token (a leading, trailing or double dot); \
                 separate tokens with single dots, e.g. `orders.created`"
            ));
        }
        let wildcard = *token == "*" || *token == ">";
        if !wildcard && (token.contains('*') || token.contains('>')) {
            return Err(format!(
                "subject `{subject}` has the token `{token}`, which mixes a wildcard with other \
                 characters; `*` and `>` must be whole tokens, e.g. `orders.*`"
            ));
        }
        if wildcard && kind == SubjectKind::Literal {
            return Err(format!(
                "subject `{subject}` contains the wildcard `{token}`; messages go to concrete \
                 subjects, only subscriptions may use `*` and `>`"
            ));
        }
        if *token == ">" && index != last {
            return Err(format!(
                "subject `{subject}` uses `>` before its last token; `>` matches the rest of \
                 the subject and must come last, e.g. `orders.>`"
            ));
        }
    }
    Ok(())
}

/// Checks a queue group name: non-empty, bounded, no whitespace, no wildcards.
pub(crate) fn validate_queue(queue: &str) -> Result<(), String> {
    if queue.is_empty() {
        return Err(
            "the queue group after `|` is empty; write `subject|group` or just `subject`".into(),
        );
    }
    if queue.len() > MAX_SUBJECT_BYTES {
        return Err(format!(
            "the queue group is {} bytes, over the limit of {MAX_SUBJECT_BYTES} (MAX_SUBJECT_BYTES)",
            queue.len()
        ));
    }
    if queue.contains(|c: char| c.is_whitespace() || c.is_control() || c == '*' || c == '>') {
        return Err(format!(
            "queue group `{}` contains whitespace, a control character or a wildcard; use a \
             plain name such as `workers`",
            queue.escape_debug()
        ));
    }
    Ok(())
}

/// Whether the literal `subject` matches the subscription `pattern` (NATS rules: `*` matches
/// exactly one token, `>` one or more trailing tokens). Both are assumed valid.
pub(crate) fn matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for pattern_token in pattern.split('.') {
        match (pattern_token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(token)) if literal == token => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(matches("orders.created", "orders.created"));
        assert!(!matches("orders.created", "orders.created.eu"));
        assert!(!matches("orders.created.eu", "orders.created"));
        assert!(matches("orders.*", "orders.created"));
        assert!(!matches("orders.*", "orders.created.eu"));
        assert!(!matches("orders.*", "orders"));
        assert!(matches("*.created", "orders.created"));
        assert!(matches("orders.>", "orders.created"));
        assert!(matches("orders.>", "orders.created.eu.west"));
        assert!(!matches("orders.>", "orders"));
        assert!(matches(">", "anything.at.all"));
        assert!(matches("*.*.>", "a.b.c"));
        assert!(!matches("*.*.>", "a.b"));
        assert!(!matches("orders.created", "orders.deleted"));
    }

    #[test]
    fn bad_subjects_are_refused_with_the_reason() {
        let cases = [
            ("", "empty"),
            ("a..b", "empty token"),
            (".a", "empty token"),
            ("a.", "empty token"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a.>.b", "must come last"),
            ("a.b*", "whole tokens"),
            ("a.>b", "whole tokens"),
        ];
        for (subject, reason) in cases {
            let error = validate(subject, SubjectKind::Pattern).unwrap_err();
            assert!(error.contains(reason), "{subject:?}: {error}");
        }
        let long = "a".repeat(MAX_SUBJECT_BYTES + 1);
        assert!(
            validate(&long, SubjectKind::Literal)
                .unwrap_err()
                .contains("MAX_SUBJECT_BYTES")
        );
    }

    #[test]
    fn wildcards_are_for_subscriptions_only() {
        for subject in ["a.*", "a.>", ">", "*.b.*"] {
            assert_eq!(validate(subject, SubjectKind::Pattern), Ok(()), "{subject}");
            let error = validate(subject, SubjectKind::Literal).unwrap_err();
            assert!(error.contains("only subscriptions"), "{error}");
        }
        assert_eq!(validate("_INBOX.abc123", SubjectKind::Literal), Ok(()));
    }

    #[test]
    fn queue_groups_are_plain_names() {
        assert_eq!(validate_queue("workers"), Ok(()));
        assert!(validate_queue("").is_err());
        assert!(validate_queue("my workers").is_err());
        assert!(validate_queue("w*").is_err());
    }
}
