//! A worker process's identity on this machine. Jobs are leased to a node id; a process that dies
//! leaves its jobs `running` until their lease expires — unless the next process to start takes the
//! same id and rescues them at once. Ids are slots guarded by OS file locks in the data dir: a slot's
//! lock dies with its process, so a restart takes over the dead process's slot (and jobs) at start-up,
//! while two live processes (the desktop app and a `creatorflow-cli run`) never share one.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::EngineError;

/// More concurrent workers than this on one machine and data dir is a mistake, not a deployment.
const MAX_SLOTS: u32 = 64;

/// A claimed node id; the slot stays ours while this value lives.
#[derive(Debug)]
pub struct NodeIdentity {
    id: String,
    _lock: File,
}

impl NodeIdentity {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Takes the first free slot under `data_dir/locks`.
    pub fn claim(data_dir: &Path) -> Result<NodeIdentity, EngineError> {
        let dir = data_dir.join("locks");
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::DataDir { path: dir.clone(), source })?;
        let host = std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_owned()).unwrap_or_default();
        let host = if host.is_empty() { "local".to_owned() } else { host };
        for slot in 0..MAX_SLOTS {
            let path = dir.join(format!("worker-{slot}.lock"));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|source| EngineError::DataDir { path: path.clone(), source })?;
            match file.try_lock() {
                Ok(()) => return Ok(NodeIdentity { id: format!("{host}/worker-{slot}"), _lock: file }),
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(source)) => return Err(EngineError::DataDir { path, source }),
            }
        }
        Err(EngineError::DataDir {
            path: dir,
            source: std::io::Error::other(format!("all {MAX_SLOTS} worker slots are taken by running processes")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_identities_differ_and_a_released_slot_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let a = NodeIdentity::claim(dir.path()).unwrap();
        let b = NodeIdentity::claim(dir.path()).unwrap();
        assert_ne!(a.id(), b.id());
        let a_id = a.id().to_owned();
        drop(a);
        let c = NodeIdentity::claim(dir.path()).unwrap();
        assert_eq!(c.id(), a_id, "a restarted process takes the dead one's slot");
    }
}
