//! The order pipeline: four durable stages per order, each a queue job with a unique key per order and
//! stage — validate → ship → label → confirm — plus the shared pieces they stand on: the remote-call
//! wrapper (circuit breaker, metrics, error classification), the batchers that coalesce concurrent
//! jobs into TikTok's batch endpoints, and `plan`, which decides in the sync's transaction which job an
//! order change calls for.
//!
//! Failure handling in one place ([`Pipeline::job_outcome`]): a host that does not answer parks the
//! job (snooze, no attempt spent); throttling waits; a deauthorized shop stops with one triage item;
//! our own bugs and business rules a person must look at are dead-lettered at once; everything else
//! is retried with backoff.

/// A stage's `Worker`: decode the order job, run the stage, record its wait and run time.
macro_rules! stage_worker {
    ($worker:ident, $kind:expr, $args:ty, $method:ident) => {
        pub(super) struct $worker(pub $crate::pipeline::Pipeline);

        impl creatorflow_queue::Worker for $worker {
            const KIND: &'static str = $kind;
            type Args = $args;

            async fn work(
                &self,
                ctx: creatorflow_queue::JobContext,
                args: $args,
            ) -> Result<creatorflow_queue::Outcome, creatorflow_queue::JobError> {
                let started = std::time::Instant::now();
                let r = self.0.$method(&args).await;
                self.0.record_stage(&ctx, started, &r);
                r
            }
        }
    };
}

mod batch;
mod carrier;
mod confirm;
mod group;
mod label;
mod ship;
mod ship_write;
mod stage_read;
mod validate;
mod validate_write;
mod webhook;

use std::sync::Arc;
use std::time::{Duration, Instant};

use creatorflow_queue::{DbTx, JobContext, JobError, NewJob, Outcome, Queue, Registry, RetryPolicy};
use serde::{Deserialize, Serialize};
use tiktok_shop::{BusinessRule, Error as ApiError, ErrorKind};

use crate::breaker::{BreakerConfig, Breakers, Unavailable};
use crate::connection::Connections;
use crate::error::EngineError;
use crate::metrics::Metrics;
use crate::store::{Order, ShopStatus, Store, UpsertOutcome};
use crate::sync::SyncConfig;

pub use batch::Batchers;
pub use carrier::{Booking, BookingFuture, CarrierAdapter, DemoCarrier, TikTokLookup};
pub use webhook::{MAX_WEBHOOK_BYTES, RefreshJob, WebhookError, WebhookOutcome};

/// The queue of the stages on the way to a shipment (validate, ship), confirm and refresh.
pub const PIPELINE_QUEUE: &str = "pipeline";
/// Label downloads run on a queue (and worker pool) of their own: they are bound by one endpoint's
/// 50 QPS, and in a spike thousands of them queued behind the rate limiter would otherwise hold every
/// worker slot while ship jobs — what order-to-fulfillment waits on — sit unclaimed.
pub const LABEL_QUEUE: &str = "labels";
/// Every queue the pipeline's jobs run on.
pub const QUEUES: [&str; 2] = [PIPELINE_QUEUE, LABEL_QUEUE];

/// Job kinds, one per stage.
pub mod kinds {
    pub const VALIDATE: &str = "validate";
    pub const SHIP: &str = "ship";
    pub const LABEL: &str = "label";
    pub const CONFIRM: &str = "confirm";
    /// Re-read one order from TikTok (after a webhook, or by the reconciliation pass).
    pub const REFRESH: &str = "refresh";
    pub const ALL: [&str; 5] = [VALIDATE, SHIP, LABEL, CONFIRM, REFRESH];
}

/// Metric names the live dashboard reads (the rest are per stage or endpoint: `stage.{kind}.wait`,
/// `stage.{kind}.run`, `api.{endpoint}`, `api.errors.{kind}`).
pub mod metric_names {
    pub const ORDER_TO_FULFILLMENT: &str = "order_to_fulfillment";
    /// Per order, from its data arriving from TikTok (the sync page or refresh that brought it) to
    /// its recorded shipment, minus the time its ship job spent in TikTok's API: our own queues,
    /// database and code. Orders that arrived before this process started are not measured.
    pub const PIPELINE_OVERHEAD: &str = "order.pipeline_overhead";
    pub const ORDERS_SHIPPED: &str = "orders.shipped";
    pub const API_CALLS: &str = "api.calls";
    pub const API_ERRORS_PREFIX: &str = "api.errors.";
    pub const API_TIMEOUTS: &str = "api.errors.timeout";
    pub const WEBHOOKS: &str = "webhooks.received";
    /// Stage attempts by how they ended (see `Pipeline::record_stage`).
    pub const JOBS_OK: &str = "jobs.ok";
    pub const JOBS_RETRIED: &str = "jobs.retried";
    pub const JOBS_FAILED: &str = "jobs.failed";
    pub const JOBS_SNOOZED: &str = "jobs.snoozed";
}

