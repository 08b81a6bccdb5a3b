//! What a run leaves behind: summary.json, timeseries.csv, pictures, the text table.
//!
//! Everything is rendered into memory first (a [`Bundle`]) and written into a fresh
//! staging folder beside the target (a [`Staging`]); only when every file is written is
//! the staging folder swapped in for the target, so the target is always one run's files
//! and nothing else: an earlier run's folder stays as it was when writing fails (a full
//! disk, say), and the files of an earlier run that this run does not write (another
//! variant's folder, comparison files) go with it. Each folder gets a `manifest.json`
//! listing what it holds; a folder with files that queuelab did not write is refused
//! rather than replaced.

pub mod html;
pub mod lab;
pub mod plot;
pub mod text;

pub use crate::findings;
pub use crate::output as files;

use crate::error::{Error, InputError};
use std::path::{Path, PathBuf};

/// The name of the list of files that a command wrote into its folder.
pub const MANIFEST: &str = "manifest.json";

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
}

/// `manifest.json`: what wrote the folder and every file in it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always `queuelab`: how a folder of ours is told from a user's.
    pub written_by: String,
    /// The version that wrote it.
    pub version: String,
    /// Every file written, relative to the folder, `/`-separated, sorted.
    pub files: Vec<String>,
}

/// Names that an older queuelab (before manifests) wrote at the top of a folder: a folder
/// holding one of them and only names like them is taken as ours.
const LEGACY_MARKERS: &[&str] = &["summary.json", "report.html", "sweep.json", "sweep.csv"];

/// The command line as given, for manifests and reports, with the program named
/// `queuelab` (wherever its binary is).
pub fn command_line() -> Vec<String> {
    let mut args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(first) = args.first_mut() {
        *first = "queuelab".into();
    }
    args
}

/// [`command_line`] without `--out` and its folder: what decides a run's numbers, so that
/// equal runs into different folders write equal summaries.
pub fn command_without_out() -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in command_line() {
        if skip {
            skip = false;
        } else if a == "--out" {
            skip = true;
        } else if !a.starts_with("--out=") {
            out.push(a);
        }
    }
    out
}

/// A fresh folder beside the target that a command writes into; [`Staging::commit`]
/// swaps it in. Dropped without a commit (any error path), it is removed.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    written: Vec<String>,
    committed: bool,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(context, e)
}

/// The folder beside `out` and the last component of `out`.
fn parent_and_name(out: &Path) -> Result<(PathBuf, String), Error> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n != "." && n != "..")
        .ok_or_else(|| {
            InputError::new(format!(
                "`{}` cannot be an output folder: a run replaces its whole folder, so give a folder of its own, e.g. output/run1",
                out.display()
            ))
            .in_file("--out")
        })?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok((parent, name))
}

