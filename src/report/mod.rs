//! What a run leaves behind: summary.json, timeseries.csv, pictures, the text table.
//!
//! Everything is rendered into memory first (a [`Bundle`]); only then is anything written,
//! each file to a temporary name in its folder and renamed into place, so that a file is
//! whole or absent and a failed run leaves an earlier run's files as they were.

pub mod html;
pub mod lab;
pub mod plot;
pub mod text;

pub use crate::findings;
pub use crate::output as files;

use crate::error::Error;
use std::path::{Path, PathBuf};

/// Files to write: (path, contents).
#[derive(Default)]
pub struct Bundle {
    /// In writing order.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

impl Bundle {
    /// Adds a file.
    pub fn add(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) {
        self.files.push((path.into(), bytes.into()));
    }

    /// Writes every file (temporary name, then rename).
    pub fn write(&self) -> Result<(), Error> {
        for (path, bytes) in &self.files {
            write_atomic(path, bytes)?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)
        .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    })
}
