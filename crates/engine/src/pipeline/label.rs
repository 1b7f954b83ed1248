//! Stage 3, label: fetch each package's shipping document (TikTok shipping) and store the PDF locally,
//! so labels print with the network off. Its response also carries the tracking number TikTok assigned.
//!
//! The download is two remote calls to two hosts: the shipping-document call to the API host gives
//! a `doc_url`, and the PDF is fetched from that URL's host (on TikTok, a document host apart from the
//! API). Each goes through its own host's breaker, so an outage of the document host parks label
//! jobs without spending attempts, like one of the API host does.
//!
//! The writes are group commits (group.rs): concurrent label jobs' PDFs, work-log marks and
//! timeline entries go in as multi-row statements in one transaction (store/labels.rs). Written one
//! job at a time, each label was two write transactions queued behind the rest of the pipeline's on
//! SQLite's one writer, and label jobs finished at a fraction of the rate orders shipped.

use creatorflow_queue::{DbTx, JobError, Outcome, Queue};
use tiktok_shop::models::fulfillment::ShippingDocumentQuery;

use super::group::GroupOp;
use super::{OrderJob, Pipeline, engine_error, kinds, store_error};
use crate::store::{NewLabel, NewOrderEvent, NewShipment, Store};

stage_worker!(Label, kinds::LABEL, OrderJob, label);

/// The endpoint name of the shipping-document call (API host).
const SHIPPING_DOCUMENTS: &str = "GET /fulfillment/202309/packages/{package_id}/shipping_documents";
/// The endpoint name of the document download (the `doc_url`'s host), for metrics and triage.
pub const DOCUMENT_DOWNLOAD: &str = "GET {doc_url}";
/// One label job's finished download, committed with other jobs' (group.rs).
pub(crate) struct LabelWrite {
    order_id: i64,
    /// (local package row id, PDF)
    labels: Vec<(i64, Vec<u8>)>,
    document_type: String,
    tracking: Option<String>,
}

impl Pipeline {
    async fn label(&self, job: &OrderJob) -> Result<Outcome, JobError> {
        let order_id = job.order_id;
        let read = super::stage_read::LabelRead(order_id);
        let Some(order) = self.label_reader().run(self.store(), self.queue(), self.metrics(), read).await? else {
            return Ok(Outcome::Cancel(format!("order {order_id} was removed")));
        };
        let Some(f) = &order.fulfillment else {
            return Err(JobError::permanent("not_validated", format!("order {} was never validated", order.tts_order_id)));
        };
        if f.label_stored_at.is_some() {
            return Ok(Outcome::Complete);
        }
        let shop = self.store().cached_shop(order.shop_id).await.map_err(store_error)?;
        if let Some(parked) = self.parked(&shop) {
            return Ok(parked);
        }
        let client = self.connections().client(&shop).map_err(engine_error)?;
        let query = ShippingDocumentQuery::default();
        let mut tracking = None;
        let mut labels = Vec::new();
        for package in &f.package_ids {
            let doc = match self.call(&shop, SHIPPING_DOCUMENTS, client.shipping_document(package, &query)).await {
                Ok(v) => v,
                Err(failure) => return self.job_outcome(&shop, &failure).await,
            };
            // The URL is pre-signed: its host is the breaker's key, its query is never shown.
            let host = match document_host(&doc.doc_url) {
                Ok(h) => h,
                Err(reason) => {
                    return Err(JobError::retryable("bad_doc_url", format!("label of package {package}: doc_url {reason}")));
                }
            };
            let pdf = match self.call_host(&host, DOCUMENT_DOWNLOAD, client.download_document(&doc.doc_url)).await {
                Ok(v) => v,
                Err(failure) => return self.job_outcome_for(&host, &shop, &failure).await,
            };
            if !pdf.starts_with(b"%PDF-") {
                return Err(JobError::retryable("label_not_pdf", format!("label of package {package} is not a PDF ({} bytes)", pdf.len())));
            }
            let Some(&(_, row)) = order.package_rows.iter().find(|(id, _)| id == package) else {
                return Err(JobError::retryable("package_missing", format!("package {package} is not cached yet")));
            };
            labels.push((row, pdf));
            tracking = tracking.or(doc.tracking_number.filter(|t| !t.is_empty()));
        }
        let write = LabelWrite { order_id, labels, document_type: query.document_type.as_str().to_owned(), tracking };
        self.label_writer().run(self.store(), self.queue(), self.metrics(), write).await?;
        Ok(Outcome::Complete)
    }
}

/// The origin (`scheme://host[:port]`) of a document URL: the key of its host's breaker, in the form
/// of the API host's (`Shop::api_base_url`). Only http(s) URLs are fetched.
pub(crate) fn document_host(doc_url: &str) -> Result<String, &'static str> {
    let url = url::Url::parse(doc_url).map_err(|_| "is not an absolute url")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("is not an http(s) url with a host");
    }
    Ok(url.origin().ascii_serialization())
}

/// The first stage to learn an order's tracking number records the shipment with it (label or
/// confirm): `learnt` is (order, tracking number) for the group's orders that carry one.
pub(super) async fn record_tracking(store: &Store, tx: &mut DbTx, learnt: &[(i64, &str)]) -> crate::store::Result<()> {
    let set = store.set_tracking_once_tx(tx, learnt).await?;
    let now = store.clock().now_ms();
    let mut recorded = std::collections::HashSet::with_capacity(set.len());
    let shipments: Vec<NewShipment> = learnt
        .iter()
        // An order listed twice records its first number once, as one by one.
        .filter(|(order_id, _)| set.contains(order_id) && recorded.insert(*order_id))
        .map(|(order_id, tracking)| NewShipment::pipeline(*order_id, tracking, None, now))
        .collect();
    store.record_shipments_tx(tx, &shipments).await
}

impl GroupOp for LabelWrite {
    const GROUPS_COUNTER: &'static str = "labels.write_batches";
    const OPS_COUNTER: &'static str = "labels.stored";
    /// Their PDFs are a few KB each.
    const MAX: usize = 256;
    type Reply = ();

    /// One transaction: every label row, the tracking numbers learnt, the work-log marks and the
    /// timeline entries of `batch`.
    async fn run(store: &Store, _queue: &Queue, batch: &[Self]) -> crate::store::Result<Vec<()>> {
        let mut tx = store.begin().await?;
        let rows: Vec<NewLabel<'_>> = batch
            .iter()
            .flat_map(|w| w.labels.iter().map(|(package_id, pdf)| NewLabel { package_id: *package_id, document_type: &w.document_type, pdf }))
            .collect();
        store.store_labels_tx(&mut tx, &rows).await?;
        let learnt: Vec<(i64, &str)> = batch.iter().filter_map(|w| Some((w.order_id, w.tracking.as_deref()?))).collect();
        record_tracking(store, &mut tx, &learnt).await?;
        let ids: Vec<i64> = batch.iter().map(|w| w.order_id).collect();
        store.mark_labels_stored_tx(&mut tx, &ids).await?;
        let ev = NewOrderEvent::pipeline("label_stored", "shipping label stored for offline printing", None);
        let events: Vec<(i64, &NewOrderEvent)> = ids.iter().map(|&id| (id, &ev)).collect();
        store.append_events_tx(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(vec![(); batch.len()])
    }
}
