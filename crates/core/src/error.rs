//! Errors and the exit-status policy.
//!
//! The exit status is decided here and nowhere else:
//! - `0`: success,
//! - `2`: the user's input is wrong ([`Error::Input`]): a scenario file, a `--set`, a flag
//!   value. Nothing has been written when this is returned.
//! - `1`: anything else ([`Error::Io`], [`Error::Encode`], [`Error::Other`]), including a
//!   run stopped at a resource limit ([`Error::Stopped`], whose results so far are written);
//! - `130`: interrupted by Ctrl-C ([`Error::Interrupted`]); finished results are written.
//!
//! An input error carries an [`ErrorKind`] as well as its words, so that a program (the
//! browser lab, a test) can match on what went wrong instead of on the text; the kind has
//! a stable snake_case name ([`ErrorKind::name`], and the same name through serde).

use serde::Serialize;
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
    /// Encoding an output (JSON, CSV) failed: a bug, never the user's input. Exit status 1.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded, e.g. `summary.json`.
        what: &'static str,
        /// The encoder's error.
        message: String,
    },
    /// Any other failure of the command line (exit status 1); the core does not use it.
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
            Error::Io { .. } | Error::Encode { .. } | Error::Other(_) | Error::Stopped(_) => 1,
            Error::Interrupted(_) => 130,
        }
    }

    /// The kind of input error, if this is one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Input(e) => Some(e.kind),
            _ => None,
        }
    }

    /// An encoding error (a bug: our own values failed to encode).
    pub fn encode(what: &'static str, e: impl fmt::Display) -> Self {
        Error::Encode {
            what,
            message: e.to_string(),
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

/// What kind of problem an [`InputError`] is.
///
/// The names ([`ErrorKind::name`], and serde's) are part of the interface: they are
/// snake_case and do not change once released. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not valid TOML (or a value cannot be read as TOML).
    Syntax,
    /// A key the scenario format does not have (`sead`, `consumers.cont`).
    UnknownKey,
    /// A word that is not one of the allowed values (`overflow = "drop"`, `dist = "poisson"`).
    UnknownValue,
    /// A name that names nothing: a variant, a producer, an entry of a list.
    UnknownName,
    /// A value of the wrong type (a string where a whole number goes).
    WrongType,
    /// A required key or argument is missing.
    Missing,
    /// A number outside its allowed range (a negative rate, a probability above 1).
    OutOfRange,
    /// Keys or values that do not go together (`queue.capacity` with an SQS broker, a
    /// requeue loop that takes no time).
    Conflict,
    /// A duration that cannot be read (`"10 fortnights"`).
    BadDuration,
    /// A `--set`, `unset` or variant overlay that is malformed or cannot be applied.
    BadOverride,
    /// Two entries with the same name.
    Duplicate,
    /// A name that cannot name an output folder.
    BadName,
    /// More than this machine can do: the work of a run, its memory, a size.
    TooLarge,
    /// A combination that is not modelled (no closed form, not a textbook queue).
    Unsupported,
    /// A flag or argument whose value is wrong, not otherwise classified (the command
    /// line's errors; the core always says which kind).
    #[default]
    Invalid,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::Syntax,
        ErrorKind::UnknownKey,
        ErrorKind::UnknownValue,
        ErrorKind::UnknownName,
        ErrorKind::WrongType,
        ErrorKind::Missing,
        ErrorKind::OutOfRange,
        ErrorKind::Conflict,
        ErrorKind::BadDuration,
        ErrorKind::BadOverride,
        ErrorKind::Duplicate,
        ErrorKind::BadName,
        ErrorKind::TooLarge,
        ErrorKind::Unsupported,
        ErrorKind::Invalid,
    ];

    /// The stable snake_case name, e.g. `unknown_key` (the same as serde's).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::UnknownKey => "unknown_key",
            ErrorKind::UnknownValue => "unknown_value",
            ErrorKind::UnknownName => "unknown_name",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::Missing => "missing",
            ErrorKind::OutOfRange => "out_of_range",
            ErrorKind::Conflict => "conflict",
            ErrorKind::BadDuration => "bad_duration",
            ErrorKind::BadOverride => "bad_override",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::BadName => "bad_name",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Invalid => "invalid",
        }
    }

    /// What is said of a word of this kind that is not among the allowed ones.
    fn unknown_what(self) -> &'static str {
        match self {
            ErrorKind::UnknownKey => "key",
            ErrorKind::UnknownValue => "value",
            _ => "name",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A problem with user input, with as much location as is known.
///
/// Rendered as `file:line:col: key `k`: message`, then the offending source line with a
/// caret under the column (a long line is cut around the caret), then `allowed: ...` and
/// `hint: ...` lines where known. Serialized (for a program) as an object with `kind` and
/// every field that is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputError {
    /// What kind of problem it is.
    pub kind: ErrorKind,
    /// The scenario file, or the argument (`--set`, `--vary`, ...) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column in `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<usize>,
    /// The dotted key at fault, e.g. `consumers.count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<String>,
    /// A suggestion, e.g. "did you mean `consumers`?".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The source line, shown with a caret under `col` (cut around the caret when long).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    /// Where the caret goes in `source_line` (0-based characters), when the line was cut
    /// (else under `col`).
    #[serde(skip)]
    pub caret: Option<usize>,
}

