//! Errors and the exit-status policy.
//!
//! The exit status is decided here and nowhere else:
//! - `0`: success,
//! - `2`: the user's input is wrong ([`Error::Input`]): a scenario file, a `--set`, a flag
//!   value. Nothing has been written when this is returned.
//! - `1`: anything else ([`Error::Io`], [`Error::Other`]), including a run stopped at a
//!   resource limit ([`Error::Stopped`], whose results so far are written);
//! - `130`: interrupted by Ctrl-C ([`Error::Interrupted`]); finished results are written.

use std::fmt;

/// Everything that can go wrong in queuelab.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario file or an argument is wrong. Exit status 2.
    #[error("{0}")]
    Input(Box<InputError>),
    /// Reading or writing a file failed. Exit status 1.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Any other failure (exit status 1).
    #[error("{0}")]
    Other(String),
    /// A run stopped at a resource limit; its results so far were written. Exit status 1.
    #[error("{0}")]
    Stopped(String),
    /// Interrupted (Ctrl-C); finished results were written. Exit status 130.
    #[error("{0}")]
    Interrupted(String),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Io { .. } | Error::Other(_) | Error::Stopped(_) => 1,
            Error::Interrupted(_) => 130,
        }
    }

    /// An I/O error with the path or action that failed.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// A problem with user input, with as much location as is known.
///
/// Rendered as `file:line:col: key `k`: message`, then the offending source line with a
/// caret under the column, then `allowed: ...` and `hint: ...` lines where known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputError {
    /// The scenario file, or the argument (`--set`, `--vary`, ...) at fault.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    /// 1-based column in `file`.
    pub col: Option<usize>,
    /// The dotted key at fault, e.g. `consumers.count`.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub allowed: Option<String>,
    /// A suggestion, e.g. "did you mean `consumers`?".
    pub hint: Option<String>,
    /// The source line, shown with a caret under `col`.
    pub source_line: Option<String>,
}

impl InputError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
            ..Default::default()
        }
    }

    /// Sets the key at fault.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets what is allowed.
    pub fn allowed(mut self, allowed: impl Into<String>) -> Self {
        self.allowed = Some(allowed.into());
        self
    }

    /// Sets a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the file (or argument) the error is in.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets the location from a byte offset into `text`.
    pub fn at_offset(mut self, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = text[line_start..offset].chars().count() + 1;
        let line_end = text[line_start..]
            .find('\n')
            .map(|i| line_start + i)
            .unwrap_or(text.len());
        self.line = Some(line);
        self.col = Some(col);
        self.source_line = Some(
            text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
        );
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.col {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let (Some(src), Some(line)) = (&self.source_line, self.line) {
            let gutter = line.to_string().len();
            write!(f, "\n {:gutter$} |\n {line} | {src}", "")?;
            if let Some(col) = self.col {
                let pad: String = src
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n {:gutter$} | {pad}^", "")?;
            }
        }
        if let Some(allowed) = &self.allowed {
            write!(f, "\n  allowed: {allowed}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// The closest candidate to `word` if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&word.to_lowercase(), &c.to_lowercase());
        let len = c.len().max(word.len());
        let limit = if len <= 3 { 1 } else { (len / 3).max(2) };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance between two strings (by chars).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let keys = ["consumers", "producers", "queue"];
        assert_eq!(did_you_mean("consumer", keys), Some("consumers"));
        assert_eq!(did_you_mean("qeueu", keys), Some("queue"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }

    #[test]
    fn location_from_offset() {
        let text = "a = 1\nbb = 2\n";
        let e = InputError::new("bad").in_file("f.toml").at_offset(text, 8);
        assert_eq!((e.line, e.col), (Some(2), Some(3)));
        let shown = e.to_string();
        assert!(shown.starts_with("f.toml:2:3: bad"), "{shown}");
        assert!(shown.contains("bb = 2"));
    }
}
