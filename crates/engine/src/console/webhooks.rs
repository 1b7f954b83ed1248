//! TikTok webhook pushes received by a face (the web console's `/webhooks/tiktok`): verified and
//! recorded through the pipeline's ingestion path (`Pipeline::receive_webhook`), which turns them into
//! `refresh` jobs for whichever process runs the workers (this one's pipeline when it runs one).

use std::sync::Arc;

use super::Console;
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, PipelineConfig, WebhookError, WebhookOutcome};

impl Console {
    /// Verifies and records one push (the raw body as received and the `Authorization` header's value).
    pub async fn receive_webhook(&self, raw_body: &[u8], authorization: Option<&str>) -> Result<WebhookOutcome, WebhookError> {
        self.ingestion()?.receive_webhook(raw_body, authorization).await
    }

    /// The pipeline that records pushes: built on first use, since it needs the secret store (the
    /// shops' app secrets verify the signatures) and most faces never receive a webhook.
    fn ingestion(&self) -> Result<Pipeline, WebhookError> {
        // The pipeline running in this process, when there is one: its metrics count the pushes.
        if let Some(p) = self.pipeline() {
            return Ok(p.clone());
        }
        let mut slot = self.ingestion.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let metrics = Arc::new(Metrics::new(self.store.clock()));
        let p = Pipeline::new(self.store.clone(), self.connections()?, metrics, None, PipelineConfig::default());
        *slot = Some(p.clone());
        Ok(p)
    }
}
