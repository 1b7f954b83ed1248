//! The desktop app's entry point: everything lives in the library so tests can build the same app.
// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    creatorflow_app::run();
}
