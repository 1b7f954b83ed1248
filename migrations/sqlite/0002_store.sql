-- Local cache of the engine (crates/engine/src/store). TikTok is the source of truth for orders; these
-- tables are a cache plus a work log. Local timestamps (`*_at`) are Unix MILLISECONDS; TikTok's own times
-- (`*_time`) are Unix SECONDS exactly as they arrive on the wire. Money is an exact decimal string (TEXT
-- here, NUMERIC in PostgreSQL) with its currency. No secrets (tokens, app secret) are ever stored here.
-- Enumerated TEXT columns carry a CHECK only where the value set is ours; TikTok's statuses are stored
-- as given so a status TikTok adds later is still storable.

CREATE TABLE creators (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    created_at INTEGER NOT NULL
);
-- The desktop app runs for one creator: the default local creator every shop belongs to unless told.
INSERT INTO creators (id, name, created_at) VALUES (1, 'Local creator', 0);

CREATE TABLE shops (
    id              INTEGER PRIMARY KEY,
    creator_id      INTEGER NOT NULL DEFAULT 1 REFERENCES creators (id),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    tts_shop_id     TEXT NOT NULL,
    cipher          TEXT NOT NULL,
    region          TEXT NOT NULL,
    app_key         TEXT NOT NULL,
    api_base_url    TEXT NOT NULL,
    auth_base_url   TEXT NOT NULL,
    handover_method TEXT NOT NULL CHECK (handover_method IN ('PICKUP', 'DROP_OFF')),
    priority        INTEGER NOT NULL DEFAULT 0,
    paused          INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deauthorized')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- The same TikTok shop id may exist in the sandbox and in production: the API base tells them apart.
    UNIQUE (api_base_url, tts_shop_id)
);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    -- Denormalized from the shop so the console's main index can lead with it.
    creator_id        INTEGER NOT NULL REFERENCES creators (id),
    shop_id           INTEGER NOT NULL REFERENCES shops (id),
    tts_order_id      TEXT NOT NULL CHECK (length(tts_order_id) BETWEEN 1 AND 64),
    status            TEXT NOT NULL,          -- TikTok's order status, as given
    create_time       INTEGER NOT NULL,       -- TikTok, seconds
    update_time       INTEGER NOT NULL,       -- TikTok, seconds: the version; older versions are ignored
    paid_time         INTEGER,                -- TikTok, seconds
    buyer_name        TEXT NOT NULL DEFAULT '',
    shipping_type     TEXT NOT NULL CHECK (shipping_type IN ('TIKTOK', 'SELLER')),
    rts_sla_time      INTEGER,                -- TikTok, seconds: ready-to-ship deadline
    shipping_due_time INTEGER,                -- TikTok, seconds
    total_amount      TEXT NOT NULL,          -- exact decimal string
    currency          TEXT NOT NULL,
    recipient_address TEXT CHECK (recipient_address IS NULL OR json_valid(recipient_address)),
    raw               TEXT NOT NULL CHECK (json_valid(raw)),  -- the last remote version, verbatim
    -- Local, computed by the store on every upsert:
    ship_by_time      INTEGER,                -- seconds: the earlier of rts_sla_time and shipping_due_time
    awaiting_shipment INTEGER NOT NULL CHECK (awaiting_shipment IN (0, 1)), -- "at risk" = this AND ship_by soon
    search_text       TEXT NOT NULL,          -- normalized tokens, mirrored into order_fts
    synced_at         INTEGER NOT NULL,
    UNIQUE (shop_id, tts_order_id)
);
-- Console list: by creator and status, newest first (keyset on (create_time, id)).
CREATE INDEX orders_creator_status_created ON orders (creator_id, status, create_time, id);
-- Console list without a status filter.
CREATE INDEX orders_creator_created ON orders (creator_id, create_time, id);
-- Console list filtered by shop.
CREATE INDEX orders_shop_created ON orders (shop_id, create_time, id);
-- "At risk of missing ship-by": only unshipped orders are indexed.
CREATE INDEX orders_at_risk ON orders (creator_id, ship_by_time) WHERE awaiting_shipment = 1;

CREATE TABLE line_items (
    id               INTEGER PRIMARY KEY,
    order_id         INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    tts_line_item_id TEXT NOT NULL,
    product_id       TEXT NOT NULL DEFAULT '',
    product_name     TEXT NOT NULL DEFAULT '',
    sku_id           TEXT NOT NULL DEFAULT '',
    sku_name         TEXT NOT NULL DEFAULT '',
    seller_sku       TEXT NOT NULL DEFAULT '',
    sale_price       TEXT NOT NULL,           -- exact decimal string; one line item is one unit
    currency         TEXT NOT NULL,
    display_status   TEXT NOT NULL DEFAULT '', -- TikTok's, as given
    tts_package_id   TEXT,
    UNIQUE (order_id, tts_line_item_id)
);
CREATE INDEX line_items_seller_sku ON line_items (seller_sku);

