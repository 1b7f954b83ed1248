-- Order review at scale (issue 5). Looking an order up by its TikTok id (`orders show`, the console's
-- detail pane, manual tracking, CSV import lines) filtered on (creator_id, tts_order_id), which only
-- the UNIQUE (shop_id, tts_order_id) index could serve, and only per shop: a full scan of the orders
-- table. At 1,000,000 orders that is ~100 ms per lookup; with this index it is one b-tree probe.
CREATE INDEX orders_tts_order_id ON orders (tts_order_id);