/// TikTok statuses the pipeline still has work for.
const OPEN_STATUSES: [&str; 4] = ["UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"];

/// Args of every stage job: the local order id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderJob {
    pub order_id: i64,
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub sync: SyncConfig,
    pub breaker: BreakerConfig,
    /// How long a job waits before it looks again at an order that waits on the buyer or on TikTok
    /// (UNPAID, ON_HOLD, a tracking number to be entered by hand). The sync wakes it earlier when the
    /// order changes.
    pub wait_outside: Duration,
    /// How long an order waits after TikTok said "on hold" at ship time.
    pub on_hold_retry: Duration,
    /// How long the batchers wait for more jobs to join a batch call.
    pub batch_linger: Duration,
    /// Retry policy of every stage (failures that spend attempts).
    pub retry: RetryPolicy,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            sync: SyncConfig::default(),
            breaker: BreakerConfig::default(),
            wait_outside: Duration::from_secs(600),
            on_hold_retry: Duration::from_secs(60),
            batch_linger: Duration::from_millis(3),
            // Short and capped: a TikTok 5xx or a malformed answer is gone in seconds, and an order has a
            // ship-by time. Longer trouble (a host down) parks work through the breaker instead, without
            // spending attempts; 20 attempts at ≤ 60 s apart dead-letter a job after ~20 minutes.
            retry: RetryPolicy { base: Duration::from_millis(250), max_backoff: Duration::from_secs(60), ..Default::default() },
        }
    }
}

/// Why a remote call did not return a value.
#[derive(Debug, Clone)]
pub enum CallFailure {
    /// The breaker of the host is open: the call was not made.
    Offline(Unavailable),
    /// The call was made and failed.
    Api(Arc<ApiError>),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Offline(u) => write!(f, "host {} is offline; next try in {} ms", u.host, u.retry_in.as_millis()),
            CallFailure::Api(e) => write!(f, "{e}"),
        }
    }
}

/// A failure that means "the host did not answer as TikTok": the network, a gateway, an outage page.
/// It feeds the breaker and parks the job without spending an attempt.
pub fn is_host_failure(e: &ApiError) -> bool {
    matches!(e, ApiError::Unreachable { .. } | ApiError::Timeout { .. } | ApiError::Server { code: None, .. })
}

struct Inner {
    store: Store,
    queue: Queue,
    connections: Connections,
    breakers: Breakers,
    metrics: Arc<Metrics>,
    batchers: Batchers,
    label_writer: group::Grouper<label::LabelWrite>,
    confirm_writer: group::Grouper<confirm::ConfirmWrite>,
    validate_writer: group::Grouper<validate_write::Validated>,
    ship_intent_writer: group::Grouper<ship_write::ShipIntent>,
    shipped_writer: group::Grouper<ship_write::ShippedWrite>,
    work_reader: group::Grouper<stage_read::WorkRead>,
    label_reader: group::Grouper<stage_read::LabelRead>,
    carrier: Option<Arc<dyn CarrierAdapter>>,
    config: PipelineConfig,
    /// When each order on its way to a shipment arrived from TikTok, for the overhead metric.
    arrivals: std::sync::Mutex<std::collections::HashMap<i64, Instant>>,
    /// When each shop's last wide sync pass started (unix seconds; see `SyncConfig::wide_overlap_secs`).
    wide_passes: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
}

/// Orders whose arrival is remembered at most (a backlog larger than this is measured in part).
const MAX_ARRIVALS: usize = 100_000;

