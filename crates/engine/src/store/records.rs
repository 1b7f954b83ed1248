//! The order's work log and side records: timeline events, shipments (incl. manual tracking entry),
//! label PDFs, per-shop sync cursors and webhook receipts.

use creatorflow_queue::DbTx;
use serde_json::Value;
use sea_query::{Expr, ExprTrait, Query};
use sqlx::types::Json;

use super::Store;
use super::error::{Result, StoreError, clip};
use super::exec::{ReadConn, bad_statement, exec, exec_stmt, fetch_opt, tx_ex};
use super::model::{Label, NewOrderEvent, NewShipment, Shipment, WebhookReceipt};
use super::orders::Id;

/// Timeline entries per multi-row insert (six values each).
const EVENT_ROWS: usize = 500;

/// An entry's kind is 1 to 128 characters.
fn check_event_kind(ev: &NewOrderEvent) -> Result<()> {
    let n = ev.kind.chars().count();
    if n == 0 || n > 128 {
        return Err(StoreError::InvalidInput { field: "event kind", value: clip(&ev.kind) });
    }
    Ok(())
}

fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

#[derive(sqlx::FromRow)]
struct CursorRow {
    #[sqlx(json)]
    value: Value,
}

impl Store {
    /// Append a timeline entry to an order; returns its id.
    pub async fn append_event(
        &self,
        tx: &mut DbTx,
        order_id: i64,
        ev: &NewOrderEvent,
    ) -> Result<i64> {
        self.check_tx(tx)?;
        check_event_kind(ev)?;
        let row = fetch_opt!(
            tx_ex(tx),
            Id,
            "INSERT INTO order_events (order_id, at, source, kind, message, data) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            order_id,
            self.now_ms(),
            ev.source.as_str(),
            &ev.kind,
            &ev.message,
            ev.data.as_ref().map(Json),
        );
        match row {
            Ok(Some(r)) => Ok(r.id),
            Ok(None) => Err(StoreError::OrderNotFound(order_id)),
            Err(e) if is_fk_violation(&e) => Err(StoreError::OrderNotFound(order_id)),
            Err(e) => Err(e.into()),
        }
    }

