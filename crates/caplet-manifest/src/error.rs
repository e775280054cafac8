//! Errors that point into the manifest: file, line and column, what failed and what to do.
//!
//! A manifest is checked as a whole and every problem is reported at once, so an operator fixes
//! a file in one round instead of one error per `caplet up`. The host adds its own
//! provider-specific errors to the same list with [`ManifestError::new`].

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Errors reported for one manifest at most; the rest are summed up in one last error.
///
/// Default: 100 errors. When hit: the list is cut after the first 100 (in file order) and a final
/// error says how many more there were. Change: edit this constant; a real manifest never comes
/// close, the bound only keeps a hostile or binary file from flooding the terminal.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The manifest file, as it was given.
    pub file: PathBuf,
    /// 1-based line; 0 when the error concerns the file as a whole (it could not be read).
    pub line: usize,
    /// 1-based column in characters; 0 together with `line` 0.
    pub column: usize,
    /// What failed.
    pub message: String,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
}

impl ManifestError {
    /// An error at `line`:`column` of `file` (both 1-based; 0 for the file as a whole).
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        ManifestError {
            file: file.into(),
            line,
            column,
            message: message.into(),
            hint,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestError {}

/// Every problem found in a manifest, in file order. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestErrors {
    errors: Vec<ManifestError>,
}

impl ManifestErrors {
    /// An empty list, for callers that collect their own errors (provider checks in `caplet up`).
    pub fn new() -> Self {
        ManifestErrors::default()
    }

    /// Adds one error.
    pub fn push(&mut self, error: ManifestError) {
        self.errors.push(error);
    }

    /// The errors, in the order they were found or sorted (see [`ManifestErrors::sort`]).
    pub fn errors(&self) -> &[ManifestError] {
        &self.errors
    }

    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ManifestError> {
        self.errors.iter()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when there is no error.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Orders the errors by file, line and column and drops exact repeats.
    pub fn sort(&mut self) {
        self.errors
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.errors.dedup();
    }

    /// `Ok(value)` when there are no errors, otherwise `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, ManifestErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The errors as a vector.
    pub fn into_vec(self) -> Vec<ManifestError> {
        self.errors
    }
}

impl From<ManifestError> for ManifestErrors {
    fn from(error: ManifestError) -> Self {
        ManifestErrors {
            errors: vec![error],
        }
    }
}

impl From<Vec<ManifestError>> for ManifestErrors {
    fn from(errors: Vec<ManifestError>) -> Self {
        ManifestErrors { errors }
    }
}

impl Extend<ManifestError> for ManifestErrors {
    fn extend<I: IntoIterator<Item = ManifestError>>(&mut self, iter: I) {
        self.errors.extend(iter);
    }
}

impl IntoIterator for ManifestErrors {
    type Item = ManifestError;
    type IntoIter = std::vec::IntoIter<ManifestError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ManifestErrors {
    type Item = &'a ManifestError;
    type IntoIter = std::slice::Iter<'a, ManifestError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// One error per line block, separated by newlines (no trailing newline).
impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}

/// Maps byte offsets of the manifest text to 1-based lines and character columns.
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, line_starts }
    }

    /// The (line, column) of `offset`; offsets past the end point at the end.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text.get(start..).map_or(0, |rest| {
            rest.char_indices()
                .take_while(|&(i, _)| start + i < offset)
                .count()
        });
        (line, column + 1)
    }
}

/// The collector every check reports to while a manifest is read.
pub(crate) struct Diagnostics<'a> {
    file: &'a Path,
    index: LineIndex<'a>,
    errors: Vec<ManifestError>,
}

