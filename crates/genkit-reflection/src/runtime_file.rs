//! The runtime file `<projectRoot>/.genkit/runtimes/<id>-<ms>.json` through which the Genkit
//! CLI discovers a running app (reflection v1).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The files that mark a project root, in the Genkit CLI 1.43's own list (`findProjectRoot`).
/// `Cargo.toml` is deliberately not one: the runtime must agree with the CLI.
pub const PROJECT_ROOT_MARKERS: &[&str] = &[
    "package.json",
    "go.mod",
    "pyproject.toml",
    "requirements.txt",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "pubspec.yaml",
];

/// The project root as the Genkit CLI finds it: the nearest directory from `start` upwards
/// (excluding `/`) that holds one of [`PROJECT_ROOT_MARKERS`], else `start` itself.
pub fn find_project_root(start: &Path) -> PathBuf {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.parent().is_none() {
            break;
        }
        if PROJECT_ROOT_MARKERS.iter().any(|m| d.join(m).exists()) {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    start.to_path_buf()
}

/// The contents of a runtime file (field order as the JS runtime writes them).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    /// Runtime id: `GENKIT_RUNTIME_ID`, else `<pid>-<port>`.
    pub id: String,
    /// Our process id.
    pub pid: u32,
    /// Display name (never `null`: the CLI rejects that).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `http://127.0.0.1:<port>`.
    pub reflection_server_url: String,
    /// ISO-8601 UTC with milliseconds and `Z`.
    pub timestamp: String,
    /// `rust/<version>`.
    pub genkit_version: String,
    /// Always 1.
    pub reflection_api_spec_version: u32,
}

/// A runtime file we wrote; removed again by [`RuntimeFile::remove`].
#[derive(Debug, Clone)]
pub struct RuntimeFile {
    path: PathBuf,
}

impl RuntimeFile {
    /// Writes `info` atomically into `<root>/.genkit/runtimes/` (the temporary file lives
    /// outside `runtimes/`, so the CLI's watcher never sees a partial file).
    ///
    /// # Errors
    /// The I/O error when a directory or the file cannot be written.
    pub fn write(root: &Path, info: &RuntimeInfo) -> std::io::Result<RuntimeFile> {
        let file = RuntimeFile::prepare(root, info)?;
        file.publish(info)?;
        Ok(file)
    }

    /// Creates `<root>/.genkit/runtimes/` and names the file `<id>-<ms>.json` in it, without
    /// writing it yet (see [`RuntimeFile::publish`]): a runtime checks early that it can
    /// announce itself, and announces once its actions are defined.
    ///
    /// # Errors
    /// The I/O error when the directory cannot be created.
    pub fn prepare(root: &Path, info: &RuntimeInfo) -> std::io::Result<RuntimeFile> {
        let dir = root.join(".genkit").join("runtimes");
        std::fs::create_dir_all(&dir)?;
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        Ok(RuntimeFile { path: dir.join(format!("{}-{ms}.json", info.id)) })
    }

    /// Writes `info` into the file atomically: a temporary file beside `runtimes/` (so the
    /// CLI's watcher never sees a partial file) renamed into place.
    ///
    /// # Errors
    /// The I/O error when the file cannot be written.
    pub fn publish(&self, info: &RuntimeInfo) -> std::io::Result<()> {
        let Some(genkit_dir) = self.path.parent().and_then(Path::parent) else {
            return Err(std::io::Error::other("the runtime file has no .genkit directory"));
        };
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let tmp = genkit_dir.join(format!(".rt-{}-{ms}.tmp", info.pid));
        let json = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        if let Err(e) = std::fs::rename(&tmp, &self.path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(())
    }

    /// Writes the file again under the same name (atomically, as [`RuntimeFile::write`]), so a
    /// watcher that missed its creation sees it now. Does nothing once the file is gone (the
    /// runtime stopped, or a tool removed it as unhealthy); returns whether it wrote.
    ///
    /// # Errors
    /// The I/O error when the file cannot be written.
    pub fn rewrite(&self, info: &RuntimeInfo) -> std::io::Result<bool> {
        let Some(dir) = self.path.parent().and_then(Path::parent) else { return Ok(false) };
        if !self.path.exists() {
            return Ok(false);
        }
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let tmp = dir.join(format!(".rt-{}-{ms}.tmp", info.pid));
        let json = serde_json::to_vec_pretty(info).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        if let Err(e) = std::fs::rename(&tmp, &self.path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(true)
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the file if it still names our process (as JS does); returns whether it did.
    pub fn remove(&self) -> bool {
        let ours = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("pid").and_then(serde_json::Value::as_u64))
            .is_some_and(|pid| pid == u64::from(std::process::id()));
        ours && std::fs::remove_file(&self.path).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_root_uses_the_cli_markers_and_falls_back_to_start() {
        let base = std::env::temp_dir().join(format!("genkit-root-{}", std::process::id()));
        let nested = base.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(base.join("a/Cargo.toml"), "").unwrap();
        // Cargo.toml is not a marker; the search continues upwards and may find one outside.
        let found = find_project_root(&nested);
        assert!(!found.starts_with(base.join("a")) || found == nested);
        std::fs::write(base.join("package.json"), "{}").unwrap();
        assert_eq!(find_project_root(&nested), base);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn runtime_file_is_written_atomically_and_removed_only_if_ours() {
        let root = std::env::temp_dir().join(format!("genkit-rtfile-{}", std::process::id()));
        let info = RuntimeInfo {
            id: "1-3100".into(),
            pid: std::process::id(),
            name: None,
            reflection_server_url: "http://127.0.0.1:3100".into(),
            timestamp: genkit_core::time::now_iso(),
            genkit_version: "rust/0.1.0".into(),
            reflection_api_spec_version: 1,
        };
        let f = RuntimeFile::write(&root, &info).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
        assert_eq!(v["reflectionServerUrl"], "http://127.0.0.1:3100");
        assert!(v.get("name").is_none(), "name is omitted, never null");
        let names: Vec<_> = std::fs::read_dir(root.join(".genkit/runtimes")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file inside runtimes/");
        // Another process's file is left alone.
        std::fs::write(f.path(), r#"{"pid": 1}"#).unwrap();
        assert!(!f.remove());
        std::fs::write(f.path(), serde_json::to_vec(&info).unwrap()).unwrap();
        assert!(f.remove());
        assert!(!f.path().exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
