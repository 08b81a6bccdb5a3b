//! Data files: traces, rate series, service-time samples and histograms.
//!
//! The core reads no file: a data file comes in as a [`std::io::BufRead`] that an
//! [`Inputs`] opens by the name the scenario gives (`trace = "data/arrivals.csv"`). The
//! command line opens files relative to the scenario file; the browser lab and tests use
//! [`MemInputs`] (name -> bytes).
//!
//! ## What a data file looks like
//!
//! Either one value a line (no header), or a CSV file whose first line is a header, the
//! value taken from the column named by the caller (`value`, `time`, `rate`, `le`,
//! `count`). Blank lines and lines starting with `#` are skipped; fields are trimmed.
//! Line numbers in errors are 1-based lines of the file, comment and empty lines included
//! (`\n` or `\r\n` lines). A file of one value a line is read line by line without the
//! csv reader, which is faster (see [`Column`]).
//!
//! - **Durations** ([`read_durations`], [`Durations`]): a number with a unit (`12ms`,
//!   `0.4s`, `250us`, units as in scenario files), or a bare number in the unit the
//!   caller gives (`unit = "ms"`); a bare number with no unit given is refused. Negative
//!   durations are refused. Values come out in seconds.
//! - **Plain numbers** ([`Numbers`]): rates, counts, bounds; no unit.
//! - **Timestamps** ([`Timestamps`]): seconds from the start of the run (`12.5`, or with a
//!   unit, `12500ms`), or RFC 3339 / ISO 8601 times (`2024-11-29T10:00:00.250Z`,
//!   `2024-11-29 10:00:00+01:00`; a time with no offset is read as UTC). Seconds are taken
//!   as they are (`0` is the start of the run); times are measured from the file's first
//!   timestamp. A file is one or the other: its first timestamp decides. Timestamps must
//!   not decrease; equal ones are a batch. [`Timestamps`] streams: it holds one line at a
//!   time, so a trace of any length replays in constant memory.
//!
//! Every error is an [`InputError`] naming the file (as [`Inputs::label`] shows it), the
//! line, what was wrong and what is allowed.
//!
//! ```
//! use queuelab_core::input::{read_durations, MemInputs, Inputs};
//! let files = MemInputs::new().with("payment.csv", "value\n12ms\n0.4s\n30\n");
//! let r = files.open("payment.csv").unwrap();
//! // Bare numbers are milliseconds here.
//! let xs = read_durations(r, "payment.csv", "value", Some(1e-3)).unwrap();
//! assert_eq!(xs, vec![0.012, 0.4, 0.03]);
//! ```

use crate::error::{ErrorKind, InputError};
use crate::time::{parse_duration, Nanos, UNITS};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{BufRead, Read};
use std::sync::Arc;

/// A data file opened for reading.
pub type Reader = Box<dyn BufRead + Send>;

/// Opens the data files a scenario names.
///
/// `name` is the string as written in the scenario (`"data/arrivals.csv"`); the
/// implementation decides what it is relative to. [`Inputs::open`] may be called more
/// than once for a name (a trace with `loop = true` is reopened at its end; validation
/// reads a trace's head, the run reads it again), and must give the same bytes each time.
pub trait Inputs: fmt::Debug + Send + Sync {
    /// Opens `name`.
    ///
    /// # Errors
    /// An [`InputError`] (kind [`ErrorKind::Missing`] when there is no such file) that
    /// names the file as [`Inputs::label`] shows it.
    fn open(&self, name: &str) -> Result<Reader, InputError>;

    /// How `name` is shown in messages (e.g. the path the command line resolved it to).
    fn label(&self, name: &str) -> String {
        name.to_string()
    }
}

/// No data files at all: every [`Inputs::open`] is refused (what [`crate::scenario::parse`]
/// uses).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInputs;

impl Inputs for NoInputs {
    fn open(&self, name: &str) -> Result<Reader, InputError> {
        Err(InputError::of(
            ErrorKind::Missing,
            format!("this scenario reads the data file `{name}`, and no data files were given"),
        )
        .in_file(name.to_string())
        .hint("load the scenario from a file (data files are found relative to it), or give the data with scenario::parse_with"))
    }
}

/// Data files held in memory: name -> bytes (the browser lab, tests).
#[derive(Debug, Clone, Default)]
pub struct MemInputs {
    files: BTreeMap<String, Arc<[u8]>>,
    /// Said after "no data file `x`" when a name is missing (where the data should come from).
    missing_hint: Option<String>,
}

impl MemInputs {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the file `name`.
    pub fn with(mut self, name: impl Into<String>, bytes: impl AsRef<[u8]>) -> Self {
        self.insert(name, bytes);
        self
    }

    /// Adds (or replaces) the file `name`.
    pub fn insert(&mut self, name: impl Into<String>, bytes: impl AsRef<[u8]>) {
        self.files.insert(name.into(), Arc::from(bytes.as_ref()));
    }

    /// What a refusal of a missing name says after naming it.
    pub fn missing_hint(mut self, hint: impl Into<String>) -> Self {
        self.missing_hint = Some(hint.into());
        self
    }

    /// The names held, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

impl Inputs for MemInputs {
    fn open(&self, name: &str) -> Result<Reader, InputError> {
        match self.files.get(name) {
            Some(b) => Ok(Box::new(std::io::Cursor::new(Arc::clone(b)))),
            None => {
                let mut e = InputError::of(ErrorKind::Missing, format!("no data file `{name}`"))
                    .in_file(name.to_string());
                if !self.files.is_empty() {
                    e.allowed = Some(self.names().collect::<Vec<_>>().join(", "));
                }
                if let Some(h) = &self.missing_hint {
                    e.hint = Some(h.clone());
                }
                Err(e)
            }
        }
    }
}

/// The length of a unit name in seconds (`"ms"` -> 0.001), as in scenario durations.
pub fn unit_secs(unit: &str) -> Option<f64> {
    UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s)
}

/// The unit names accepted, for messages.
pub fn unit_names() -> String {
    UNITS.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ")
}

/// Records of a data file: one field a line, or the named column of a CSV file with a
/// header. The layer under [`Numbers`], [`Durations`] and [`Timestamps`]; it reuses one
/// buffer, so reading allocates nothing per line.
///
/// Two readers sit under it, chosen when it opens by a look at the file's first buffered
/// chunk ([`BufRead::fill_buf`], up to 64 KiB from a file): a chunk with no `,` and no `"`
/// (and no lone `\r`) is one value a line and is read line by line here, without the csv
/// reader; anything else goes through the csv reader. Both give the same values and line
/// numbers (tested): on the line-by-line reader a later line with a comma gives the text
/// before its first comma (field 1, as the csv reader gives it), and a line that starts
/// with a double quote gives what is inside the pair. Both count every `\n` or `\r\n`
/// line, empty ones too (the csv reader's own numbers skip empty lines and lag one
/// behind in a `\r\n` file: they are not used). A lone `\r` ends a line only in a
/// file that goes to the csv reader (one in the first chunk sends it there).
pub struct Column<R: BufRead> {
    src: Source<R>,
    /// Which field holds the value.
    index: usize,
    /// The first data record, already read while looking for a header.
    pending: bool,
    file: String,
    column: String,
    line: usize,
}

/// Where a [`Column`]'s records come from.
enum Source<R: BufRead> {
    /// A CSV file, through the csv reader.
    Csv {
        csv: csv::Reader<NewlineOffsets<R>>,
        record: csv::ByteRecord,
    },
    /// One value a line, read line by line.
    Lines(Lines<R>),
}

/// The line-by-line reader: the file in chunks in one buffer of its own, the current
/// line and its value as ranges of it. The buffer is at most 64 KiB (longer only for a
/// longer line), so memory does not grow with the file.
struct Lines<R: BufRead> {
    r: R,
    buf: Vec<u8>,
    /// Bytes not yet taken as lines: `buf[pos..filled]`.
    pos: usize,
    filled: usize,
    /// The reader has reported the end of the file.
    eof: bool,
    /// The current line, without its `\n`: `buf[line_start..line_end]` (after a UTF-8 BOM
    /// on the first line, which the csv reader drops too).
    line_start: usize,
    line_end: usize,
    /// The value: `buf[start..end]`, trimmed and unquoted.
    start: usize,
    end: usize,
}

