//! The TypeScript declarations of every type that crosses the IPC/HTTP boundary, as ts-rs emits them.
//! `tests/bindings.rs` compares them with the committed copies in `ui/src/bindings/` and fails when they
//! are stale; `UPDATE_BINDINGS=1 cargo test -p creatorflow-engine --test bindings` rewrites them.
//!
//! Add a type here when a `Console` method starts returning or taking it.

use ts_rs::{Config, TS};

/// `(file name, contents)` for every exported type.
pub fn typescript_bindings() -> Vec<(String, String)> {
    // i64 and u64 travel as JSON numbers; every value we send fits in 2^53 (ids, counts, epoch ms).
    let cfg = Config::new().with_large_int("number");
    let mut out = Vec::new();
    macro_rules! export {
        ($($ty:ty),* $(,)?) => {$(
            out.push((
                format!("{}.ts", <$ty as TS>::ident(&cfg)),
                // Infallible for the plain (non-generic) types listed here; an error names the type.
                <$ty as TS>::export_to_string(&cfg).unwrap_or_else(|e| format!("// cannot export {}: {e}\n", stringify!($ty))),
            ));
        )*};
    }
    export![
        super::CommandError,
        super::Overview,
        // Shops & settings: connecting a shop, the demo's fault controls.
        super::ConnectRequest,
        super::ConnectSession,
        super::ConnectState,
        super::DemoFaults,
        super::DemoFaultChange,
        super::QueueCount,
        super::OrderQuery,
        super::OrderFacets,
        super::ShopChoice,
        super::LabelFile,
        super::CsvChunk,
        super::TrackingEntry,
        super::TrackingOutcome,
        super::TrackingResult,
        super::ShipJobState,
        super::TrackingCsv,
        super::CsvImportReport,
        super::CsvLineReport,
        super::CsvLineOutcome,
        crate::store::OrderPage,
        crate::store::PageCursor,
        crate::store::OrderSummary,
        crate::store::OrderDetail,
        crate::store::OrderStatusView,
        crate::store::TrackingInfo,
        crate::store::LineItem,
        crate::store::PackageRecord,
        crate::store::Shipment,
        crate::store::OrderEvent,
        crate::store::StatusCount,
        crate::store::ShippingType,
        crate::store::ShipmentStatus,
        crate::store::EventSource,
        crate::store::Amount,
        // Failed-job triage (triage.rs, triage_actions.rs).
        creatorflow_queue::JobState,
        super::TriageFilter,
        super::StateCount,
        super::ShopRef,
        super::FailureGroup,
        super::FailureGroups,
        super::TriageJobsQuery,
        super::TriageJob,
        super::TriagePage,
        super::AttemptView,
        super::TimelineEntry,
        super::OrderContext,
        super::AuditEntry,
        super::TriageJobDetail,
        super::TriageAction,
        super::JobSelection,
        super::BulkPreviewRequest,
        super::BulkPreview,
        super::BulkRequest,
        super::SkippedJob,
        super::BulkReport,
        super::RetryRequest,
        super::JobActionRequest,
        super::ActionResult,
        crate::store::AuditAction,
        super::AuditQuery,
        super::AuditPage,
        super::ShopSettings,
        super::Settings,
        super::Backup,
        crate::store::Shop,
        crate::store::HandoverMethod,
        crate::store::ShopStatus,
        super::Alert,
        super::AlertSeverity,
        super::BreakerView,
        super::CacheHitRate,
        super::DbPoolUsage,
        super::History,
        super::HistoryLatency,
        super::HistoryQuery,
        super::HistoryRange,
        super::HistoryThroughput,
        super::LatencyGroup,
        super::LatencyRow,
        super::LiveRates,
        super::LiveSnapshot,
        super::LiveSource,
        super::LiveSubscription,
        super::OfflineState,
        super::PoolView,
        super::ProcessView,
        super::QueueDepth,
        super::DepthByState,
        super::Throughput,
        super::Workers,
    ];
    out.sort();
    out
}
