-- Order review at scale (issue 5). SQLite gains an index on orders (tts_order_id) in this version, so
-- looking an order up by its TikTok id is one b-tree probe. PostgreSQL has had one since 0002:
-- orders_tts_order_id_prefix (tts_order_id text_pattern_ops) serves equality as well as the prefix
-- match. This version keeps both dialects on the same migration numbers.
SELECT 1;