/// How much of a file the line-by-line reader holds at a time.
const CHUNK: usize = 64 * 1024;

impl<R: BufRead> Lines<R> {
    /// `head`: how many bytes the reader's first chunk held (a small file is all in it: a
    /// small buffer then, as a looping trace reopens its file at every pass).
    fn new(r: R, head: usize) -> Self {
        Lines {
            r,
            buf: vec![0; (head + 1).next_power_of_two().clamp(1024, CHUNK)],
            pos: 0,
            filled: 0,
            eof: false,
            line_start: 0,
            line_end: 0,
            start: 0,
            end: 0,
        }
    }

    /// Takes the next line and finds its value; false at the end of the file. A last line
    /// with no `\n` is a line.
    #[inline]
    fn next_line(&mut self) -> std::io::Result<bool> {
        loop {
            let rest = &self.buf[self.pos..self.filled];
            // One pass: the end of the line, and whether any byte in it is one of the few
            // that need a closer look (whitespace, `"`, `#`, `,`, `+` and control bytes
            // all sort at or below `,`; digits, `.`, letters and UTF-8 above it).
            let mut plain = true;
            let mut newline = None;
            for (i, &c) in rest.iter().enumerate() {
                if c <= b',' {
                    if c == b'\n' {
                        newline = Some(i);
                        break;
                    }
                    plain = false;
                }
            }
            let len = match newline {
                Some(k) => k,
                None if self.eof => {
                    if rest.is_empty() {
                        return Ok(false);
                    }
                    rest.len()
                }
                None => {
                    self.refill()?;
                    continue;
                }
            };
            self.line_start = self.pos;
            self.line_end = self.pos + len;
            self.pos = (self.pos + len + 1).min(self.filled);
            if plain {
                (self.start, self.end) = (self.line_start, self.line_end);
            } else {
                self.locate();
            }
            return Ok(true);
        }
    }

    /// The next line when it is a [`decimal_ns`] value and nothing else, up to its `\n`
    /// or `\r\n` (`12.000250\n`, the usual line of a trace): its nanoseconds, the line taken as
    /// [`Lines::next_line`] takes it. `None`, with nothing taken, for any other line (and
    /// a line not wholly in the buffer): the caller reads it the general way.
    #[inline(always)]
    fn take_decimal(&mut self) -> Option<Nanos> {
        let (ns, value, line) = decimal_line(&self.buf[self.pos..self.filled])?;
        (self.line_start, self.line_end) = (self.pos, self.pos + line);
        (self.start, self.end) = (self.pos, self.pos + value);
        self.pos += line + 1;
        Some(ns)
    }

    /// Moves the unread bytes to the front of the buffer (growing it when one line fills
    /// it) and reads more after them.
    #[cold]
    fn refill(&mut self) -> std::io::Result<()> {
        self.buf.copy_within(self.pos..self.filled, 0);
        self.filled -= self.pos;
        self.pos = 0;
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.r.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Drops a UTF-8 byte order mark at the start of the current line.
    fn drop_bom(&mut self) {
        if self.buf[self.line_start..self.line_end].starts_with(b"\xef\xbb\xbf") {
            self.line_start += 3;
            self.locate();
        }
    }

    /// Finds the value of the current line: the line trimmed; up to its first comma; inside
    /// a leading pair of double quotes.
    fn locate(&mut self) {
        let b = &self.buf[..self.line_end];
        let (mut s, mut e) = trim_range(b, self.line_start, self.line_end);
        // Quoted as the csv reader reads quotes: from the line's first byte.
        if s == self.line_start && b.get(s) == Some(&b'"') {
            if let Some(k) = b[s + 1..e].iter().position(|&c| c == b'"') {
                (s, e) = trim_range(b, s + 1, s + 1 + k);
            }
        } else if let Some(k) = b[s..e].iter().position(|&c| c == b',') {
            (s, e) = trim_range(b, s, s + k);
        }
        (self.start, self.end) = (s, e);
    }

    /// The current line as shown in messages: without its line terminator.
    fn shown(&self) -> &[u8] {
        let b = &self.buf[self.line_start..self.line_end];
        b.strip_suffix(b"\r").unwrap_or(b)
    }

    /// Whether the current line holds nothing: only whitespace and commas.
    fn is_blank(&self) -> bool {
        self.buf[self.line_start..self.line_end]
            .iter()
            .all(|&c| c == b',' || c.is_ascii_whitespace())
    }
}

/// The reader under the csv reader: notes where the `\n`s are, so that a record's line
/// can be told from its byte position. (The csv reader's own line numbers skip empty lines
/// without counting them and, in a file of `\r\n` lines, lag one behind from the second
/// line on.) Holds only the offsets read ahead of the parser, which reads 8 KiB at a time.
struct NewlineOffsets<R> {
    r: R,
    /// Bytes read so far.
    read: u64,
    /// Offsets of the `\n`s read that the parser has not yet passed.
    ahead: VecDeque<u64>,
    /// How many `\n`s it has passed.
    passed: usize,
}

impl<R> NewlineOffsets<R> {
    /// How many `\n`s come before byte `offset` (which does not go back).
    fn newlines_before(&mut self, offset: u64) -> usize {
        while self.ahead.front().is_some_and(|&n| n < offset) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed
    }
}

impl<R: Read> Read for NewlineOffsets<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        for (i, &c) in buf[..n].iter().enumerate() {
            if c == b'\n' {
                self.ahead.push_back(self.read + i as u64);
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// `b[s..e]` without ASCII whitespace at either end, as a range.
#[inline]
fn trim_range(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && b[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && b[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}

/// A data file that cannot be read (an I/O error, or the csv reader's).
#[cold]
fn read_error(file: &str, e: impl fmt::Display, line: Option<usize>) -> InputError {
    let mut err = InputError::of(
        ErrorKind::Syntax,
        format!("cannot read this data file: {e}"),
    )
    .in_file(file.to_string());
    err.line = line;
    err
}

/// Whether a file whose first buffered chunk is `head` is one value a line: no comma, no
/// double quote, and every `\r` part of a `\r\n` (the csv reader also ends a line at a
/// lone `\r`; such a file goes to it). A `\r` at the chunk's end is taken as the start of
/// a `\r\n`.
fn one_value_a_line(head: &[u8]) -> bool {
    !head.iter().enumerate().any(|(i, &c)| {
        c == b',' || c == b'"' || (c == b'\r' && head.get(i + 1).is_some_and(|&n| n != b'\n'))
    })
}

impl<R: BufRead> fmt::Debug for Column<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Column")
            .field("file", &self.file)
            .field("column", &self.column)
            .field("line", &self.line)
            .field("one_value_a_line", &self.is_one_value_a_line())
            .finish()
    }
}

impl<R: BufRead> Column<R> {
    /// Reads `r` (shown as `file` in errors), taking the values from the column named
    /// `column` when the first line is a header, else the first field of each line.
    ///
    /// The first line is a header when it has a field that does not start with a digit,
    /// sign or dot (a value such as `12ms` or a timestamp is data) and is not `inf`. A
    /// header of one column is taken whatever its name.
    ///
    /// # Errors
    /// The file has a header without `column`, or cannot be read.
    pub fn new(mut r: R, file: &str, column: &str) -> Result<Self, InputError> {
        let (fast, head) = match r.fill_buf() {
            Ok(head) => (one_value_a_line(head), head.len()),
            Err(e) => return Err(read_error(file, e, None)),
        };
        let src = if fast {
            Source::Lines(Lines::new(r, head))
        } else {
            Source::Csv {
                csv: csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    // Comments are skipped in `read`, not by csv: its comment skipping does
                    // not count the lines it skips, and errors would name the wrong line.
                    .from_reader(NewlineOffsets {
                        r,
                        read: 0,
                        ahead: VecDeque::new(),
                        passed: 0,
                    }),
                record: csv::ByteRecord::new(),
            }
        };
        let mut c = Column {
            src,
            index: 0,
            pending: false,
            file: file.to_string(),
            column: column.to_string(),
            line: 0,
        };
        if !c.read()? {
            return Ok(c);
        }
        let looks_like_a_name = |f: &[u8]| {
            let f = f.trim_ascii();
            !(f.is_empty()
                || matches!(f[0], b'0'..=b'9' | b'-' | b'+' | b'.')
                || f.eq_ignore_ascii_case(b"inf")
                || f.eq_ignore_ascii_case(b"+inf"))
        };
        let names: Option<Vec<String>> = match &c.src {
            Source::Csv { record, .. } => record.iter().any(looks_like_a_name).then(|| {
                record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f.trim_ascii()).to_lowercase())
                    .collect()
            }),
            // One field: a header of one column, whatever its name.
            Source::Lines(l) => looks_like_a_name(&l.buf[l.start..l.end]).then(Vec::new),
        };
        match names {
            None => c.pending = true,
            Some(names) => match names.iter().position(|n| n == column) {
                Some(i) => c.index = i,
                // One column: its name does not matter.
                None if names.len() <= 1 => c.index = 0,
                None => {
                    return Err(c
                        .error(
                            ErrorKind::Missing,
                            format!("the header has no column `{column}`"),
                        )
                        .allowed(format!(
                            "a CSV header with a `{column}` column, or one value a line; this header has: {}",
                            names.join(", ")
                        )))
                }
            },
        }
        Ok(c)
    }

