//! Running the real `creatorflow-cli` binary in a temp data dir with the file secret store.

#![allow(dead_code)] // Each test file uses part of this.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_creatorflow-cli");

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> anyhow::Result<Run> {
        anyhow::ensure!(self.code == 0, "exit {}: {}\n{}", self.code, self.stderr, self.stdout);
        Ok(self)
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.stdout)?)
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A CLI invocation builder over one data dir.
pub struct Cli {
    pub dir: tempfile::TempDir,
}

impl Cli {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self { dir: tempfile::tempdir()? })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir").arg(self.data_dir()).args(args);
        c.env("CREATORFLOW_SECRET_STORE", "file")
            .env_remove("TIKTOK_APP_SECRET")
            .env_remove("TIKTOK_ACCESS_TOKEN")
            .env_remove("TIKTOK_REFRESH_TOKEN")
            .env_remove("CREATORFLOW_ACTOR")
            .env_remove("CREATORFLOW_DATABASE_URL")
            .env_remove("CREATORFLOW_DATA_DIR")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> anyhow::Result<Run> {
        run(self.command(args))
    }
}

pub fn run(mut c: Command) -> anyhow::Result<Run> {
    let Output { status, stdout, stderr } = c.output()?;
    Ok(Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Every byte of the SQLite database (main file and WAL).
pub fn database_bytes(data_dir: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(data_dir.join("creatorflow.db")).unwrap_or_default();
    bytes.extend(std::fs::read(data_dir.join("creatorflow.db-wal")).unwrap_or_default());
    bytes
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}
