-- Order review at scale (issue 5). SQLite gains an index on orders (tts_order_id) in this version;
-- PostgreSQL has had one since 0002 (orders_tts_order_id_prefix, text_pattern_ops, which serves
-- equality as well as the prefix match).
--
-- "At risk of missing ship-by" newest first: the orders still to ship, in the list's keyset order. The
-- 0002 partial index on (creator_id, ship_by_time) cannot give that order, so the planner walked the
-- whole table newest first looking for the few unshipped orders; this one holds only them.
CREATE INDEX orders_awaiting_created ON orders (creator_id, create_time, id) WHERE awaiting_shipment;