    /// Whether this file is read line by line (one value a line), not by the csv reader.
    pub fn is_one_value_a_line(&self) -> bool {
        matches!(self.src, Source::Lines(_))
    }

    /// Reads the next record that is neither empty nor a comment; false at the end.
    fn read(&mut self) -> Result<bool, InputError> {
        match &mut self.src {
            Source::Lines(l) => loop {
                match l.next_line() {
                    Ok(true) => {}
                    Ok(false) => return Ok(false),
                    Err(e) => return Err(read_error(&self.file, e, Some(self.line + 1))),
                }
                self.line += 1;
                if self.line == 1 {
                    l.drop_bom();
                }
                let f = &l.buf[l.start..l.end];
                if f.first() == Some(&b'#') || (f.is_empty() && l.is_blank()) {
                    continue;
                }
                return Ok(true);
            },
            Source::Csv { csv, record } => loop {
                match csv.read_byte_record(record) {
                    Ok(false) => return Ok(false),
                    Ok(true) => {
                        // The record's line (its last, for one spanning lines in quotes):
                        // one more than the `\n`s before its last byte read.
                        let end = csv.position().byte();
                        self.line = csv.get_mut().newlines_before(end.saturating_sub(1)) + 1;
                        let comment = record
                            .get(0)
                            .is_some_and(|f| f.trim_ascii().starts_with(b"#"));
                        if comment || record.iter().all(|f| f.trim_ascii().is_empty()) {
                            continue;
                        }
                        return Ok(true);
                    }
                    Err(e) => return Err(read_error(&self.file, e, Some(self.line + 1))),
                }
            },
        }
    }

    /// Moves to the next value; false at the end of the file.
    #[inline]
    fn advance(&mut self) -> Result<bool, InputError> {
        if self.pending {
            self.pending = false;
        } else if !self.read()? {
            return Ok(false);
        }
        if let Source::Csv { record, .. } = &self.src {
            if record.get(self.index).is_none() {
                let n = record.len();
                return Err(self.error(
                    ErrorKind::Missing,
                    format!(
                        "this line has {n} field(s); the `{}` column is field {}",
                        self.column,
                        self.index + 1
                    ),
                ));
            }
        }
        Ok(true)
    }

    /// The current value's bytes, trimmed (empty before the first value).
    #[inline]
    fn field(&self) -> &[u8] {
        match &self.src {
            Source::Lines(l) => &l.buf[l.start..l.end],
            Source::Csv { record, .. } => record.get(self.index).map_or(&[], <[u8]>::trim_ascii),
        }
    }

    /// The current value's text.
    ///
    /// # Errors
    /// The value is not valid UTF-8.
    fn text(&self) -> Result<&str, InputError> {
        std::str::from_utf8(self.field())
            .map_err(|_| self.error(ErrorKind::Syntax, "this line is not valid UTF-8"))
    }

    /// The next value's bytes (trimmed, not checked to be UTF-8) and its 1-based line;
    /// `None` at the end of the file. For readers of plain ASCII values that need no text.
    ///
    /// # Errors
    /// The file cannot be read, or a line has no field in the column.
    #[inline]
    pub fn next_field_bytes(&mut self) -> Result<Option<(&[u8], usize)>, InputError> {
        if !self.advance()? {
            return Ok(None);
        }
        Ok(Some((self.field(), self.line)))
    }

    /// The next value's text and its 1-based line; `None` at the end of the file.
    ///
    /// # Errors
    /// The file cannot be read, a line has no field in the column, or the value is not
    /// valid UTF-8.
    pub fn next_field(&mut self) -> Result<Option<(&str, usize)>, InputError> {
        if !self.advance()? {
            return Ok(None);
        }
        Ok(Some((self.text()?, self.line)))
    }

    /// The line of the value read last (0 before any).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The file's name, as shown in messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// An error at the current line, with the line shown.
    pub fn error(&self, kind: ErrorKind, message: impl Into<String>) -> InputError {
        let mut e = InputError::of(kind, message).in_file(self.file.clone());
        if self.line > 0 {
            e.line = Some(self.line);
            let shown = match &self.src {
                Source::Lines(l) => String::from_utf8_lossy(l.shown()).into_owned(),
                Source::Csv { record, .. } => record
                    .iter()
                    .map(String::from_utf8_lossy)
                    .collect::<Vec<_>>()
                    .join(","),
            };
            e.source_line = Some(crate::error::clip(&shown, 120));
        }
        e
    }
}

/// Plain numbers (rates, counts, bucket bounds): a streaming iterator of
/// `(value, line)`. `inf`/`+Inf` reads as infinity; the caller decides if it is allowed.
#[derive(Debug)]
pub struct Numbers<R: BufRead> {
    col: Column<R>,
}

impl<R: BufRead> Numbers<R> {
    /// The numbers of column `column` (or one a line) of `r`, shown as `file`.
    ///
    /// # Errors
    /// As [`Column::new`].
    pub fn new(r: R, file: &str, column: &str) -> Result<Self, InputError> {
        Ok(Numbers {
            col: Column::new(r, file, column)?,
        })
    }

    /// The next number and its line.
    ///
    /// # Errors
    /// A field that is not a number.
    pub fn next_number(&mut self) -> Result<Option<(f64, usize)>, InputError> {
        let Some((text, line)) = self.col.next_field()? else {
            return Ok(None);
        };
        match parse_number(text) {
            Some(v) => Ok(Some((v, line))),
            None => {
                let msg = format!("`{}` is not a number", crate::error::clip(text, 40));
                Err(self
                    .col
                    .error(ErrorKind::Syntax, msg)
                    .allowed("a plain number such as 250 or 1.5e3 (no unit)"))
            }
        }
    }

    /// The underlying column (its file name, line, errors).
    pub fn column(&self) -> &Column<R> {
        &self.col
    }
}

impl<R: BufRead> Iterator for Numbers<R> {
    type Item = Result<(f64, usize), InputError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_number().transpose()
    }
}