impl<'a> Diagnostics<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Diagnostics {
            file,
            index: LineIndex::new(text),
            errors: Vec::new(),
        }
    }

    /// Records an error at the start of `span`.
    pub(crate) fn error(
        &mut self,
        span: &Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let (line, column) = self.index.position(span.start);
        self.errors
            .push(ManifestError::new(self.file, line, column, message, hint));
    }

    /// The 1-based line `span` starts on.
    pub(crate) fn line(&self, span: &Range<usize>) -> usize {
        self.index.position(span.start).0
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors in file order, repeats dropped, at most [`MAX_REPORTED_ERRORS`] plus a summary.
    pub(crate) fn finish(self) -> ManifestErrors {
        let mut errors = ManifestErrors::from(self.errors);
        errors.sort();
        if errors.errors.len() > MAX_REPORTED_ERRORS {
            let more = errors.errors.len() - MAX_REPORTED_ERRORS;
            errors.errors.truncate(MAX_REPORTED_ERRORS);
            errors.errors.push(ManifestError::new(
                self.file,
                0,
                0,
                format!("{more} more errors not shown"),
                Some("fix the errors above and run again".to_string()),
            ));
        }
        errors
    }
}

/// Longest name compared for "did you mean": longer input is too far from any candidate to help.
const MAX_SUGGEST_LEN: usize = 64;

/// `candidates` most similar to `target` first (ties keep their order), and the first of them
/// when it is close enough to be a likely typo.
pub(crate) fn rank<'c>(target: &str, candidates: &[&'c str]) -> (Option<&'c str>, Vec<&'c str>) {
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .map(|&c| (edit_distance(target, c), c))
        .collect();
    scored.sort_by_key(|&(distance, _)| distance);
    let close = scored
        .first()
        .filter(|&&(distance, c)| distance <= (c.chars().count() / 3).max(1))
        .map(|&(_, c)| c);
    (close, scored.into_iter().map(|(_, c)| c).collect())
}

/// `a`, `b`, `c` (at most `max`, then ", ...").
pub(crate) fn list(items: &[&str], max: usize) -> String {
    let mut out: Vec<String> = items.iter().take(max).map(|i| format!("`{i}`")).collect();
    if items.len() > max {
        out.push("...".to_string());
    }
    out.join(", ")
}

/// Levenshtein distance over characters; `usize::MAX` for overlong input.
fn edit_distance(a: &str, b: &str) -> usize {
    if a.len() > MAX_SUGGEST_LEN || b.len() > MAX_SUGGEST_LEN {
        return usize::MAX;
    }
    let b: Vec<char> = b.chars().collect();
    // One row of the table, updated in place: `diagonal` holds the previous row's value left
    // of the cell being computed.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (cell, cb) in row.iter_mut().skip(1).zip(&b) {
            let above = *cell;
            let value = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(left + 1);
            diagonal = above;
            *cell = value;
            left = value;
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let index = LineIndex::new("ab\nçd = 1\n\nx");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(1), (1, 2));
        assert_eq!(index.position(3), (2, 1));
        assert_eq!(index.position(5), (2, 2)); // after the two-byte 'ç'
        assert_eq!(index.position(11), (3, 1));
        assert_eq!(index.position(12), (4, 1));
        assert_eq!(index.position(999), (4, 2));
        assert_eq!(LineIndex::new("").position(0), (1, 1));
    }

    #[test]
    fn display_has_position_and_hint() {
        let e = ManifestError::new("caplet.toml", 12, 9, "bad", Some("fix it".into()));
        assert_eq!(
            e.to_string(),
            "caplet.toml:12:9: error: bad\n  hint: fix it"
        );
        let e = ManifestError::new("caplet.toml", 0, 0, "missing", None);
        assert_eq!(e.to_string(), "caplet.toml: error: missing");
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("instance", "instances"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("çé", "ce"), 2);
        assert_eq!(
            rank("instance", &["name", "instances"]),
            (Some("instances"), vec!["instances", "name"])
        );
        assert_eq!(rank("zzz", &["name", "path"]).0, None);
        assert_eq!(rank("pth", &["name", "path"]).1, vec!["path", "name"]);
        assert_eq!(list(&["a", "b", "c"], 2), "`a`, `b`, ...");
    }
}