/// Refuses an output folder that holds anything queuelab did not write (it would be
/// deleted by the swap): the files listed in its manifest, or for a folder written before
/// manifests, the names an older queuelab wrote.
pub fn check_out_dir(out: &Path) -> Result<(), Error> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("cannot read {}", out.display()), e)),
    };
    if !meta.is_dir() {
        return Err(
            InputError::new(format!("`{}` exists and is not a folder", out.display()))
                .in_file("--out")
                .hint("give a new folder, or an earlier run's folder to replace")
                .into(),
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(out)
        .map_err(io(format!("cannot read {}", out.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if names.is_empty() {
        return Ok(());
    }
    let foreign: Vec<String> = match std::fs::read(out.join(MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
        .filter(|m| m.written_by == "queuelab")
    {
        Some(m) => {
            let ours: std::collections::BTreeSet<&str> = m
                .files
                .iter()
                .map(|f| f.split('/').next().unwrap_or(f))
                .chain([MANIFEST])
                .collect();
            names
                .iter()
                .filter(|n| !ours.contains(n.as_str()))
                .cloned()
                .collect()
        }
        None if names.iter().any(|n| LEGACY_MARKERS.contains(&n.as_str())) => {
            // Written before manifests: our files, variant folders and nothing else.
            names
                .iter()
                .filter(|n| {
                    let p = out.join(n);
                    // Our files, and the temporaries an older queuelab could leave.
                    let ours = [".json", ".csv", ".png", ".svg", ".html"]
                        .iter()
                        .any(|x| n.ends_with(x))
                        || (n.starts_with('.') && n.ends_with(".tmp"));
                    !(ours || p.is_dir())
                })
                .cloned()
                .collect()
        }
        None => names,
    };
    if foreign.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = foreign.iter().take(5).map(|n| format!("`{n}`")).collect();
    Err(InputError::new(format!(
        "`{}` holds {} that queuelab did not write ({}{}); a run replaces its whole folder, so it will not write there",
        out.display(),
        if foreign.len() == 1 { "a file" } else { "files" },
        shown.join(", "),
        if foreign.len() > 5 { ", ..." } else { "" }
    ))
    .in_file("--out")
    .hint("give a new or empty folder, or move those files out")
    .into())
}

impl Staging {
    /// Checks `out` ([`check_out_dir`]) and creates a fresh staging folder beside it.
    pub fn begin(out: &Path) -> Result<Staging, Error> {
        check_out_dir(out)?;
        let (parent, name) = parent_and_name(out)?;
        std::fs::create_dir_all(&parent)
            .map_err(io(format!("cannot create {}", parent.display())))?;
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = parent.join(format!(".{name}.queuelab-{}-{n}.tmp", std::process::id()));
        std::fs::create_dir(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            written: Vec::new(),
            committed: false,
        })
    }

    /// The staging folder (for files written while the command runs).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the files of `path` (under the target) go while staging.
    fn staged(&self, path: &Path) -> Result<(PathBuf, String), Error> {
        let rel = path.strip_prefix(&self.out).map_err(|_| {
            Error::Other(format!(
                "internal: {} is not under {}",
                path.display(),
                self.out.display()
            ))
        })?;
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        Ok((self.dir.join(rel), key))
    }

    /// Writes the bundle's files (paths under the target) into the staging folder.
    pub fn write(&mut self, bundle: &Bundle) -> Result<(), Error> {
        for (path, bytes) in &bundle.files {
            let (at, key) = self.staged(path)?;
            if let Some(d) = at.parent() {
                std::fs::create_dir_all(d).map_err(io(format!(
                    "cannot create {}",
                    self.out
                        .join(d.strip_prefix(&self.dir).unwrap_or(d))
                        .display()
                )))?;
            }
            std::fs::write(&at, bytes).map_err(io(format!("cannot write {}", path.display())))?;
            self.written.push(key);
        }
        Ok(())
    }

    /// Writes the manifest and swaps the staging folder in for the target.
    pub fn commit(mut self) -> Result<(), Error> {
        let mut files = self.written.clone();
        files.sort();
        files.dedup();
        let manifest = Manifest {
            written_by: "queuelab".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            files,
        };
        let mut json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Other(e.to_string()))?;
        json.push(b'\n');
        let at = self.dir.join(MANIFEST);
        std::fs::write(&at, json).map_err(io(format!(
            "cannot write {}",
            self.out.join(MANIFEST).display()
        )))?;
        self.swap()?;
        self.committed = true;
        Ok(())
    }

    fn swap(&self) -> Result<(), Error> {
        let (parent, name) = parent_and_name(&self.out)?;
        let old = parent.join(format!(".{name}.queuelab-{}.old", std::process::id()));
        // Another writer may swap its folder in between our two renames; then ours
        // replaces it on the next round (the folder is never a mix of the two).
        for _ in 0..5 {
            check_out_dir(&self.out)?;
            let had_old = match std::fs::rename(&self.out, &old) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => {
                    return Err(Error::io(
                        format!("cannot replace {}", self.out.display()),
                        e,
                    ))
                }
            };
            match std::fs::rename(&self.dir, &self.out) {
                Ok(()) => {
                    if had_old {
                        std::fs::remove_dir_all(&old).map_err(io(format!(
                            "wrote {} but cannot remove the earlier run's files at {}",
                            self.out.display(),
                            old.display()
                        )))?;
                    }
                    return Ok(());
                }
                Err(e) => {
                    if had_old {
                        // Put the earlier run back where it was.
                        let _ = std::fs::rename(&old, &self.out);
                    }
                    if self.out.exists() {
                        continue;
                    }
                    return Err(Error::io(format!("cannot write {}", self.out.display()), e));
                }
            }
        }
        Err(Error::Other(format!(
            "cannot write {}: another process keeps replacing it",
            self.out.display()
        )))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Writes a bundle of files under `out` all or nothing: see [`Staging`].
pub fn publish(out: &Path, bundle: &Bundle) -> Result<(), Error> {
    let mut s = Staging::begin(out)?;
    s.write(bundle)?;
    s.commit()
}

/// Writes `bytes` to `path` through a temporary file in the same folder (removed if
/// writing fails), for single files outside a run folder.
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
    std::fs::write(&tmp, bytes).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    })
}
