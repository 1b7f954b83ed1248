-- Order review at scale (issue 5). Looking an order up by its TikTok id (`orders show`, the console's
-- detail pane, manual tracking, CSV import lines) filtered on (creator_id, tts_order_id), which only
-- the UNIQUE (shop_id, tts_order_id) index could serve, and only per shop: a full scan of the orders
-- table. At 1,000,000 orders that is ~100 ms per lookup; with this index it is one b-tree probe.
CREATE INDEX orders_tts_order_id ON orders (tts_order_id);

-- "At risk of missing ship-by" newest first: the orders still to ship, in the list's keyset order. The
-- 0002 partial index on (creator_id, ship_by_time) cannot give that order, so the planner walked the
-- whole table newest first looking for the few unshipped orders; this one holds only them.
CREATE INDEX orders_awaiting_created ON orders (creator_id, create_time, id) WHERE awaiting_shipment = 1;
