//! The stages' group reads (group.rs): concurrent jobs' reads of their orders go out as one
//! `IN (...)` statement (`Store::work_orders`, `Store::label_works`) instead of one statement — one
//! hop to a SQLite reader thread and back — per job.

use std::collections::HashMap;

use creatorflow_queue::Queue;

use super::group::GroupOp;
use crate::store::{Fulfillment, LabelWork, Store, WorkOrder};

/// Validate's, ship's and confirm's read of an order and its work log.
pub(crate) struct WorkRead(pub i64);

/// The label stage's read of an order, its work log and its cached packages.
pub(crate) struct LabelRead(pub i64);

impl GroupOp for WorkRead {
    const GROUPS_COUNTER: &'static str = "stage_reads.groups";
    const OPS_COUNTER: &'static str = "stage_reads.orders";
    const MAX: usize = 500;
    const SPLIT_ON_ERROR: bool = false;
    type Reply = Option<(WorkOrder, Option<Fulfillment>)>;

    async fn run(store: &Store, _queue: &Queue, group: &[Self]) -> crate::store::Result<Vec<Self::Reply>> {
        let ids: Vec<i64> = group.iter().map(|r| r.0).collect();
        Ok(answer_each(&ids, store.work_orders(&ids).await?))
    }
}

impl GroupOp for LabelRead {
    const GROUPS_COUNTER: &'static str = "label_reads.groups";
    const OPS_COUNTER: &'static str = "label_reads.orders";
    const MAX: usize = 500;
    const SPLIT_ON_ERROR: bool = false;
    type Reply = Option<LabelWork>;

    async fn run(store: &Store, _queue: &Queue, group: &[Self]) -> crate::store::Result<Vec<Self::Reply>> {
        let ids: Vec<i64> = group.iter().map(|r| r.0).collect();
        Ok(answer_each(&ids, store.label_works(&ids).await?))
    }
}

/// One answer per id, in order: an id listed twice (two stages' jobs of one order in one group)
/// gets a copy; every other answer is moved out of `found`.
fn answer_each<V: Clone>(ids: &[i64], mut found: HashMap<i64, V>) -> Vec<Option<V>> {
    let mut left: HashMap<i64, usize> = HashMap::with_capacity(ids.len());
    for id in ids {
        *left.entry(*id).or_default() += 1;
    }
    ids.iter()
        .map(|id| {
            let n = left.get_mut(id)?;
            *n -= 1;
            if *n == 0 { found.remove(id) } else { found.get(id).cloned() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_gets_its_answer_even_when_listed_twice() {
        let found = HashMap::from([(1, "one"), (2, "two")]);
        assert_eq!(answer_each(&[2, 1, 3, 2], found), [Some("two"), Some("one"), None, Some("two")]);
        assert_eq!(answer_each::<&str>(&[], HashMap::new()), Vec::<Option<&str>>::new());
    }
}
