//! The shell on Tauri's mock runtime: the real context (config, ACL, capabilities), the real setup and
//! the real engine, driven through the same IPC path the window uses.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};

use crate::{ShellConfig, builder, context};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("creatorflow-shell-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn app(config: ShellConfig) -> App<MockRuntime> {
    let mut app = builder(mock_builder(), config)
        .build(context())
        .expect("build the app on the mock runtime");
    // The first event-loop iteration runs setup: the config's windows, then ours (open the console).
    // Deprecated because it busy-loops when called in a loop; one call is exactly what a test needs.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    app
}

/// The window tauri.conf.json declares; setup creates it on the mock runtime like on the real one.
fn main_window(app: &App<MockRuntime>) -> WebviewWindow<MockRuntime> {
    app.get_webview_window("main")
        .expect("tauri.conf.json declares a window labelled main")
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, origin: &str) -> Result<Value, Value> {
    invoke_with(window, cmd, origin, InvokeBody::default())
}

fn invoke_with(window: &WebviewWindow<MockRuntime>, cmd: &str, origin: &str, body: InvokeBody) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: origin.parse().expect("valid origin url"),
            body,
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("json response"))
}

/// The origin the bundled UI is served from on Linux.
const APP_ORIGIN: &str = "tauri://localhost";

#[test]
fn overview_returns_the_engine_overview() {
    let dir = TempDir::new();
    let data_dir = dir.path().join("data");
    let app = app(ShellConfig {
        data_dir: Some(data_dir.clone()),
        database_url: None,
        pipeline: false,
    });
    let overview = invoke(&main_window(&app), "overview", APP_ORIGIN).expect("overview succeeds");

    assert_eq!(overview["product"], "CreatorFlow Console");
    assert_eq!(overview["version"], env!("CARGO_PKG_VERSION"));
    let database = overview["database"].as_str().expect("database is a string");
    assert!(
        database.contains(&data_dir.display().to_string()),
        "database {database:?} should live in the data dir {data_dir:?}"
    );
    assert!(overview["queues"].is_array(), "queues: {overview}");
    assert!(
        data_dir.is_dir(),
        "setup opened the console, which creates the data dir"
    );
}

#[test]
fn overview_reports_a_console_that_failed_to_open_as_kind_and_message() {
    let dir = TempDir::new();
    // A data dir below a regular file cannot be created: the engine refuses to open.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("write blocker file");
    let data_dir = blocker.join("data");
    let app = app(ShellConfig {
        data_dir: Some(data_dir.clone()),
        database_url: None,
        pipeline: false,
    });

    let error = invoke(&main_window(&app), "overview", APP_ORIGIN).expect_err("overview fails");
    // The kind is the engine's own (the UI branches on it); it must be a real kind, not the IPC layer's
    // bare-string refusal.
    let kind = error["kind"].as_str().expect("kind is a string");
    assert!(
        !kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "kind {kind:?} should be a snake_case name"
    );
    let message = error["message"].as_str().expect("message is a string");
    assert!(
        message.contains(&data_dir.display().to_string()),
        "message {message:?} should name the data dir"
    );
    assert_eq!(
        error.as_object().map(|o| o.len()),
        Some(2),
        "only kind and message: {error}"
    );
}

#[test]
fn acl_denies_the_command_to_remote_origins() {
    let dir = TempDir::new();
    let app = app(ShellConfig {
        data_dir: Some(dir.path().join("data")),
        database_url: None,
        pipeline: false,
    });
    let window = main_window(&app);
    // The capability grants `overview` to the bundled UI only: a page from elsewhere gets nothing.
    let denied =
        invoke(&window, "overview", "https://example.com").expect_err("remote origin is denied");
    assert!(
        denied.as_str().is_some_and(|m| m.contains("overview")),
        "denial: {denied}"
    );
    // An undeclared command is refused as well (it is not in build.rs's app manifest).
    let unknown =
        invoke(&window, "drop_database", APP_ORIGIN).expect_err("unknown command is refused");
    assert!(unknown.as_str().is_some(), "refusal: {unknown}");
}

