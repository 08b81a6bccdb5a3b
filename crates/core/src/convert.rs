//! Float-to-integer conversions of counts, indices and ranks, in one place.
//!
//! The crate denies itself bare `as` casts that may truncate or lose a sign
//! (`clippy::cast_possible_truncation`, `clippy::cast_sign_loss`, `clippy::cast_possible_wrap`
//! in crates/core/Cargo.toml). Integer-to-integer conversions use `try_from` with a decision
//! at the site; a float becomes an integer only through these helpers (or the time helpers
//! in [`crate::time`]), which say what they do with NaN, negatives and values too large.
//!
//! Each is exactly Rust's saturating `as` conversion of the floor: NaN and anything below 0
//! give 0, anything at or above the type's range gives its maximum. For `x >= 0` the floor
//! and truncation toward zero agree, and every negative saturates to 0 either way, so the
//! result is the same bits a bare `x as T` gave before (no bundled output moves).

/// `floor(x)` as a `u64`, saturating: NaN and `x < 1` give 0 (negatives included),
/// `x >= 2^64` gives `u64::MAX`.
#[inline]
// Sound: `as` from f64 to an integer saturates (NaN -> 0) since Rust 1.45; that saturation
// is what this helper promises.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn floor_u64(x: f64) -> u64 {
    x as u64
}

/// `floor(x)` as a `u32`, saturating: NaN and `x < 1` give 0, `x >= 2^32` gives `u32::MAX`.
#[inline]
// Sound: `as` from f64 saturates (see `floor_u64`).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn floor_u32(x: f64) -> u32 {
    x as u32
}

/// `floor(x)` as a `usize`, saturating: NaN and `x < 1` give 0, `x >= usize::MAX` gives
/// `usize::MAX` (2^32 - 1 on wasm32).
#[inline]
// Sound: `as` from f64 saturates (see `floor_u64`).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn floor_usize(x: f64) -> usize {
    x as usize
}

/// `x` rounded half away from zero (`f64::round`) as a `u64`, saturating like
/// [`floor_u64`]: NaN and `x < 0.5` give 0.
#[inline]
pub(crate) fn round_u64(x: f64) -> u64 {
    floor_u64(x.round())
}

/// The index of `x` into a slice of `len > 0` items: `floor(x)` clamped to `0..len`
/// (NaN and negatives give 0, anything past the end the last item).
#[inline]
pub(crate) fn index_below(x: f64, len: usize) -> usize {
    debug_assert!(len > 0);
    floor_usize(x).min(len - 1)
}

/// The nearest rank of quantile `q` among `n > 0` sorted values, 1-based:
/// `ceil(q * n)` clamped to `1..=n` (so `q <= 0` and NaN give the smallest, `q >= 1` the
/// largest).
#[inline]
pub(crate) fn nearest_rank(q: f64, n: usize) -> usize {
    debug_assert!(n > 0);
    floor_usize((q * n as f64).ceil()).clamp(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturate_and_floor() {
        assert_eq!(floor_u64(f64::NAN), 0);
        assert_eq!(floor_u64(-3.7), 0);
        assert_eq!(floor_u64(2.9), 2);
        assert_eq!(floor_u64(1e30), u64::MAX);
        assert_eq!(floor_u32(f64::INFINITY), u32::MAX);
        assert_eq!(floor_usize(f64::NEG_INFINITY), 0);
        assert_eq!(round_u64(2.5), 3);
        assert_eq!(round_u64(-0.4), 0);
        assert_eq!(index_below(7.9, 5), 4);
        assert_eq!(index_below(-1.0, 5), 0);
    }

    #[test]
    fn ranks() {
        // 10 values: the median is the 5th, p99 the 10th, p0 the 1st.
        assert_eq!(nearest_rank(0.5, 10), 5);
        assert_eq!(nearest_rank(0.99, 10), 10);
        assert_eq!(nearest_rank(0.0, 10), 1);
        assert_eq!(nearest_rank(f64::NAN, 10), 1);
        assert_eq!(nearest_rank(2.0, 10), 10);
    }
}
