-- The pipeline's work log per order (crates/engine/src/store/fulfillments.rs). It is what makes "exactly
-- one shipment per order" hold across crashes: `ship_requested_at` is committed BEFORE the ship call, so a
-- job that finds it set (a timeout, a reset, a crash between the call and our commit) reads the remote
-- state before it may call ship again. Local times are Unix milliseconds. Same shape as
-- migrations/sqlite/0003_fulfillment.sql.
CREATE TABLE fulfillments (
    order_id          BIGINT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    -- Space-separated TikTok package ids the ship call covers.
    tts_package_ids   TEXT NOT NULL,
    ship_requested_at BIGINT,
    ship_requests     INTEGER NOT NULL DEFAULT 0 CHECK (ship_requests >= 0),
    -- Set once TikTok accepted the shipment (our call, or the remote state showed it shipped).
    shipped_at        BIGINT,
    tracking_number   TEXT,
    label_stored_at   BIGINT,
    confirmed_at      BIGINT,
    -- Stock reserved for tracked SKUs by the validate stage (released if the order is cancelled).
    stock_reserved    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at        BIGINT NOT NULL
);