fn parse_number(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        t => t.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

/// Durations in seconds: a streaming iterator of `(seconds, line)`.
#[derive(Debug)]
pub struct Durations<R: BufRead> {
    col: Column<R>,
    unit: Option<f64>,
}

impl<R: BufRead> Durations<R> {
    /// The durations of column `column` (or one a line) of `r`, shown as `file`. `unit`
    /// (seconds per unit, see [`unit_secs`]) is the unit of a bare number; `None`: every
    /// value must carry its unit.
    ///
    /// # Errors
    /// As [`Column::new`].
    pub fn new(r: R, file: &str, column: &str, unit: Option<f64>) -> Result<Self, InputError> {
        Ok(Durations {
            col: Column::new(r, file, column)?,
            unit,
        })
    }

    /// The next duration in seconds and its line.
    ///
    /// # Errors
    /// A value that is not a duration, a negative one, or a bare number with no unit given.
    pub fn next_duration(&mut self) -> Result<Option<(f64, usize)>, InputError> {
        let unit = self.unit;
        let Some((text, line)) = self.col.next_field()? else {
            return Ok(None);
        };
        let shown = crate::error::clip(text, 40);
        let secs = if let Ok(v) = text.parse::<f64>() {
            match unit {
                Some(u) => v * u,
                None => {
                    return Err(self
                        .col
                        .error(ErrorKind::BadDuration, format!("`{shown}` has no unit"))
                        .allowed(format!(
                            "a number with a unit ({}), e.g. 12ms or 0.4s",
                            unit_names()
                        ))
                        .hint("or give the unit of bare numbers, e.g. unit = \"ms\""))
                }
            }
        } else {
            match parse_duration(text) {
                Ok(v) => v,
                // `-3ms`: refused below, as a negative duration.
                Err(crate::time::DurationError::Negative(_)) => -1.0,
                Err(m) => {
                    return Err(self
                        .col
                        .error(ErrorKind::BadDuration, m.to_string())
                        .allowed(format!(
                            "a number with a unit ({}), e.g. 12ms or 0.4s{}",
                            unit_names(),
                            if unit.is_some() {
                                ", or a bare number in the given unit"
                            } else {
                                ""
                            }
                        )))
                }
            }
        };
        if secs < 0.0 || !secs.is_finite() {
            let what = if secs < 0.0 { "negative" } else { "not finite" };
            return Err(self
                .col
                .error(ErrorKind::OutOfRange, format!("`{shown}` is {what}"))
                .allowed("a duration >= 0"));
        }
        Ok(Some((secs, line)))
    }

    /// The underlying column (its file name, line, errors).
    pub fn column(&self) -> &Column<R> {
        &self.col
    }
}

impl<R: BufRead> Iterator for Durations<R> {
    type Item = Result<(f64, usize), InputError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_duration().transpose()
    }
}

/// Reads every duration of `r` (column `column`, or one a line) into memory, in seconds.
///
/// # Errors
/// As [`Durations::next_duration`]; also an empty file (no values).
pub fn read_durations<R: BufRead>(
    r: R,
    file: &str,
    column: &str,
    unit: Option<f64>,
) -> Result<Vec<f64>, InputError> {
    let mut d = Durations::new(r, file, column, unit)?;
    let mut out = Vec::new();
    while let Some((v, _)) = d.next_duration()? {
        out.push(v);
    }
    if out.is_empty() {
        return Err(empty(
            file,
            &format!("one duration a line, or a CSV column `{column}`"),
        ));
    }
    Ok(out)
}

fn empty(file: &str, allowed: &str) -> InputError {
    InputError::of(ErrorKind::Missing, "this data file has no values")
        .in_file(file.to_string())
        .allowed(allowed.to_string())
}

/// How a trace writes its times (decided by its first timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Seconds (or a duration with a unit) from the start of the run.
    Seconds,
    /// RFC 3339 / ISO 8601 date-times, measured from the first one.
    DateTime,
}

/// Timestamps in nanoseconds from the start: a streaming iterator of `(ns, line)` that
/// refuses a timestamp earlier than the one before.
#[derive(Debug)]
pub struct Timestamps<R: BufRead> {
    col: Column<R>,
    format: Option<TimeFormat>,
    /// Date-times: the first one, as nanoseconds since the Unix epoch.
    origin: i128,
    prev: Option<Nanos>,
}

impl<R: BufRead> Timestamps<R> {
    /// The timestamps of column `column` (or one a line) of `r`, shown as `file`.
    ///
    /// # Errors
    /// As [`Column::new`].
    pub fn new(r: R, file: &str, column: &str) -> Result<Self, InputError> {
        Ok(Timestamps {
            col: Column::new(r, file, column)?,
            format: None,
            origin: 0,
            prev: None,
        })
    }

    /// The format, once the first timestamp is read.
    pub fn format(&self) -> Option<TimeFormat> {
        self.format
    }

    /// The next timestamp (nanoseconds from the start) and its line.
    ///
    /// # Errors
    /// A value that is not a timestamp, a negative one, one in the other format than
    /// the file's first, or one earlier than the timestamp before it.
    #[inline(always)]
    pub fn next_ns(&mut self) -> Result<Option<(Nanos, usize)>, InputError> {
        // The usual trace line, in one pass over its bytes: a decimal number of seconds
        // and its `\n`, in a file of one value a line past its first line.
        if self.format != Some(TimeFormat::DateTime) && !self.col.pending && self.col.line > 0 {
            if let Source::Lines(l) = &mut self.col.src {
                if let Some(ns) = l.take_decimal() {
                    self.col.line += 1;
                    self.format = Some(TimeFormat::Seconds);
                    if self.prev.is_some_and(|p| ns < p) {
                        let shown = String::from_utf8_lossy(self.col.field()).into_owned();
                        return Err(self.not_monotone(&shown, TIMESTAMPS_ALLOWED));
                    }
                    self.prev = Some(ns);
                    return Ok(Some((ns, self.col.line)));
                }
            }
        }
        self.next_ns_general()
    }

    /// [`Timestamps::next_ns`] for any line (kept out of line: the usual one is read above).
    #[inline(never)]
    fn next_ns_general(&mut self) -> Result<Option<(Nanos, usize)>, InputError> {
        let Some((bytes, line)) = self.col.next_field_bytes()? else {
            return Ok(None);
        };
        // The common case, exactly and fast: whole seconds with up to 9 decimals (ASCII
        // digits, so no UTF-8 check).
        if self.format != Some(TimeFormat::DateTime) {
            if let Some(ns) = decimal_ns(bytes) {
                self.format = Some(TimeFormat::Seconds);
                if self.prev.is_some_and(|p| ns < p) {
                    let shown = String::from_utf8_lossy(bytes).into_owned();
                    return Err(self.not_monotone(&shown, TIMESTAMPS_ALLOWED));
                }
                self.prev = Some(ns);
                return Ok(Some((ns, line)));
            }
        }
        let text = self.col.text()?;
        let allowed = TIMESTAMPS_ALLOWED;
        let secs = if self.format != Some(TimeFormat::DateTime) {
            match text.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) if text.starts_with(|c: char| c.is_ascii_digit()) && text.len() < 19 => {
                    parse_duration(text).ok()
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let ns = match (secs, self.format) {
            (Some(v), _) => {
                if v < 0.0 || !v.is_finite() {
                    let shown = crate::error::clip(text, 40);
                    return Err(self
                        .col
                        .error(
                            ErrorKind::OutOfRange,
                            format!("`{shown}` is a negative or infinite time"),
                        )
                        .allowed(allowed));
                }
                self.format = Some(TimeFormat::Seconds);
                crate::time::secs_to_ns(v)
            }
            (None, Some(TimeFormat::Seconds)) => {
                let shown = crate::error::clip(text, 40);
                return Err(self
                    .col
                    .error(
                        ErrorKind::Syntax,
                        format!("`{shown}` is not a number of seconds, as this file's first timestamp was"),
                    )
                    .allowed(allowed));
            }
            (None, _) => match parse_datetime(text) {
                Some(t) => {
                    if self.format.is_none() {
                        self.format = Some(TimeFormat::DateTime);
                        self.origin = t;
                    }
                    let d = t - self.origin;
                    if d < 0 {
                        let shown = crate::error::clip(text, 40);
                        return Err(self.not_monotone(&shown, allowed));
                    }
                    u64::try_from(d)
                        .unwrap_or(u64::MAX)
                        .min(crate::time::MAX_NS)
                }
                None => {
                    let shown = crate::error::clip(text, 40);
                    return Err(self
                        .col
                        .error(ErrorKind::Syntax, format!("`{shown}` is not a timestamp"))
                        .allowed(allowed));
                }
            },
        };
        if self.prev.is_some_and(|p| ns < p) {
            let shown = crate::error::clip(text, 40);
            return Err(self.not_monotone(&shown, allowed));
        }
        self.prev = Some(ns);
        Ok(Some((ns, line)))
    }

    fn not_monotone(&self, shown: &str, allowed: &str) -> InputError {
        self.col
            .error(
                ErrorKind::OutOfRange,
                format!("`{shown}` is earlier than the timestamp before it"),
            )
            .allowed(allowed)
            .hint("sort the trace by time")
    }

    /// The underlying column (its file name, line, errors).
    pub fn column(&self) -> &Column<R> {
        &self.col
    }
}

impl<R: BufRead> Iterator for Timestamps<R> {
    type Item = Result<(Nanos, usize), InputError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_ns().transpose()
    }
}

