//! The desktop app's entry point: everything lives in the library so tests can build the same app.
// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// The same allocator as creatorflow-cli's (the pipeline runs in this process too; see its main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    creatorflow_app::run();
}
