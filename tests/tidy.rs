//! Tidy checks: the mechanical invariants of ARCHITECTURE.md, enforced on every test run.

use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(repo().join("crates"))
        .expect("crates/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

/// The `[dependencies]`-like sections of a manifest, as (section, dependency name) pairs.
fn dependencies(manifest: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(manifest).expect("manifest readable");
    let mut section = String::new();
    let mut deps = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
        } else if section.ends_with("dependencies") {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim();
                if !name.is_empty() && !name.starts_with('#') {
                    deps.push((section.clone(), name.split('.').next().unwrap_or(name).to_string()));
                }
            }
        }
    }
    deps
}

#[test]
fn no_engine_crate_depends_on_tauri() {
    for dir in crate_dirs() {
        for (section, dep) in dependencies(&dir.join("Cargo.toml")) {
            assert!(
                !dep.starts_with("tauri"),
                "{} depends on {dep} in [{section}]: crates/ must never depend on tauri (invariant 1)",
                dir.display()
            );
        }
    }
}

#[test]
fn sandbox_knows_only_the_wire_format() {
    let manifest = repo().join("crates/tiktok-sandbox/Cargo.toml");
    for (section, dep) in dependencies(&manifest) {
        assert!(
            !["tiktok-shop", "creatorflow-engine", "creatorflow-queue"].contains(&dep.as_str()),
            "the sandbox depends on {dep} in [{section}]: it must not share code with what it tests (invariant 3)"
        );
    }
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut files = Vec::new();
    for dir in crate_dirs() {
        rust_files(&dir.join("src"), &mut files);
    }
    rust_files(&repo().join("src-tauri/src"), &mut files);
    rust_files(&repo().join("tests"), &mut files);
    assert!(!files.is_empty());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty() && !l.starts_with("#!["));
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .map(|f| f.strip_prefix(repo()).unwrap_or(f).display().to_string())
        .collect();
    assert!(missing.is_empty(), "modules without a leading `//!` line: {missing:?}");
}

#[test]
fn source_files_stay_a_readable_size() {
    const MAX_LINES: usize = 1000;
    let mut files = Vec::new();
    rust_files(&repo().join("crates"), &mut files);
    rust_files(&repo().join("src-tauri/src"), &mut files);
    let too_long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "split these files: {too_long:?}");
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let versions = |dialect: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(repo().join("migrations").join(dialect))
            .expect("migrations dir")
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.split('_').next().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let (sqlite, postgres) = (versions("sqlite"), versions("postgres"));
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must carry the same versions");
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md");
    let ci = fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    assert!(readme.contains("make test") && readme.contains("make run"), "README names the two commands");
    assert!(ci.lines().any(|l| l.trim() == "make test"), ".ci/run must call the README's test command");
}
