//! Stage 3, label: fetch each package's shipping document (TikTok shipping) and store the PDF locally,
//! so labels print with the network off. Its response also carries the tracking number TikTok assigned.


use creatorflow_queue::{JobError, Outcome};
use tiktok_shop::models::fulfillment::ShippingDocumentQuery;

use super::{OrderJob, Pipeline, engine_error, kinds, store_error};
use crate::store::{EventSource, NewOrderEvent};

stage_worker!(Label, kinds::LABEL, OrderJob, label);

impl Pipeline {
    async fn label(&self, job: &OrderJob) -> Result<Outcome, JobError> {
        let order_id = job.order_id;
        let Some(order) = self.stage_order(order_id).await? else {
            return Ok(Outcome::Cancel(format!("order {order_id} was removed")));
        };
        let f = self.stage_fulfillment(&order).await?;
        if f.label_stored_at.is_some() {
            return Ok(Outcome::Complete);
        }
        let shop = self.store().get_shop(order.shop_id).await.map_err(store_error)?;
        if let Some(parked) = self.parked(&shop) {
            return Ok(parked);
        }
        let client = self.connections().client(&shop).map_err(engine_error)?;
        let mut tracking = None;
        for package in f.package_ids() {
            let endpoint = "GET /fulfillment/202309/packages/{package_id}/shipping_documents";
            let query = ShippingDocumentQuery::default();
            let (doc, pdf) = match self.call(&shop, endpoint, client.download_shipping_document(&package, &query)).await {
                Ok(v) => v,
                Err(failure) => return self.job_outcome(&shop, &failure).await,
            };
            if !pdf.starts_with(b"%PDF-") {
                return Err(JobError::retryable("label_not_pdf", format!("label of package {package} is not a PDF ({} bytes)", pdf.len())));
            }
            let Some(row) = self.store().package_row_id(order.id, &package).await.map_err(store_error)? else {
                return Err(JobError::retryable("package_missing", format!("package {package} is not cached yet")));
            };
            self.store().store_label(row, query.document_type.as_str(), &pdf).await.map_err(store_error)?;
            tracking = tracking.or(doc.tracking_number.filter(|t| !t.is_empty()));
        }
        let mut tx = self.store().begin().await.map_err(store_error)?;
        if let Some(t) = &tracking {
            self.record_tracking(&mut tx, order.id, t).await.map_err(store_error)?;
        }
        self.store().mark_label_stored(&mut tx, order.id).await.map_err(store_error)?;
        let ev = NewOrderEvent { source: EventSource::Pipeline, kind: "label_stored".into(), message: "shipping label stored for offline printing".into(), data: None };
        self.store().append_event(&mut tx, order.id, &ev).await.map_err(store_error)?;
        tx.commit().await.map_err(|e| JobError::retryable("database", e.to_string()))?;
        self.metrics().incr("labels.stored", 1);
        Ok(Outcome::Complete)
    }

    /// The first stage to learn the tracking number records the shipment with it.
    pub(super) async fn record_tracking(&self, tx: &mut creatorflow_queue::DbTx, order_id: i64, tracking: &str) -> crate::store::Result<()> {
        if self.store().set_tracking_once(tx, order_id, tracking).await? {
            let shipment = crate::store::NewShipment {
                order_id,
                package_id: None,
                tracking_number: tracking.to_owned(),
                shipping_provider_id: None,
                shipping_provider: None,
                status: crate::store::ShipmentStatus::Submitted,
                source: EventSource::Pipeline,
                shipped_at: Some(self.now_ms()),
            };
            self.store().record_shipment(tx, &shipment).await?;
        }
        Ok(())
    }
}