impl InputError {
    /// An error of kind [`ErrorKind::Invalid`] with only a message (the command line's
    /// errors; the core uses [`InputError::of`]).
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
            ..Default::default()
        }
    }

    /// An error of `kind` with a message.
    pub fn of(kind: ErrorKind, message: impl Into<String>) -> Self {
        InputError {
            kind,
            message: message.into(),
            ..Default::default()
        }
    }

    /// `word` is not among `allowed`: the message (`unknown key `x``, `unknown value
    /// `x``, `no ... called `x``) and the allowed list are rendered from the kind, with a
    /// did-you-mean when one of them is close.
    pub fn unknown<'a>(
        kind: ErrorKind,
        word: &str,
        allowed: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Self {
        let list: Vec<&str> = allowed.clone().into_iter().collect();
        let mut e = InputError::of(kind, format!("unknown {} `{word}`", kind.unknown_what()));
        if !list.is_empty() {
            e.allowed = Some(list.join(", "));
        }
        if let Some(s) = did_you_mean(word, allowed) {
            e.hint = Some(format!("did you mean `{s}`?"));
        }
        e
    }

    /// Sets the kind.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
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
        let (shown, caret) = cut_around(text[line_start..line_end].trim_end_matches('\r'), col);
        self.line = Some(line);
        self.col = Some(col);
        self.source_line = Some(shown);
        self.caret = Some(caret);
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
            let (shown, caret) = match self.caret {
                Some(c) => (src.clone(), c),
                None => cut_around(src, self.col.unwrap_or(1)),
            };
            write!(f, "\n {:gutter$} |\n {line} | {shown}", "")?;
            if self.col.is_some() {
                let pad: String = shown
                    .chars()
                    .take(caret)
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

/// Longest source line shown whole, in characters; longer ones are cut around the caret.
const MAX_SHOWN: usize = 120;

/// The part of `src` to show for a caret at 1-based column `col`, and the caret's
/// 0-based position in it: the whole line if it is short, else about [`MAX_SHOWN`]
/// characters around the column with `…` where it was cut.
fn cut_around(src: &str, col: usize) -> (String, usize) {
    let n = src.chars().count();
    let at = col.saturating_sub(1).min(n);
    if n <= MAX_SHOWN {
        return (src.to_string(), at);
    }
    let half = MAX_SHOWN / 2;
    let start = at.saturating_sub(half).min(n.saturating_sub(MAX_SHOWN));
    let end = (start + MAX_SHOWN).min(n);
    let mut shown = String::new();
    let mut caret = at - start;
    if start > 0 {
        shown.push('…');
        caret += 1;
    }
    shown.extend(src.chars().skip(start).take(end - start));
    if end < n {
        shown.push('…');
    }
    (shown, caret)
}

/// `text` cut to at most `max` characters, with `…` where it was cut (for echoing a
/// value the user gave, which may be megabytes long).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max).collect();
        s.push('…');
        s
    }
}

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
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
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
    fn kinds_have_stable_snake_case_names() {
        for k in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.name().to_string())
            );
        }
        let e = InputError::unknown(ErrorKind::UnknownKey, "sead", ["seed", "name"]).key("sead");
        assert_eq!(e.message, "unknown key `sead`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `seed`?"));
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["kind"], "unknown_key");
        assert_eq!(j["key"], "sead");
        assert!(j.get("line").is_none());
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret() {
        let text = format!("x = \"{}\"\n", "a".repeat(4_000_000));
        let e = InputError::new("bad")
            .in_file("f.toml")
            .at_offset(&text, 2_000_000);
        let shown = e.to_string();
        assert!(shown.len() < 1000, "{} bytes", shown.len());
        let lines: Vec<&str> = shown.lines().collect();
        let src = lines.iter().find(|l| l.contains("| …")).unwrap();
        let caret = lines.last().unwrap();
        assert_eq!(src.chars().filter(|c| *c == '…').count(), 2, "{src}");
        // The caret sits under the cut line's middle, where column 2,000,001 is.
        let at = caret.chars().position(|c| c == '^').unwrap();
        assert!(at > 40 && at < src.chars().count(), "{caret}");
        let short = InputError::new("bad")
            .in_file("f.toml")
            .at_offset("ab = 1\n", 5);
        assert!(short.to_string().contains("ab = 1\n   |      ^"), "{short}");
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