    /// Appends timeline entries, `(order id, entry)`, in the caller's transaction: multi-row inserts of
    /// EVENT_ROWS entries (a stage's group commit writes many orders' at once). An order that is not
    /// cached fails the whole call.
    pub async fn append_events_tx(&self, tx: &mut DbTx, events: &[(i64, &NewOrderEvent)]) -> Result<()> {
        self.check_tx(tx)?;
        for (_, ev) in events {
            check_event_kind(ev)?;
        }
        let pg = matches!(tx, DbTx::Postgres(_));
        let now = self.now_ms();
        for chunk in events.chunks(EVENT_ROWS) {
            let mut stmt = Query::insert();
            stmt.into_table("order_events").columns(["order_id", "at", "source", "kind", "message", "data"]);
            for (order_id, ev) in chunk {
                // JSON goes in as its text; PostgreSQL's column is jsonb, SQLite's is checked text.
                let text = ev.data.as_ref().map(|d| d.to_string());
                let data = if pg { Expr::val(text).cast_as("jsonb") } else { Expr::val(text) };
                stmt.values([
                    (*order_id).into(),
                    now.into(),
                    ev.source.as_str().into(),
                    ev.kind.as_str().into(),
                    ev.message.as_str().into(),
                    data,
                ])
                .map_err(bad_statement)?;
            }
            match exec_stmt(tx, &stmt).await {
                Ok(_) => {}
                Err(StoreError::Database(sqlx::Error::Database(d))) if d.is_foreign_key_violation() => {
                    return Err(StoreError::OrderNotFound(chunk[0].0));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Record a shipment of an order (manual tracking entry or the pipeline); its tracking number becomes
    /// searchable in the same transaction.
    pub async fn record_shipment(&self, tx: &mut DbTx, s: &NewShipment) -> Result<Shipment> {
        self.check_tx(tx)?;
        let n = s.tracking_number.chars().count();
        if n == 0 || n > 128 {
            return Err(StoreError::InvalidInput {
                field: "tracking number",
                value: clip(&s.tracking_number),
            });
        }
        if let Some(pkg) = s.package_id {
            // The package must belong to this order, or the detail view would show it under another.
            fetch_opt!(
                tx_ex(tx),
                Id,
                "SELECT id FROM packages WHERE id = ? AND order_id = ?",
                pkg,
                s.order_id
            )?
            .ok_or(StoreError::PackageNotFound(pkg))?;
        }
        let row = fetch_opt!(
            tx_ex(tx),
            Shipment,
            "INSERT INTO shipments (order_id, package_id, tracking_number, shipping_provider_id, \
             shipping_provider, status, source, shipped_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             RETURNING id, order_id, package_id, tracking_number, shipping_provider_id, shipping_provider, \
             status, source, shipped_at, created_at",
            s.order_id,
            s.package_id,
            &s.tracking_number,
            s.shipping_provider_id.as_deref(),
            s.shipping_provider.as_deref(),
            s.status.as_str(),
            s.source.as_str(),
            s.shipped_at,
            self.now_ms(),
        );
        let shipment = match row {
            Ok(Some(r)) => r,
            Ok(None) => return Err(StoreError::OrderNotFound(s.order_id)),
            Err(e) if is_fk_violation(&e) => return Err(StoreError::OrderNotFound(s.order_id)),
            Err(e) => return Err(e.into()),
        };
        self.add_to_search(tx, s.order_id, &s.tracking_number).await?;
        Ok(shipment)
    }

    /// Store (or replace) the label PDF of a package.
    pub async fn store_label(
        &self,
        package_id: i64,
        document_type: &str,
        pdf: &[u8],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let r = exec!(
            tx_ex(&mut tx),
            "INSERT INTO labels (package_id, document_type, pdf, fetched_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (package_id) DO UPDATE SET document_type = excluded.document_type, \
             pdf = excluded.pdf, fetched_at = excluded.fetched_at",
            package_id,
            document_type,
            pdf,
            self.now_ms(),
        );
        match r {
            Ok(_) => {}
            Err(e) if is_fk_violation(&e) => return Err(StoreError::PackageNotFound(package_id)),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// The cached label of a package, if any.
    pub async fn get_label(&self, package_id: i64) -> Result<Option<Label>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(fetch_opt!(
            c.ex(),
            Label,
            "SELECT package_id, document_type, pdf, fetched_at FROM labels WHERE package_id = ?",
            package_id
        )?)
    }

    /// A shop's sync position for `stream` (e.g. "orders"), if one was saved.
    pub async fn get_cursor(&self, shop_id: i64, stream: &str) -> Result<Option<Value>> {
        let mut c = ReadConn::acquire(&self.db).await?;
        Ok(fetch_opt!(
            c.ex(),
            CursorRow,
            "SELECT value FROM sync_cursors WHERE shop_id = ? AND stream = ?",
            shop_id,
            stream
        )?
        .map(|r| r.value))
    }

    /// Save a shop's sync position in the caller's transaction (commit it with the orders it covers).
    pub async fn set_cursor(
        &self,
        tx: &mut DbTx,
        shop_id: i64,
        stream: &str,
        value: &Value,
    ) -> Result<()> {
        self.check_tx(tx)?;
        let n = stream.chars().count();
        if n == 0 || n > 64 {
            return Err(StoreError::InvalidInput {
                field: "cursor stream",
                value: clip(stream),
            });
        }
        let r = exec!(
            tx_ex(tx),
            "INSERT INTO sync_cursors (shop_id, stream, value, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (shop_id, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            shop_id,
            stream,
            Json(value),
            self.now_ms(),
        );
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_fk_violation(&e) => Err(StoreError::ShopNotFound(shop_id)),
            Err(e) => Err(e.into()),
        }
    }

    /// Remember a webhook push; `true` if it is new, `false` if this notification id was seen before.
    pub async fn record_webhook(&self, tx: &mut DbTx, w: &WebhookReceipt) -> Result<bool> {
        self.check_tx(tx)?;
        let n = w.tts_notification_id.chars().count();
        if n == 0 || n > 128 {
            return Err(StoreError::InvalidInput {
                field: "tts_notification_id",
                value: clip(&w.tts_notification_id),
            });
        }
        let inserted = exec!(
            tx_ex(tx),
            "INSERT INTO webhook_receipts (tts_notification_id, tts_shop_id, type, received_at, payload) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (tts_notification_id) DO NOTHING",
            &w.tts_notification_id,
            &w.tts_shop_id,
            w.r#type,
            self.now_ms(),
            Json(&w.payload),
        )?;
        Ok(inserted == 1)
    }
}
