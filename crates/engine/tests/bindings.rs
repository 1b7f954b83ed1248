//! The committed TypeScript bindings in ui/src/bindings/ match the Rust types. Run with
//! `UPDATE_BINDINGS=1` to rewrite them after changing a type.

use std::collections::BTreeSet;
use std::path::PathBuf;

#[test]
fn committed_typescript_bindings_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
    let generated = creatorflow_engine::console::typescript_bindings();
    let update = std::env::var_os("UPDATE_BINDINGS").is_some();
    let mut problems = Vec::new();
    for (name, contents) in &generated {
        let path = dir.join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != *contents {
            if update {
                std::fs::write(&path, contents).unwrap();
            } else {
                problems.push(format!("{name} is stale or missing"));
            }
        }
    }
    let known: BTreeSet<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".ts") && !known.contains(name.as_str()) {
            if update {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                problems.push(format!("{name} has no Rust type any more"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "ui/src/bindings is out of date ({}); run `UPDATE_BINDINGS=1 cargo test -p creatorflow-engine --test bindings`",
        problems.join(", ")
    );
}