const TIMESTAMPS_ALLOWED: &str = "seconds from the start (12.5, or with a unit: 12500ms), or RFC 3339 times (2024-11-29T10:00:00.25Z); one kind in a file, never decreasing";

/// `12` or `12.345678901` (at most 10 whole digits and 9 decimals) as exact nanoseconds.
#[inline]
fn decimal_ns(b: &[u8]) -> Option<Nanos> {
    let dot = b.iter().position(|&c| c == b'.').unwrap_or(b.len());
    let (whole, frac) = (&b[..dot], b.get(dot + 1..).unwrap_or(&[]));
    if whole.is_empty() || whole.len() > 10 || frac.len() > 9 || (dot < b.len() && frac.is_empty())
    {
        return None;
    }
    let mut secs: u64 = 0;
    for &c in whole {
        if !c.is_ascii_digit() {
            return None;
        }
        secs = secs * 10 + u64::from(c - b'0');
    }
    let mut ns: u64 = 0;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        ns = ns * 10 + u64::from(c - b'0');
    }
    ns *= SCALE[frac.len()];
    Some((secs * 1_000_000_000 + ns).min(crate::time::MAX_NS))
}

/// Nanoseconds per unit of the last of n decimals (n = 0..=9).
const SCALE: [u64; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// The start of `b` when it is a [`decimal_ns`] value followed by `\n` or `\r\n`: the
/// value, the value's length and the line's (up to its `\n`). `None` for anything else, and when `b` (a buffer of unread lines)
/// ends before the `\n` or has fewer than 8 bytes after the dot: the caller then reads the
/// line the general way, with [`decimal_ns`], which gives the same answer (tested).
///
/// The decimals are read eight at a time as the bytes of a `u64` (SWAR), which is most of
/// the usual trace line `12.000250`.
#[inline(always)]
fn decimal_line(b: &[u8]) -> Option<(Nanos, usize, usize)> {
    let mut secs: u64 = 0;
    let mut i = 0;
    let stop = loop {
        let c = *b.get(i)?;
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break c;
        }
        if i == 10 {
            return None;
        }
        secs = secs * 10 + u64::from(d);
        i += 1;
    };
    if i == 0 {
        return None;
    }
    let mut ns = 0;
    if stop == b'.' {
        let frac = &b[i + 1..];
        let w = u64::from_le_bytes(*frac.first_chunk::<8>()?);
        let mut n = digit_count(w);
        if n == 0 {
            return None;
        }
        ns = digits_value(w, n);
        if n == 8 {
            if let Some(&c) = frac.get(8).filter(|c| c.is_ascii_digit()) {
                ns = ns * 10 + u64::from(c - b'0');
                n = 9;
            }
        }
        ns *= SCALE[n];
        i += 1 + n;
    }
    // The value's end, and the line's (before its `\n`).
    let end = match (b.get(i), b.get(i + 1)) {
        (Some(b'\n'), _) => i,
        (Some(b'\r'), Some(b'\n')) => i + 1,
        _ => return None,
    };
    Some(((secs * 1_000_000_000 + ns).min(crate::time::MAX_NS), i, end))
}

/// How many of the eight bytes of `v` (first byte lowest) are ASCII digits before the
/// first that is not.
#[inline(always)]
fn digit_count(v: u64) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // A digit byte becomes 0..=9; adding 0x76 then leaves its top bit clear, and sets it
    // for anything else (a carry out of a non-digit byte only reaches later bytes, which
    // come after the first non-digit and do not count).
    let x = v ^ (0x30 * ONES);
    let non_digit = (x | x.wrapping_add(0x76 * ONES)) & (0x80 * ONES);
    (non_digit.trailing_zeros() / 8) as usize
}

/// The value of the first `k` (1..=8) bytes of `v` (first byte lowest), all ASCII digits.
#[inline(always)]
fn digits_value(v: u64, k: usize) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The k digits to the top bytes, zeros (leading zeros of the number) below them.
    let mut x = (v.wrapping_sub(0x30 * ONES)) << (8 * (8 - k));
    x = (x.wrapping_mul(10) + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x.wrapping_mul(100) + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    (x.wrapping_mul(10_000) + (x >> 32)) & 0xFFFF_FFFF
}

/// An RFC 3339 / ISO 8601 date-time as nanoseconds since the Unix epoch; with no offset,
/// read as UTC.
pub fn parse_datetime(text: &str) -> Option<i128> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.as_nanosecond());
    }
    let dt = text.parse::<jiff::civil::DateTime>().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(dt)
        .ok()
        .map(|t| t.as_nanosecond())
}

/// A rate series: `(time, rate per second)` rows, times as [`Timestamps`] reads them
/// (column `time`), rates from column `rate`. Read whole (a series is small).
///
/// # Errors
/// An empty file, a bad time (decreasing, or two rows at the same time), a rate that is
/// negative or not a number.
pub fn read_rates(
    open: impl Fn() -> Result<Reader, InputError>,
    file: &str,
) -> Result<Vec<(Nanos, f64)>, InputError> {
    // Two passes over the same bytes, one per column: each column reader keeps its own
    // line numbers and header handling.
    let mut times = Timestamps::new(open()?, file, "time")?;
    let mut rates = Numbers::new(open()?, file, "rate")?;
    if times.column().index == rates.column().index {
        return Err(InputError::of(
            ErrorKind::Missing,
            "a rate series needs two columns, `time` and `rate`",
        )
        .in_file(file.to_string())
        .allowed("a CSV file with a header `time,rate` and one row per step, e.g. `0,120`"));
    }
    let mut out: Vec<(Nanos, f64)> = Vec::new();
    loop {
        let t = times.next_ns()?;
        let r = rates.next_number()?;
        let (Some((t, _)), Some((r, _))) = (t, r) else {
            break;
        };
        if out.last().is_some_and(|&(p, _)| p == t) {
            return Err(times
                .column()
                .error(ErrorKind::OutOfRange, "two rows at the same time")
                .allowed("times strictly increasing, one row per step"));
        }
        if r < 0.0 || !r.is_finite() {
            return Err(rates
                .column()
                .error(ErrorKind::OutOfRange, format!("rate {r} is not allowed"))
                .allowed("a finite rate per second >= 0"));
        }
        out.push((t, r));
    }
    if out.is_empty() {
        return Err(empty(
            file,
            "a CSV file with a header `time,rate` and one row per step",
        ));
    }
    Ok(out)
}

