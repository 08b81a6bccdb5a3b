//! Simulated time: integer nanoseconds, and the duration syntax of scenario files.
//!
//! The engine keeps time as `u64` nanoseconds so that event times never drift and ties are
//! exact (they are then broken by a sequence number, see the `engine` module).

/// Simulated time or a span of it, in nanoseconds.
pub type Nanos = u64;

/// Nanoseconds in one second.
pub const NS_PER_SEC: f64 = 1e9;

/// The largest span the engine represents: 2^62 ns, about 146 years. Every converted
/// time is capped here, so the sum of any two stays inside `u64`.
pub const MAX_NS: Nanos = 1 << 62;

/// Seconds (as a float) to nanoseconds, rounded half away from zero like `f64::round`;
/// negatives and NaN become 0; capped at [`MAX_NS`].
#[inline]
pub fn secs_to_ns(secs: f64) -> Nanos {
    let ns = secs * NS_PER_SEC;
    if secs.is_nan() || secs <= 0.0 {
        0
    } else if ns >= MAX_NS as f64 {
        MAX_NS
    } else {
        round_below_max(ns)
    }
}

/// `x.round() as u64` for `0 <= x < 2^62`, without the call `f64::round` compiles to on
/// targets without a rounding instruction (it is on every draw). Exact: below 2^52 the
/// fraction `x - trunc(x)` is representable, and above it `x` is already an integer.
#[inline]
// Sound for the documented domain (every caller passes 0 <= x < 2^62): x fits i64, and the
// rounded value is >= 0, so neither cast truncates nor loses a sign.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn round_below_max(x: f64) -> u64 {
    debug_assert!((0.0..MAX_NS as f64).contains(&x));
    // Through i64 (x < 2^62): one conversion instruction each way on x86-64, where u64
    // conversions take several.
    let t = x as i64;
    let r = if x - t as f64 >= 0.5 { t + 1 } else { t };
    r as u64
}

/// Nanoseconds to seconds.
pub fn ns_to_secs(ns: Nanos) -> f64 {
    ns as f64 / NS_PER_SEC
}

/// Units accepted in duration strings, with their length in seconds.
pub const UNITS: &[(&str, f64)] = &[
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("min", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
];

/// Why a text is not a duration; its `Display` says so in words meant for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Nothing but spaces.
    Empty,
    /// A part that does not start with a number (the whole text).
    NotANumber(String),
    /// A number with no unit after it, in a compound (the whole text, the number).
    MissingUnit(String, String),
    /// A unit not in the table (the unit, the whole text).
    UnknownUnit(String, String),
    /// Infinite or NaN (the whole text).
    NotFinite(String),
    /// Below zero (the whole text).
    Negative(String),
}

impl std::fmt::Display for DurationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DurationError::Empty => write!(f, "empty duration"),
            DurationError::NotANumber(t) => write!(f, "`{t}` is not a number followed by a unit"),
            DurationError::MissingUnit(t, value) => write!(f, "`{t}` needs a unit after {value}"),
            DurationError::UnknownUnit(unit, t) => write!(f, "unknown unit `{unit}` in `{t}`"),
            DurationError::NotFinite(t) => write!(f, "`{t}` is not a finite duration"),
            DurationError::Negative(t) => write!(f, "`{t}` is negative"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, `"2us"`, compounds such as `"1h30m"` or
/// `"3m 30s"`, or a bare number of seconds (`"30"`). Returns seconds.
///
/// # Errors
///
/// A [`DurationError`] when the text is empty, a part is not a number followed by a known
/// unit, or the total is infinite or negative.
pub fn parse_duration(text: &str) -> Result<f64, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    if let Ok(v) = t.parse::<f64>() {
        return check(v, t);
    }
    let mut rest = t;
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_digit()
                    || c == '.'
                    || ((c == '-' || c == '+') && (i == 0 || rest[..i].ends_with(['e', 'E'])))
                    || ((c == 'e' || c == 'E')
                        && rest[i + 1..].starts_with(|d: char| d.is_ascii_digit() || d == '-')))
            })
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end]
            .parse()
            .map_err(|_| DurationError::NotANumber(t.to_string()))?;
        rest = rest[num_end..].trim_start();
        let unit_end = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || c.is_whitespace() || *c == '.')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(t.to_string(), value.to_string()));
        }
        let scale = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, s)| *s)
            .ok_or_else(|| DurationError::UnknownUnit(unit.to_string(), t.to_string()))?;
        total += value * scale;
        rest = rest[unit_end..].trim_start();
    }
    check(total, t)
}

