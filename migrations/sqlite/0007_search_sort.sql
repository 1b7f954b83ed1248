-- Search at a million orders (issue 5). A search with few matches (store/list.rs, FEW_MATCHES) sorts
-- them newest first and keeps one page. Sorting read every match's whole row from the table (~300 MB
-- at a million orders) only to learn its create_time: ~550 random reads for a SKU, fast while they
-- are cached and 100 ms when they are not. This index holds (id, creator_id, create_time) in a few
-- MB: the sort probes it by id and reads the table only for the page's rows (a deferred join).
CREATE INDEX orders_id_created ON orders (id, creator_id, create_time);