CREATE TABLE packages (
    id                   INTEGER PRIMARY KEY,
    order_id             INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    tts_package_id       TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT '',  -- TikTok's package status, as given
    tracking_number      TEXT,
    shipping_provider_id TEXT,
    shipping_provider    TEXT,
    UNIQUE (order_id, tts_package_id)
);
CREATE INDEX packages_tracking ON packages (tracking_number) WHERE tracking_number IS NOT NULL;

-- Shipments recorded locally: by the pipeline or entered by a person (manual tracking entry).
CREATE TABLE shipments (
    id                   INTEGER PRIMARY KEY,
    order_id             INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    package_id           INTEGER REFERENCES packages (id) ON DELETE SET NULL,
    tracking_number      TEXT NOT NULL CHECK (length(tracking_number) BETWEEN 1 AND 128),
    shipping_provider_id TEXT,
    shipping_provider    TEXT,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'confirmed', 'failed')),
    source               TEXT NOT NULL CHECK (source IN ('sync', 'webhook', 'pipeline', 'user')),
    shipped_at           INTEGER,
    created_at           INTEGER NOT NULL
);
CREATE INDEX shipments_tracking_status ON shipments (tracking_number, status);
CREATE INDEX shipments_order ON shipments (order_id, id);

CREATE TABLE labels (
    package_id    INTEGER PRIMARY KEY REFERENCES packages (id) ON DELETE CASCADE,
    document_type TEXT NOT NULL DEFAULT 'SHIPPING_LABEL',
    pdf           BLOB NOT NULL,
    fetched_at    INTEGER NOT NULL
);

-- The timeline of an order: everything that happened to it, from sync and from people.
CREATE TABLE order_events (
    id       INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    source   TEXT NOT NULL CHECK (source IN ('sync', 'webhook', 'pipeline', 'user')),
    kind     TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 128),
    message  TEXT NOT NULL DEFAULT '',
    data     TEXT CHECK (data IS NULL OR json_valid(data))
);
CREATE INDEX order_events_order ON order_events (order_id, at, id);

-- Stock by seller SKU. Untracked SKUs are never limited; tracked ones never go below zero available.
CREATE TABLE inventory (
    creator_id INTEGER NOT NULL DEFAULT 1 REFERENCES creators (id),
    seller_sku TEXT NOT NULL CHECK (length(seller_sku) BETWEEN 1 AND 256),
    tracked    INTEGER NOT NULL DEFAULT 1 CHECK (tracked IN (0, 1)),
    on_hand    INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved   INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND (tracked = 0 OR reserved <= on_hand)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (creator_id, seller_sku)
);

-- Per-shop sync position (e.g. stream 'orders': the update_time watermark and page token).
CREATE TABLE sync_cursors (
    shop_id    INTEGER NOT NULL REFERENCES shops (id) ON DELETE CASCADE,
    stream     TEXT NOT NULL CHECK (length(stream) BETWEEN 1 AND 64),
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, stream)
);

-- Webhook pushes already accepted (TikTok retries unacknowledged pushes): dedupe on its notification id.
CREATE TABLE webhook_receipts (
    tts_notification_id TEXT PRIMARY KEY NOT NULL CHECK (length(tts_notification_id) BETWEEN 1 AND 128),
    tts_shop_id         TEXT NOT NULL,
    type                INTEGER NOT NULL,
    received_at         INTEGER NOT NULL,
    payload             TEXT NOT NULL CHECK (json_valid(payload))
);
CREATE INDEX webhook_receipts_received ON webhook_receipts (received_at);

-- Per-minute metric rollups; latencies in milliseconds. `histogram` optionally holds a serialized
-- HdrHistogram so minutes can be merged into coarser windows exactly.
CREATE TABLE metric_rollups (
    metric    TEXT NOT NULL CHECK (length(metric) BETWEEN 1 AND 128),
    minute    INTEGER NOT NULL,   -- ms at the start of the minute
    count     INTEGER NOT NULL CHECK (count >= 0),
    sum       REAL NOT NULL,
    min       REAL,
    max       REAL,
    p50       REAL,
    p90       REAL,
    p99       REAL,
    histogram BLOB,
    PRIMARY KEY (metric, minute)
);

-- Order search (console "search as you type"): one row per order, rowid = orders.id, kept in step by the
-- store in the same transaction as the order. The text is the store's normalized tokens of the TikTok
-- order id, buyer name, product names, SKUs and tracking numbers; prefix indexes serve short prefixes.
-- External content (orders.search_text) so the text is stored once; the store deletes the old entry with
-- its old text before inserting the new one.
CREATE VIRTUAL TABLE order_fts USING fts5 (
    search_text,
    content = 'orders',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3 4'
);