/// The pipeline's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline over `store` (whose database also holds the queue). `carrier` books tracking numbers
    /// for seller-shipped orders; without one they wait for a tracking number entered by a person.
    pub fn new(
        store: Store,
        connections: Connections,
        metrics: Arc<Metrics>,
        carrier: Option<Arc<dyn CarrierAdapter>>,
        config: PipelineConfig,
    ) -> Self {
        let clock = store.clock();
        let mut builder = Queue::builder(store.db().clone()).clock(clock.clone());
        for kind in kinds::ALL {
            builder = builder.kind_policy(kind, config.retry);
        }
        let queue = builder.build();
        let breakers = Breakers::new(clock, config.breaker.clone());
        Self {
            inner: Arc::new(Inner {
                store,
                queue,
                connections,
                breakers,
                metrics,
                batchers: Batchers::default(),
                label_writer: group::Grouper::default(),
                confirm_writer: group::Grouper::default(),
                validate_writer: group::Grouper::default(),
                ship_intent_writer: group::Grouper::default(),
                shipped_writer: group::Grouper::default(),
                work_reader: group::Grouper::default(),
                label_reader: group::Grouper::default(),
                carrier,
                config,
                arrivals: Default::default(),
                wide_passes: Default::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }
    pub fn connections(&self) -> &Connections {
        &self.inner.connections
    }
    pub fn breakers(&self) -> &Breakers {
        &self.inner.breakers
    }
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }
    pub fn config(&self) -> &PipelineConfig {
        &self.inner.config
    }
    pub(crate) fn batchers(&self) -> &Batchers {
        &self.inner.batchers
    }
    pub(crate) fn label_writer(&self) -> &group::Grouper<label::LabelWrite> {
        &self.inner.label_writer
    }
    pub(crate) fn confirm_writer(&self) -> &group::Grouper<confirm::ConfirmWrite> {
        &self.inner.confirm_writer
    }
    pub(crate) fn validate_writer(&self) -> &group::Grouper<validate_write::Validated> {
        &self.inner.validate_writer
    }
    pub(crate) fn ship_intent_writer(&self) -> &group::Grouper<ship_write::ShipIntent> {
        &self.inner.ship_intent_writer
    }
    pub(crate) fn shipped_writer(&self) -> &group::Grouper<ship_write::ShippedWrite> {
        &self.inner.shipped_writer
    }
    pub(crate) fn label_reader(&self) -> &group::Grouper<stage_read::LabelRead> {
        &self.inner.label_reader
    }
    pub(crate) fn carrier(&self) -> Option<&Arc<dyn CarrierAdapter>> {
        self.inner.carrier.as_ref()
    }
    pub fn now_ms(&self) -> i64 {
        self.inner.queue.now_ms()
    }

    /// Whether this pass of the shop reaches back `wide_overlap_secs`: the first of this process, or
    /// the last wide one started that long ago.
    pub(crate) fn wide_pass_due(&self, shop_id: i64, now_s: i64) -> bool {
        let last = crate::lock(&self.inner.wide_passes).get(&shop_id).copied();
        last.is_none_or(|at| now_s - at >= self.config().sync.wide_overlap_secs)
    }

    /// A wide pass that started at `started_s` read every page: the next one is due a window later.
    pub(crate) fn wide_pass_done(&self, shop_id: i64, started_s: i64) {
        crate::lock(&self.inner.wide_passes).insert(shop_id, started_s);
    }

    /// Remember when orders arrived from TikTok in a shippable state (new, or just paid or released
    /// from hold: the wait for the buyer is not ours).
    pub(crate) fn note_arrivals(&self, orders: &[Order], outcomes: &[UpsertOutcome], at: Instant) {
        let mut map = crate::lock(&self.inner.arrivals);
        for (order, outcome) in orders.iter().zip(outcomes) {
            let became = match outcome {
                UpsertOutcome::Inserted { .. } => true,
                UpsertOutcome::Updated { previous_status, .. } => previous_status != &order.status,
                UpsertOutcome::Stale { .. } => false,
            };
            if !became || !["AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"].contains(&order.status.as_str()) {
                continue;
            }
            if map.len() >= MAX_ARRIVALS && !map.contains_key(&outcome.id()) {
                // Orders that stopped short of a shipment (dead-lettered) are never taken: drop
                // the old ones rather than stop measuring.
                map.retain(|_, t| t.elapsed() < Duration::from_secs(3600));
                if map.len() >= MAX_ARRIVALS {
                    break;
                }
            }
            map.insert(outcome.id(), at);
        }
    }

    /// When an order arrived, forgetting it (it shipped or stopped).
    pub(crate) fn take_arrival(&self, order_id: i64) -> Option<Instant> {
        crate::lock(&self.inner.arrivals).remove(&order_id)
    }

    /// The workers of every stage, for a `WorkerPool` on [`PIPELINE_QUEUE`].
    pub fn registry(&self) -> Registry {
        let mut r = Registry::new();
        r.register(validate::Validate(self.clone()))
            .register(ship::Ship(self.clone()))
            .register(label::Label(self.clone()))
            .register(confirm::Confirm(self.clone()))
            .register(webhook::Refresh(self.clone()));
        r
    }

    /// One remote call to the shop's API host through its breaker, timed per endpoint.
    pub async fn call<T>(
        &self,
        shop: &crate::store::Shop,
        endpoint: &'static str,
        fut: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, CallFailure> {
        self.call_host(&shop.api_base_url, endpoint, fut).await
    }

    /// One remote call to `host` (the breaker's key: an origin like `Shop::api_base_url`) through its
    /// breaker, timed per endpoint. For calls that leave the API host, such as label documents.
    pub async fn call_host<T>(
        &self,
        host: &str,
        endpoint: &'static str,
        fut: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, CallFailure> {
        let admit = self.breakers().admit(host).map_err(CallFailure::Offline)?;
        let started = Instant::now();
        let result = tiktok_shop::gated(self.breakers().gate(host, admit), fut).await;
        if let Err(ApiError::Withheld { .. }) = &result {
            return Err(self.withheld(host));
        }
        self.record_call(host, endpoint, started, result.as_ref().err());
        result.map_err(|e| CallFailure::Api(Arc::new(e)))
    }

    /// A call its send gate held back (the host went down while it waited for a rate-limit slot):
    /// nothing was sent, so nothing is reported to the breaker; the job parks like any refused call.
    pub(crate) fn withheld(&self, host: &str) -> CallFailure {
        self.metrics().incr("api.withheld", 1);
        CallFailure::Offline(crate::breaker::Unavailable {
            host: host.to_owned(),
            retry_in: self.breakers().retry_in(host).unwrap_or(self.breakers().config().open_for),
        })
    }

    /// Breaker and metrics bookkeeping of one finished call.
    pub(crate) fn record_call(&self, host: &str, endpoint: &str, started: Instant, err: Option<&ApiError>) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let m = self.metrics();
        m.record_ms(&format!("api.{endpoint}"), ms);
        m.incr("api.calls", 1);
        match err {
            None => {
                self.breakers().record_success(host);
                m.incr(&format!("api.{endpoint}.ok"), 1);
            }
            Some(e) => {
                if is_host_failure(e) {
                    self.breakers().record_failure(host, &e.to_string());
                } else {
                    self.breakers().record_answer(host);
                }
                m.incr(&format!("api.errors.{}", kind_name(e.kind())), 1);
                m.incr(&format!("api.{endpoint}.{}", kind_name(e.kind())), 1);
            }
        }
    }

    /// What a job does after a failed call. See the module docs for the rules.
    pub(crate) async fn job_outcome(&self, shop: &crate::store::Shop, failure: &CallFailure) -> Result<Outcome, JobError> {
        self.job_outcome_for(&shop.api_base_url, shop, failure).await
    }

    /// [`Pipeline::job_outcome`] of a call made to `host` (see [`Pipeline::call_host`]).
    pub(crate) async fn job_outcome_for(&self, host: &str, shop: &crate::store::Shop, failure: &CallFailure) -> Result<Outcome, JobError> {
        let e = match failure {
            CallFailure::Offline(u) => return Ok(Outcome::Snooze(jittered(u.retry_in.max(Duration::from_millis(100))))),
            CallFailure::Api(e) => e.as_ref(),
        };
        if is_host_failure(e) {
            // Read-only: asking `admit` here would take the half-open probe without making a call.
            let retry_in = self.breakers().retry_in(host).unwrap_or(Duration::from_millis(500));
            return Ok(Outcome::Snooze(jittered(retry_in)));
        }
        match e.kind() {
            ErrorKind::Throttled => Ok(Outcome::Snooze(jittered(Duration::from_secs(1)))),
            ErrorKind::Reauthorize => self.shop_deauthorized(shop, e).await,
            ErrorKind::BusinessRule if matches!(e, ApiError::BusinessRule { rule: BusinessRule::OrderOnHold, .. }) => {
                Ok(Outcome::Snooze(self.config().on_hold_retry))
            }
            ErrorKind::InvalidRequest | ErrorKind::BusinessRule | ErrorKind::Config | ErrorKind::SecretStore => {
                Err(with_call_details(JobError::permanent(kind_name(e.kind()), e.to_string()), e))
            }
            _ => Err(with_call_details(JobError::retryable(kind_name(e.kind()), e.to_string()), e)),
        }
    }

    /// The first job to learn that a shop's authorization is gone marks the shop and becomes its one
    /// triage item; the shop's other jobs park until someone re-authorizes it.
    async fn shop_deauthorized(&self, shop: &crate::store::Shop, e: &ApiError) -> Result<Outcome, JobError> {
        if !self.store().mark_shop_deauthorized(shop.id).await.map_err(store_error)? {
            return Ok(Outcome::Snooze(self.config().wait_outside));
        }
        self.connections().forget(shop);
        tracing::error!(shop = %shop.name, "shop authorization revoked: the shop's work is parked until it is re-authorized");
        Err(with_call_details(
            JobError::permanent(
                "shop_deauthorized",
                format!("shop {:?} must be re-authorized (creatorflow-cli shop connect), then retry this job: {e}", shop.name),
            ),
            e,
        ))
    }

    /// The order a stage job is about and its work log, read with other jobs' (stage_read.rs); `None`
    /// when the order is no longer cached (the shop was removed).
    pub(crate) async fn stage_order(
        &self,
        order_id: i64,
    ) -> Result<Option<(crate::store::WorkOrder, Option<crate::store::Fulfillment>)>, JobError> {
        self.inner.work_reader.run(self.store(), self.queue(), self.metrics(), stage_read::WorkRead(order_id)).await
    }

    /// The work log validate started for `order`; a stage after validate without one is our bug.
    pub(crate) fn validated(
        order: &crate::store::WorkOrder,
        log: Option<crate::store::Fulfillment>,
    ) -> Result<crate::store::Fulfillment, JobError> {
        log.ok_or_else(|| JobError::permanent("not_validated", format!("order {} was never validated", order.tts_order_id)))
    }

    /// A shop's jobs stop when it is paused or deauthorized: `Some(snooze)` then.
    pub(crate) fn parked(&self, shop: &crate::store::Shop) -> Option<Outcome> {
        (shop.paused || shop.status == ShopStatus::Deauthorized).then(|| Outcome::Snooze(self.config().wait_outside))
    }

    /// The queue priority of an order's jobs: the stage first (what leads to a shipment before what
    /// follows it), then the shop's priority (0–9, lower first), then the hours to the ship-by time.
    pub fn priority(&self, stage: &str, shop_priority: i64, ship_by_time: Option<i64>) -> i16 {
        let now_s = self.now_ms().div_euclid(1000);
        let stage_rank = match stage {
            kinds::CONFIRM => 1,
            kinds::LABEL => 2,
            _ => 0,
        };
        // Hours until ship-by, 0..=999 (overdue orders first); no deadline sorts last within the shop.
        let hours = ship_by_time.map_or(999, |t| ((t - now_s).max(0) / 3600).min(999));
        (stage_rank * 10_000 + shop_priority.clamp(0, 9) * 1000 + hours) as i16
    }

    /// A stage job for an order (on its stage's queue, at its stage's priority).
    pub(crate) fn stage_job(&self, kind: &str, order_id: i64, shop: &crate::store::Shop, ship_by_time: Option<i64>) -> Result<NewJob, EngineError> {
        let queue = if kind == kinds::LABEL { LABEL_QUEUE } else { PIPELINE_QUEUE };
        Ok(NewJob::new(kind, &OrderJob { order_id })
            .map_err(|e| EngineError::Database { database: "queue".into(), source: e })?
            .queue(queue)
            .priority(self.priority(kind, shop.priority, ship_by_time))
            .unique_key(format!("{kind}:{order_id}")))
    }

    /// In the sync's transaction: the jobs a page of order changes calls for (`outcomes[i]` is what
    /// the upsert did with `orders[i]`). New open orders get a validate job, in one multi-row insert;
    /// an order that became shippable or cancelled wakes its parked jobs. Returns the jobs enqueued.
    pub(crate) async fn plan(
        &self,
        tx: &mut DbTx,
        shop: &crate::store::Shop,
        orders: &[Order],
        outcomes: &[UpsertOutcome],
    ) -> Result<u64, EngineError> {
        let q = self.queue();
        let db_err = |source| EngineError::Database { database: "queue".into(), source };
        let mut jobs = Vec::new();
        let mut cancelled = Vec::new();
        for (order, outcome) in orders.iter().zip(outcomes) {
            let changed = match outcome {
                UpsertOutcome::Inserted { .. } => true,
                UpsertOutcome::Updated { previous_status, .. } => previous_status != &order.status,
                UpsertOutcome::Stale { .. } => false,
            };
            if !changed {
                continue;
            }
            if OPEN_STATUSES.contains(&order.status.as_str()) {
                let ship_by = match (order.rts_sla_time, order.shipping_due_time) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                jobs.push(self.stage_job(kinds::VALIDATE, outcome.id(), shop, ship_by)?);
            } else if order.status == "CANCELLED" {
                cancelled.push(outcome.id());
            }
        }
        let mut enqueued = 0;
        let inserted = q.insert_many_tx(tx, &jobs).await.map_err(db_err)?;
        for (job, r) in jobs.iter().zip(inserted) {
            match r {
                creatorflow_queue::Inserted::New(_) => enqueued += 1,
                // The order changed while its validate job waits (paid, released from hold): wake it.
                creatorflow_queue::Inserted::Duplicate(_) => {
                    if let Some(key) = &job.unique_key {
                        q.wake_unique_tx(tx, key).await.map_err(db_err)?;
                    }
                }
            }
        }
        for id in cancelled {
            for kind in [kinds::VALIDATE, kinds::SHIP] {
                q.wake_unique_tx(tx, &format!("{kind}:{id}")).await.map_err(db_err)?;
            }
        }
        Ok(enqueued)
    }

    /// Stage wait (queued → started) and run time of one job, and how the attempt ended: the live
    /// dashboard's failure and retry rates are these counters (`jobs.ok`, `jobs.retried`,
    /// `jobs.failed`) over the sliding window. A snooze (parked offline, throttled, waiting on the
    /// buyer) is `jobs.snoozed` and counts as neither: network-down is not a failure of the job.
    pub(crate) fn record_stage(&self, ctx: &JobContext, started: Instant, result: &Result<Outcome, JobError>) {
        let m = self.metrics();
        m.record_ms(&format!("stage.{}.wait", ctx.kind), (ctx.attempted_at - ctx.scheduled_at).max(0) as f64);
        m.record_ms(&format!("stage.{}.run", ctx.kind), started.elapsed().as_secs_f64() * 1000.0);
        let outcome = match result {
            Ok(Outcome::Snooze(_)) => metric_names::JOBS_SNOOZED,
            Ok(_) => metric_names::JOBS_OK,
            // The last attempt's retryable error dead-letters the job like a permanent one.
            Err(e) if e.retryable && ctx.attempt < ctx.max_attempts => metric_names::JOBS_RETRIED,
            Err(_) => metric_names::JOBS_FAILED,
        };
        m.incr(outcome, 1);
    }
}

/// `err` with the call's context kept as structured attempt details, so triage shows TikTok's
/// `request_id` (what TikTok support asks for) without parsing it out of the message.
pub(crate) fn with_call_details(err: JobError, e: &ApiError) -> JobError {
    let Some(ctx) = e.context() else { return err };
    err.with_details(serde_json::json!({
        "request_id": ctx.request_id,
        "endpoint": ctx.endpoint,
        "http_status": ctx.http_status,
        "code": e.code(),
    }))
}

/// `d` plus up to 20% so parked jobs do not wake in lockstep.
pub(crate) fn jittered(d: Duration) -> Duration {
    d + d.mul_f64(0.2 * fastrand::f64())
}

pub(crate) fn kind_name(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Throttled => "throttled",
        ErrorKind::TokenExpired => "token_expired",
        ErrorKind::Reauthorize => "reauthorize",
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::ClockSkew => "clock_skew",
        ErrorKind::BusinessRule => "business_rule",
        ErrorKind::Server => "server",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Unreachable => "unreachable",
        ErrorKind::Decode => "decode",
        ErrorKind::DocumentUnavailable => "document_unavailable",
        ErrorKind::Withheld => "withheld",
        ErrorKind::Config => "config",
        ErrorKind::Webhook => "webhook",
        ErrorKind::SecretStore => "secret_store",
    }
}

/// A local database failure inside a job: retried (the database may be locked or briefly unavailable).
pub(crate) fn store_error(e: crate::store::StoreError) -> JobError {
    JobError::retryable("database", e.to_string())
}

pub(crate) fn engine_error(e: EngineError) -> JobError {
    match e {
        EngineError::Credentials { .. } | EngineError::Secrets(_) => JobError::permanent("credentials", e.to_string()),
        other => JobError::retryable(other.kind(), other.to_string()),
    }
}