/// A latency histogram: `(upper bound in seconds, count in that bucket)` rows from the
/// columns `le` and `count`; counts are per bucket (not cumulative). Bounds must increase;
/// a last bound of `+Inf` is allowed only with a count of 0 (it is dropped): a time above
/// the last finite bound cannot be drawn.
///
/// Bounds are seconds (a bare number), or carry a unit (`250ms`).
///
/// # Errors
/// An empty file, decreasing or negative bounds, a negative or fractional count, a
/// non-empty `+Inf` bucket, no count at all.
pub fn read_histogram(
    open: impl Fn() -> Result<Reader, InputError>,
    file: &str,
) -> Result<Vec<(f64, u64)>, InputError> {
    let allowed = "a CSV file with a header `le,count`: each row a bucket's upper bound (seconds, or with a unit: 250ms) and how many times fell in it (per bucket, not cumulative), bounds increasing";
    let mut les = Column::new(open()?, file, "le")?;
    let mut counts = Numbers::new(open()?, file, "count")?;
    if les.index == counts.column().index {
        return Err(InputError::of(
            ErrorKind::Missing,
            "a histogram needs two columns, `le` and `count`",
        )
        .in_file(file.to_string())
        .allowed(allowed));
    }
    let mut out: Vec<(f64, u64)> = Vec::new();
    let mut inf_count = None;
    loop {
        let le = les.next_field()?.map(|(t, _)| t.to_string());
        let c = counts.next_number()?;
        let (Some(le), Some((c, _))) = (le, c) else {
            break;
        };
        if inf_count.is_some() {
            return Err(les
                .error(ErrorKind::OutOfRange, "a bucket after the `+Inf` bucket")
                .allowed(allowed));
        }
        if c < 0.0 || c.fract() != 0.0 || !c.is_finite() {
            return Err(counts
                .column()
                .error(
                    ErrorKind::OutOfRange,
                    format!("count {c} is not a whole number >= 0"),
                )
                .allowed(allowed));
        }
        let bound = match parse_number(&le) {
            Some(v) if v.is_infinite() && v > 0.0 => {
                inf_count = Some(crate::convert::floor_u64(c));
                continue;
            }
            Some(v) => v,
            None => parse_duration(&le).map_err(|m| {
                les.error(
                    ErrorKind::BadDuration,
                    format!("bound `{}`: {m}", crate::error::clip(&le, 40)),
                )
                .allowed(allowed)
            })?,
        };
        if bound < 0.0 {
            return Err(les
                .error(ErrorKind::OutOfRange, format!("bound `{le}` is negative"))
                .allowed(allowed));
        }
        if out.last().is_some_and(|&(p, _)| bound <= p) {
            return Err(les
                .error(
                    ErrorKind::OutOfRange,
                    format!("bound `{le}` is not above the bound before it"),
                )
                .allowed(allowed));
        }
        out.push((bound, crate::convert::floor_u64(c)));
    }
    if let Some(n) = inf_count.filter(|&n| n > 0) {
        return Err(InputError::of(
            ErrorKind::Unsupported,
            format!("the `+Inf` bucket holds {n} time(s): a time above the last finite bound cannot be drawn"),
        )
        .in_file(file.to_string())
        .allowed(allowed)
        .hint("add a finite bucket above the slowest time seen and move those counts into it, or drop them (this shortens the tail)"));
    }
    if out.is_empty() {
        return Err(empty(file, allowed));
    }
    if out.iter().all(|&(_, c)| c == 0) {
        return Err(InputError::of(ErrorKind::Missing, "every bucket is empty")
            .in_file(file.to_string())
            .allowed(allowed));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mem(text: &str) -> Reader {
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))
    }

    /// A file of one value a line twice: as written (read line by line), and with a
    /// comment line `# ,` after it, whose comma sends it to the csv reader. The comment
    /// comes last, so every line number stays. Checks that each goes where it should.
    fn both(text: &str) -> [String; 2] {
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        let csv = format!("{text}# ,\n");
        assert!(Column::new(mem(text), "f", "value").is_ok_and(|c| c.is_one_value_a_line()));
        assert!(!Column::new(mem(&csv), "f", "value").is_ok_and(|c| c.is_one_value_a_line()));
        [text.to_string(), csv]
    }

    /// Every timestamp of `r`, or the first error.
    fn times<R: BufRead>(r: R) -> Result<Vec<(Nanos, usize)>, InputError> {
        Timestamps::new(r, "t.csv", "time")?.collect()
    }

    /// `text` through a reader that hands out `cap` bytes at a time: the first chunk
    /// [`Column::new`] looks at is only `cap` bytes long.
    fn small_chunks(text: &str, cap: usize) -> impl BufRead {
        std::io::BufReader::with_capacity(cap, std::io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn durations_with_units_headers_and_comments() {
        for text in both("# payment\n12ms\n\n0.4s\n250us\n") {
            let xs = read_durations(mem(&text), "p", "value", None).unwrap();
            assert_eq!(xs, vec![0.012, 0.4, 0.00025]);
        }
        let xs = read_durations(mem("id,value\na,12\nb,30\n"), "p", "value", Some(1e-3)).unwrap();
        assert_eq!(xs, vec![0.012, 0.03]);
    }

    #[test]
    fn duration_errors_name_the_line() {
        for t in both("12ms\n30\n") {
            let e = read_durations(mem(&t), "p.csv", "value", None).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(2), ErrorKind::BadDuration));
            assert!(
                e.to_string().starts_with("p.csv:2: `30` has no unit"),
                "{e}"
            );
        }
        for t in both("12ms\n-3ms\n") {
            let e = read_durations(mem(&t), "p.csv", "value", None).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(2), ErrorKind::OutOfRange));
            assert!(e.to_string().contains("negative"), "{e}");
        }
        for t in both("1\n-3\n") {
            let e = read_durations(mem(&t), "p.csv", "value", Some(1.0)).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(2), ErrorKind::OutOfRange));
        }
        for t in both("# nothing\n\n") {
            let e = read_durations(mem(&t), "p.csv", "value", None).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Missing);
        }
        let e = read_durations(mem("id,ms\n1,2\n"), "p.csv", "value", None).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(1), ErrorKind::Missing));
        assert!(e.to_string().contains("no column `value`"), "{e}");
        for t in both("1ms\n2 parsecs\n") {
            let e = read_durations(mem(&t), "p.csv", "value", None).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(2), ErrorKind::BadDuration));
        }
        // Comment lines count: the bad value is on line 4 of the file (a header of one
        // column, whatever its name, on both readers).
        for t in both("# exported 2026-11-29\nvalue\n# ms\n30\n") {
            let e = read_durations(mem(&t), "p.csv", "value", None).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(4), ErrorKind::BadDuration));
        }
        let text = "# exported 2026-11-29\nid,value\n# ms\na,30\n";
        let e = read_durations(mem(text), "p.csv", "value", None).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(4), ErrorKind::BadDuration));
    }

    #[test]
    fn empty_lines_count_in_line_numbers_read_line_by_line() {
        // Fails before the line-by-line reader: the csv reader said line 3.
        let [one, csv] = both("1\n\n2\n\n\nnoon\n");
        let e = times(mem(&one)).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(6), ErrorKind::Syntax));
        assert!(e.to_string().starts_with("t.csv:6: `noon`"), "{e}");
        assert_eq!(
            times(mem("1\n\n2\n")).unwrap(),
            vec![(1_000_000_000, 1), (2_000_000_000, 3)]
        );
        let e = read_durations(mem("\n\n1ms\n\n7\n"), "p.csv", "value", None).unwrap_err();
        assert_eq!(e.line, Some(5));
        // The csv reader's lines are counted the same way (its own numbers skipped the
        // three empty lines: line 3).
        let e = times(mem(&csv)).unwrap_err();
        assert_eq!(e.line, Some(6));
        let e = times(mem("time,path\n1,/a\n\n\nnoon,/b\n")).unwrap_err();
        assert_eq!(e.line, Some(5));
    }

    #[test]
    fn a_comma_or_quotes_later_in_a_file_of_one_value_a_line() {
        // The first 8 bytes have no comma: read line by line; the text before a line's
        // first comma is its value, as the csv reader takes field 1.
        let text = "0.5\n1.25\n2,/checkout\n 3 , x\n# a, comment\n4\n";
        let r = small_chunks(text, 8);
        let c = Column::new(r, "t.csv", "time").unwrap();
        assert!(c.is_one_value_a_line());
        let want = vec![
            (500_000_000, 1),
            (1_250_000_000, 2),
            (2_000_000_000, 3),
            (3_000_000_000, 4),
            (4_000_000_000, 6),
        ];
        assert_eq!(times(small_chunks(text, 8)).unwrap(), want);
        // The csv reader, on the same bytes, agrees.
        assert_eq!(times(mem(text)).unwrap(), want);
        // A value in one pair of double quotes loses them; on both readers.
        let text = "1\n2\n\"3.5\"\n\" 4 \" \n\"5,5\"\n";
        let want = vec![
            (1_000_000_000, 1),
            (2_000_000_000, 2),
            (3_500_000_000, 3),
            (4_000_000_000, 4),
        ];
        let r = small_chunks(text, 4);
        let e = times(r).unwrap_err();
        // `"5,5"`: the quotes are taken first, then `5,5` is not a number.
        assert_eq!(e.line, Some(5));
        let lines: Vec<_> = Timestamps::new(small_chunks(text, 4), "t.csv", "time")
            .unwrap()
            .take(4)
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines, want);
        let lines: Vec<_> = Timestamps::new(mem(text), "t.csv", "time")
            .unwrap()
            .take(4)
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines, want);
    }

    #[test]
    fn a_header_of_one_column_read_line_by_line() {
        let [one, csv] = both("time\n0.5\n\n1\n");
        let want = vec![(500_000_000, 2), (1_000_000_000, 4)];
        assert_eq!(times(mem(&one)).unwrap(), want);
        assert_eq!(times(small_chunks(&one, 3)).unwrap(), want);
        assert_eq!(times(mem(&csv)).unwrap(), want);
        // Whatever its name: `ms` for a column of durations.
        for t in both("ms\n12ms\n0.5s\n") {
            let xs = read_durations(mem(&t), "p.csv", "value", None).unwrap();
            assert_eq!(xs, vec![0.012, 0.5]);
        }
        // A header only: no values.
        for t in both("# export\ntime\n") {
            assert_eq!(times(mem(&t)).unwrap(), vec![]);
        }
        // A rate series needs two columns, on both readers.
        for t in both("10\n20\n") {
            let e = read_rates(|| Ok(mem(&t)), "r.csv").unwrap_err();
            assert_eq!(e.kind, ErrorKind::Missing);
        }
    }

    #[test]
    fn crlf_files_and_a_last_line_without_newline() {
        let [one, csv] = both("time\r\n0.5\r\n1500ms\r\n2\r\n\r\n2.000000001\r\n");
        let want = vec![
            (500_000_000, 2),
            (1_500_000_000, 3),
            (2_000_000_000, 4),
            (2_000_000_001, 6),
        ];
        assert_eq!(times(mem(&one)).unwrap(), want);
        // The csv reader's own numbers lagged one behind here from line 2 on.
        assert_eq!(times(mem(&csv)).unwrap(), want);
        let e = times(mem("time,path\r\n1,/a\r\n2,/b\r\nnoon,/c\r\n")).unwrap_err();
        assert_eq!(e.line, Some(4));
        // No newline at the end: the last line is a line, on the fast path of a trace
        // line too (which needs its `\n`, and leaves such a line to the general reader).
        assert_eq!(
            times(mem("0.25\n1.5")).unwrap(),
            vec![(250_000_000, 1), (1_500_000_000, 2)]
        );
        assert_eq!(times(mem("7")).unwrap(), vec![(7_000_000_000, 1)]);
        assert_eq!(
            times(mem("1\r\n2\r")).unwrap(),
            vec![(1_000_000_000, 1), (2_000_000_000, 2)]
        );
        let e = times(mem("1\n2\nnoon")).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.source_line.as_deref(), Some("noon"));
        let xs = read_durations(mem("12ms\r\n0.5s"), "p", "value", None).unwrap();
        assert_eq!(xs, vec![0.012, 0.5]);
    }

    #[test]
    fn an_error_shows_its_line() {
        for t in both("1\n2\n  1.5 \t\r\n") {
            let e = times(mem(&t)).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(3), ErrorKind::OutOfRange));
            assert_eq!(e.source_line.as_deref(), Some("  1.5 \t"), "{t:?}");
        }
        for t in both("1\n2\nsoon\n") {
            let e = times(mem(&t)).unwrap_err();
            assert_eq!(e.source_line.as_deref(), Some("soon"));
        }
        // The value is checked to be UTF-8 where it needs to be text, and the line is
        // shown as far as it can be.
        let bytes: &[u8] = b"1\n2\n\xff3\n";
        let e = times(std::io::Cursor::new(bytes)).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(3), ErrorKind::Syntax));
        assert!(e.to_string().contains("not valid UTF-8"), "{e}");
        assert_eq!(e.source_line.as_deref(), Some("\u{fffd}3"));
        // On the fast path of a trace line, going back names the line too.
        let e = times(mem("1.5\n2.25\n2.000001\n3\n")).unwrap_err();
        assert_eq!((e.line, e.kind), (Some(3), ErrorKind::OutOfRange));
        assert_eq!(e.source_line.as_deref(), Some("2.000001"));
        assert!(e.to_string().contains("`2.000001` is earlier"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_long_lines_fit() {
        for t in both("\u{feff}0.5\n1\n") {
            assert_eq!(
                times(mem(&t)).unwrap(),
                vec![(500_000_000, 1), (1_000_000_000, 2)]
            );
        }
        for t in both("\u{feff}time\n1\n") {
            assert_eq!(times(mem(&t)).unwrap(), vec![(1_000_000_000, 2)]);
        }
        // A comment longer than the 64 KiB buffer, and 200,000 lines across its refills.
        let mut text = format!("# {}\n", "x".repeat(100_000));
        for i in 0..200_000u64 {
            text.push_str(&format!("{}.{:06}\n", i / 1000, (i % 1000) * 1000));
        }
        let got = times(mem(&text)).unwrap();
        assert_eq!(got.len(), 200_000);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, &(ns, line))| ns == i as u64 * 1_000_000 && line == i + 2));
        assert_eq!(got, times(mem(&format!("{text}# ,\n"))).unwrap());
        // A reader whose first chunk is 16 bytes (a 1 KiB buffer, grown for the long line).
        assert_eq!(times(small_chunks(&text, 16)).unwrap(), got);
    }

    #[test]
    fn a_file_that_cannot_be_read_names_the_line() {
        /// Gives its bytes, then fails.
        struct Failing(std::io::Cursor<Vec<u8>>);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(std::io::Error::other("disk on fire")),
                    n => Ok(n),
                }
            }
        }
        let r = std::io::BufReader::with_capacity(
            4,
            Failing(std::io::Cursor::new(b"1\n2\n3".to_vec())),
        );
        let e = times(r).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.to_string()
                .contains("cannot read this data file: disk on fire"),
            "{e}"
        );
    }

    #[test]
    fn timestamps_in_seconds_and_rfc3339() {
        for t in both("0\n0.5\n0.5\n2\n") {
            let t: Vec<_> = times(mem(&t)).unwrap().into_iter().map(|x| x.0).collect();
            assert_eq!(t, vec![0, 500_000_000, 500_000_000, 2_000_000_000]);
        }
        for t in
            both("2024-11-29T10:00:00Z\n2024-11-29T10:00:00.25Z\n\n2024-11-29 11:00:01+01:00\n")
        {
            let t: Vec<_> = times(mem(&t)).unwrap().into_iter().map(|x| x.0).collect();
            assert_eq!(t, vec![0, 250_000_000, 1_000_000_000]);
        }
        let text = "time,path\n2024-11-29T10:00:00Z,/a\n2024-11-29T10:00:00.25Z,/b\n2024-11-29 11:00:01+01:00,/c\n2024-11-29T10:00:02,/d\n";
        let t: Vec<_> = Timestamps::new(mem(text), "t", "time")
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            t,
            vec![
                (0, 2),
                (250_000_000, 3),
                (1_000_000_000, 4),
                (2_000_000_000, 5)
            ]
        );
    }

    #[test]
    fn decimal_seconds_are_read_exactly() {
        assert_eq!(decimal_ns(b"12"), Some(12_000_000_000));
        assert_eq!(decimal_ns(b"0.000000001"), Some(1));
        assert_eq!(decimal_ns(b"3.3"), Some(3_300_000_000));
        assert_eq!(decimal_ns(b"1e3"), None);
        assert_eq!(decimal_ns(b"1."), None);
        assert_eq!(decimal_ns(b".5"), None);
        assert_eq!(decimal_ns(b"0.1234567891"), None);
        // Those fall back to the general reader.
        for t in both("1e0\n1.5\n.5e1\n6.\n12.123456789\n12.1234567891\n") {
            let t: Vec<_> = times(mem(&t)).unwrap().into_iter().map(|x| x.0).collect();
            assert_eq!(
                t,
                vec![
                    1_000_000_000,
                    1_500_000_000,
                    5_000_000_000,
                    6_000_000_000,
                    12_123_456_789,
                    12_123_456_789
                ]
            );
        }
        // The one-pass reader of a trace line, at its edges (8 bytes of what follows).
        let pad = "\n12345678";
        let line = |v: &str| decimal_line(format!("{v}{pad}").as_bytes());
        assert_eq!(line("0.000005"), Some((5_000, 8, 8)));
        assert_eq!(
            line("9999999999.999999999"),
            Some((
                9_999_999_999_999_999_999u64.min(crate::time::MAX_NS),
                20,
                20
            ))
        );
        assert_eq!(line("12.12345678"), Some((12_123_456_780, 11, 11)));
        assert_eq!(line("12"), Some((12_000_000_000, 2, 2)));
        assert_eq!(decimal_line(b"12\r\n"), Some((12_000_000_000, 2, 3)));
        assert_eq!(line("12345678901"), None);
        assert_eq!(line("1.1234567891"), None);
        assert_eq!(line("1."), None);
        assert_eq!(line("1.5 "), None);
        assert_eq!(line("+1"), None);
        // Too few bytes after the dot to read eight: left to the general reader.
        assert_eq!(decimal_line(b"1.5\n"), None);
        assert_eq!(decimal_line(b"12"), None);
    }

    /// Bytes of a made-up trace line: digits, dots, and now and then anything else.
    fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                8 => b'0'..=b'9',
                2 => Just(b'.'),
                1 => proptest::sample::select(b" \t\r\n,\"#+-eEs:TZ\xff".to_vec()),
            ],
            0..24,
        )
    }

    proptest! {
        #[test]
        fn the_one_pass_reader_agrees_with_decimal_ns(b in line_bytes(), tail in line_bytes()) {
            let mut all = b.clone();
            all.extend_from_slice(&tail);
            if let Some((ns, value, line)) = decimal_line(&all) {
                prop_assert_eq!(decimal_ns(&all[..value]), Some(ns));
                prop_assert!(all[value..line] == *b"" || all[value..line] == *b"\r");
                prop_assert_eq!(all[line], b'\n');
            }
            // A value, its newline and 8 bytes more: always taken in one pass.
            if let Some(ns) = decimal_ns(&b) {
                let mut l = b.clone();
                l.extend_from_slice(b"\n00000000");
                prop_assert_eq!(decimal_line(&l), Some((ns, b.len(), b.len())));
            }
        }

        #[test]
        fn eight_digits_at_a_time_as_one_at_a_time(b in proptest::array::uniform8(prop_oneof![8 => b'0'..=b'9', 1 => any::<u8>()])) {
            let v = u64::from_le_bytes(b);
            let k = b.iter().take_while(|c| c.is_ascii_digit()).count();
            prop_assert_eq!(digit_count(v), k);
            if k > 0 {
                let want = b[..k].iter().fold(0u64, |a, &c| a * 10 + u64::from(c - b'0'));
                prop_assert_eq!(digits_value(v, k), want);
            }
        }

        #[test]
        fn both_readers_give_the_same_timestamps(
            lines in proptest::collection::vec(
                prop_oneof![
                    6 => (0u64..100_000, 0u32..=9).prop_map(|(s, d)| {
                        let f = format!("{:09}", s.wrapping_mul(7919) % 1_000_000_000);
                        if d == 0 { format!("{s}") } else { format!("{s}.{}", &f[..d as usize]) }
                    }),
                    1 => (1u64..100_000).prop_map(|ms| format!("{ms}ms")),
                    1 => (0u64..100).prop_map(|s| format!("  {s}.5 ")),
                    1 => Just("# note".to_string()),
                    1 => Just(" ".to_string()),
                    1 => Just(String::new()),
                    1 => Just("1e1".to_string()),
                ],
                0..60,
            ),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let text: String = lines.iter().map(|l| format!("{l}{nl}")).collect();
            let csv = format!("{text}# ,\n");
            prop_assert!(Column::new(mem(&text), "f", "time").unwrap().is_one_value_a_line());
            let a = times(mem(&text)).map_err(|e| (e.line, e.kind));
            let b = times(mem(&csv)).map_err(|e| (e.line, e.kind));
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn timestamps_refuse_going_back_and_mixing() {
        for t in both("1\n2\n1.5\n") {
            let e = times(mem(&t)).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(3), ErrorKind::OutOfRange));
            assert!(
                e.to_string().contains("earlier than the timestamp before"),
                "{e}"
            );
        }
        for t in both("1\n2024-11-29T10:00:00Z\n") {
            assert_eq!(times(mem(&t)).unwrap_err().line, Some(2));
        }
        for t in both("2024-11-29T10:00:00Z\nnoon\n") {
            let e = times(mem(&t)).unwrap_err();
            assert_eq!((e.line, e.kind), (Some(2), ErrorKind::Syntax));
        }
        for t in both("-1\n") {
            assert_eq!(times(mem(&t)).unwrap_err().kind, ErrorKind::OutOfRange);
        }
    }

    #[test]
    fn rates_and_histograms() {
        let text = "time,rate\n0,10\n60,20\n120,0\n";
        let r = read_rates(|| Ok(mem(text)), "r").unwrap();
        assert_eq!(
            r,
            vec![(0, 10.0), (60_000_000_000, 20.0), (120_000_000_000, 0.0)]
        );
        let e = read_rates(|| Ok(mem("time,rate\n0,10\n0,5\n")), "r.csv").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = read_rates(|| Ok(mem("time,rate\n0,-1\n")), "r.csv").unwrap_err();
        assert_eq!((e.line, e.kind), (Some(2), ErrorKind::OutOfRange));
        for t in both("10\n20\n") {
            let e = read_rates(|| Ok(mem(&t)), "r.csv").unwrap_err();
            assert_eq!(e.kind, ErrorKind::Missing);
        }

        let h = read_histogram(
            || Ok(mem("le,count\n0.01,5\n50ms,10\n0.1,0\n+Inf,0\n")),
            "h",
        )
        .unwrap();
        assert_eq!(h, vec![(0.01, 5), (0.05, 10), (0.1, 0)]);
        let e = read_histogram(|| Ok(mem("le,count\n0.01,5\n+Inf,2\n")), "h.csv").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
        let e = read_histogram(|| Ok(mem("le,count\n0.02,5\n0.01,2\n")), "h.csv").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = read_histogram(|| Ok(mem("le,count\n0.02,1.5\n")), "h.csv").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn numbers_on_both_readers() {
        for t in both("# rps\n250\n\n1.5e3\ninf\n") {
            let n: Vec<_> = Numbers::new(mem(&t), "n", "rate")
                .unwrap()
                .map(|r| r.unwrap().0)
                .collect();
            assert_eq!(n, vec![250.0, 1500.0, f64::INFINITY]);
        }
        for t in both("1\nten\n") {
            let e = Numbers::new(mem(&t), "n.csv", "rate")
                .unwrap()
                .find_map(Result::err)
                .unwrap();
            assert_eq!((e.line, e.kind), (Some(2), ErrorKind::Syntax));
        }
    }

    #[test]
    fn mem_inputs_name_what_is_missing() {
        let m = MemInputs::new().with("a.csv", "1\n");
        assert!(m.open("a.csv").is_ok());
        let e = m.open("b.csv").err().unwrap();
        assert_eq!(e.kind, ErrorKind::Missing);
        assert!(
            e.to_string().starts_with("b.csv: no data file `b.csv`"),
            "{e}"
        );
        assert_eq!(NoInputs.open("x").err().unwrap().kind, ErrorKind::Missing);
    }
}
