//! # queuelab-lab
//!
//! queuelab's pure core behind a plain C ABI, for the browser lab (`lab.html`, built by
//! `cargo run -p xtask -- lab`). Compiled to `wasm32-unknown-unknown`; the page calls:
//!
//! - `ql_alloc(len) -> ptr` and `ql_free(ptr, len)`: a buffer for the request;
//! - `ql_run(ptr, len)`, `ql_check(ptr, len)`, `ql_knobs(ptr, len)`: read a UTF-8
//!   request from the buffer (a JSON object for `ql_run`, the scenario's text for the
//!   others) and leave the UTF-8 JSON answer in an output buffer, returning its length;
//! - `ql_data(ptr, len)`: sets the page's data files (a JSON object, name -> text) that
//!   every later run and check reads;
//! - `ql_out_ptr() -> ptr`: where that answer is (valid until the next call);
//! - `ql_score(answer, actual, slack) -> f64`: the quiz's score of a guess;
//! - `ql_version_ptr()/ql_version_len()`: the crate's version.
//!
//! The answers are built in [`glue`], which is safe Rust and tested natively.

// InputError is large (it carries the source line and hints) but is only returned while
// loading input, as in the core.
#![allow(clippy::result_large_err)]

use std::sync::Mutex;

pub mod glue;

static OUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn answer(v: serde_json::Value) -> usize {
    let bytes = serde_json::to_vec(&v).unwrap_or_else(|e| {
        format!("{{\"ok\":false,\"errors\":[{{\"message\":\"cannot encode the answer: {e}\"}}]}}")
            .into_bytes()
    });
    let mut out = OUT.lock().unwrap_or_else(|p| p.into_inner());
    *out = bytes;
    out.len()
}

/// # Safety
/// `ptr` must point to `len` readable bytes (a buffer from [`ql_alloc`]).
unsafe fn input(ptr: *const u8, len: usize) -> String {
    if ptr.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: the caller passes a buffer of `len` bytes that it filled.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// A buffer of `len` bytes for the caller to fill.
#[no_mangle]
pub extern "C" fn ql_alloc(len: usize) -> *mut u8 {
    let mut v: Vec<u8> = Vec::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Frees a buffer from [`ql_alloc`].
///
/// # Safety
/// `ptr` and `len` must be those of one [`ql_alloc`] call, freed once.
#[no_mangle]
pub unsafe extern "C" fn ql_free(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        // SAFETY: allocated by ql_alloc with this capacity.
        drop(unsafe { Vec::from_raw_parts(ptr, 0, len.max(1)) });
    }
}

/// Where the last answer is.
#[no_mangle]
pub extern "C" fn ql_out_ptr() -> *const u8 {
    OUT.lock().unwrap_or_else(|p| p.into_inner()).as_ptr()
}

/// Runs a request `{"toml", "seed", "variant", "label"}` (see [`glue::run`]).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ql_run(ptr: *const u8, len: usize) -> usize {
    // SAFETY: forwarded from the caller.
    let text = unsafe { input(ptr, len) };
    match serde_json::from_str::<glue::RunRequest>(&text) {
        Ok(req) => answer(glue::run(&req)),
        Err(e) => answer(serde_json::json!({
            "ok": false,
            "errors": [{ "message": format!("bad request: {e}"), "text": format!("bad request: {e}") }],
        })),
    }
}

/// Checks a scenario's text (see [`glue::check`]).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ql_check(ptr: *const u8, len: usize) -> usize {
    // SAFETY: forwarded from the caller.
    let text = unsafe { input(ptr, len) };
    answer(glue::check(&text, None))
}

/// Sets the page's data files: a JSON object, name -> text (see [`glue::set_data`]).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ql_data(ptr: *const u8, len: usize) -> usize {
    // SAFETY: forwarded from the caller.
    let text = unsafe { input(ptr, len) };
    answer(glue::set_data(&text))
}

/// The knobs of a scenario's text (see [`glue::knobs`]).
///
/// # Safety
/// `ptr` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ql_knobs(ptr: *const u8, len: usize) -> usize {
    // SAFETY: forwarded from the caller.
    let text = unsafe { input(ptr, len) };
    answer(glue::knobs(&text))
}

/// The quiz's score of `answer` against `actual` (0 ..= 100).
#[no_mangle]
pub extern "C" fn ql_score(answer: f64, actual: f64, slack: f64) -> f64 {
    queuelab_core::quiz::score_with_slack(answer, actual, slack)
}

/// The version string's address.
#[no_mangle]
pub extern "C" fn ql_version_ptr() -> *const u8 {
    VERSION.as_ptr()
}

/// The version string's length.
#[no_mangle]
pub extern "C" fn ql_version_len() -> usize {
    VERSION.len()
}