fn check(secs: f64, t: &str) -> Result<f64, DurationError> {
    if !secs.is_finite() {
        return Err(DurationError::NotFinite(t.to_string()));
    }
    if secs < 0.0 {
        return Err(DurationError::Negative(t.to_string()));
    }
    Ok(secs)
}

/// Formats seconds for people: `850ms`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn human(secs: f64) -> String {
    if !secs.is_finite() {
        return "-".into();
    }
    let a = secs.abs();
    if a == 0.0 {
        "0s".into()
    } else if a < 1e-3 {
        format!("{:.0}µs", secs * 1e6)
    } else if a < 1.0 {
        format!("{:.0}ms", secs * 1e3)
    } else if a < 60.0 {
        format!("{secs:.2}s")
    } else if a < 3600.0 {
        let m = (secs / 60.0).floor();
        format!("{m:.0}m {:02.0}s", (secs - 60.0 * m).floor())
    } else {
        let h = (secs / 3600.0).floor();
        format!("{h:.0}h {:02.0}m", ((secs - 3600.0 * h) / 60.0).floor())
    }
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_matches_f64_round() {
        let cases = [
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            4503599627370495.5,
            4503599627370497.0,
            1e18,
            123456.4999,
            7.5e-1,
        ];
        for c in cases {
            assert_eq!(round_below_max(c), crate::convert::round_u64(c), "{c}");
        }
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..200_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let x = (rng >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((rng % 19) as i32);
            assert_eq!(round_below_max(x), crate::convert::round_u64(x), "{x}");
        }
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(0.25));
        assert_eq!(parse_duration("1.5s"), Ok(1.5));
        assert_eq!(parse_duration("2m"), Ok(120.0));
        assert_eq!(parse_duration("1h"), Ok(3600.0));
        assert!((parse_duration("2us").unwrap() - 2e-6).abs() < 1e-15);
        assert_eq!(parse_duration("30"), Ok(30.0));
        assert_eq!(parse_duration(" 1e3 ms "), Ok(1.0));
        assert_eq!(parse_duration("3m30s"), Ok(210.0));
        assert_eq!(parse_duration("1h 30m"), Ok(5400.0));
        assert_eq!(parse_duration("1.5e-3s"), Ok(0.0015));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse_duration("fast").is_err());
        let unknown = parse_duration("5 parsecs").unwrap_err();
        assert_eq!(
            unknown,
            DurationError::UnknownUnit("parsecs".into(), "5 parsecs".into())
        );
        assert_eq!(unknown.to_string(), "unknown unit `parsecs` in `5 parsecs`");
        let negative = parse_duration("-1s").unwrap_err();
        assert_eq!(negative, DurationError::Negative("-1s".into()));
        assert_eq!(negative.to_string(), "`-1s` is negative");
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
    }

    #[test]
    fn ns_conversions_round_trip() {
        assert_eq!(secs_to_ns(0.25), 250_000_000);
        assert_eq!(secs_to_ns(-3.0), 0);
        assert_eq!(secs_to_ns(1e300), MAX_NS);
        assert_eq!(secs_to_ns(f64::INFINITY), MAX_NS);
        assert_eq!(ns_to_secs(1_500_000_000), 1.5);
        assert_eq!(human(0.0421), "42ms");
        assert_eq!(human(245.0), "4m 05s");
    }
}
