//! Build script: embeds tauri.conf.json + ui/dist, and declares the app's commands so the ACL applies.
//!
//! Declaring the commands in the app manifest makes Tauri generate `allow-<command>` permissions and
//! deny every command that no capability grants. Capabilities live in src-tauri/capabilities/ (not the
//! default ./capabilities of the package root, which here is the workspace root).

/// Every `#[tauri::command]` the shell registers; a command missing here cannot be invoked.
const COMMANDS: &[&str] = &[
    "overview",
    "triage_groups",
    "triage_jobs",
    "triage_job",
    "triage_preview",
    "triage_bulk",
    "triage_retry",
    "triage_discard",
    "triage_cancel",
    "audit_log",
    "list_shops",
    "update_shop_settings",
    "begin_connect",
    "connect_status",
    "connect_with_code",
    "cancel_connect",
    "demo_faults",
    "change_demo_faults",
    "restart_app",
    "settings",
    "backup_now",
    "list_orders",
    "order_facets",
    "show_order",
    "order_status",
    "label_pdf",
    "add_tracking",
    "import_tracking_csv",
    "export_orders_csv",
    "live_snapshot",
    "subscribe_live",
    "unsubscribe_live",
    "metric_history",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // A build script reports failure by exiting non-zero; the message is the whole diagnosis.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