#[test]
fn order_commands_take_one_object_argument_like_the_ui_sends() {
    let dir = TempDir::new();
    let app = app(ShellConfig { data_dir: Some(dir.path().join("data")), database_url: None, pipeline: false });
    let window = main_window(&app);
    let args = |v: Value| InvokeBody::Json(v);
    // A partial query: every field of OrderQuery may be left out.
    let page = invoke_with(&window, "list_orders", APP_ORIGIN, args(serde_json::json!({"query": {"statuses": ["AWAITING_SHIPMENT"]}})))
        .expect("list_orders succeeds");
    assert_eq!(page, serde_json::json!({"orders": [], "next": null}));
    let facets = invoke_with(&window, "order_facets", APP_ORIGIN, args(serde_json::json!({}))).expect("facets");
    assert_eq!(facets["total"], 0);
    let entry = serde_json::json!({"req": {"order": "576000000000000001", "tracking_number": "RM1GB", "provider": "DPD"}});
    let error = invoke_with(&window, "add_tracking", APP_ORIGIN, args(entry)).expect_err("no such order");
    assert_eq!(error["kind"], "not_found", "{error}");
    let error = invoke_with(&window, "label_pdf", APP_ORIGIN, args(serde_json::json!({"package": 9}))).expect_err("no label");
    assert_eq!(error["kind"], "not_found", "{error}");
}

#[test]
fn first_launch_without_a_shop_runs_the_demo_shop_and_streams_its_snapshot() {
    let dir = TempDir::new();
    let app = app(ShellConfig {
        data_dir: Some(dir.path().join("data")),
        database_url: None,
        pipeline: true,
    });
    let window = main_window(&app);
    let overview = invoke(&window, "overview", APP_ORIGIN).expect("overview succeeds");
    assert_eq!(overview["demo"], true, "{overview}");
    assert_eq!(overview["pipeline_running"], true, "{overview}");
    let snapshot = invoke(&window, "live_snapshot", APP_ORIGIN).expect("live_snapshot succeeds");
    assert_eq!(snapshot["demo"], true);
    assert_eq!(snapshot["source"], "in_process");
    assert!(snapshot["queue"]["by_state"].is_array(), "{snapshot}");
    let denied = invoke(&window, "live_snapshot", "https://example.com").expect_err("remote origin is denied");
    assert!(denied.as_str().is_some(), "denial: {denied}");
    crate::on_exit(app.handle());
}

#[test]
fn the_opener_opens_only_http_urls_in_the_default_browser() {
    let dir = TempDir::new();
    let app = app(ShellConfig { data_dir: Some(dir.path().join("data")), database_url: None, pipeline: false });
    let window = main_window(&app);
    let open = |url: &str, with: Option<&str>, origin: &str| {
        let body = InvokeBody::Json(serde_json::json!({"url": url, "with": with}));
        invoke_with(&window, "plugin:opener|open_url", origin, body)
    };
    // Only refusals are exercised: an allowed URL would start a real browser on the test machine.
    for url in ["file:///etc/passwd", "javascript:alert(1)", "mailto:a@example.com", "ftp://example.com/x", "/usr/bin/xterm"] {
        let refused = open(url, None, APP_ORIGIN).expect_err(url);
        assert!(refused.to_string().contains("Not allowed to open"), "{url}: {refused}");
    }
    // An allowed URL with a program of the page's choosing is refused too: the default browser only.
    let refused = open("https://services.tiktokshop.com/open/authorize?app_key=k", Some("xterm"), APP_ORIGIN).expect_err("with");
    assert!(refused.to_string().contains("Not allowed to open"), "{refused}");
    // A page from elsewhere gets no opener at all.
    let denied = open("https://example.com", None, "https://example.com").expect_err("remote origin");
    assert!(denied.as_str().is_some(), "denial: {denied}");
    // The other opener commands are not granted.
    let body = InvokeBody::Json(serde_json::json!({"path": "/etc/passwd"}));
    let denied = invoke_with(&window, "plugin:opener|open_path", APP_ORIGIN, body).expect_err("open_path");
    assert!(denied.as_str().is_some_and(|m| m.contains("open_path")), "denial: {denied}");
}
