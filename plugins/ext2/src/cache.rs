//! A small bounded cache of metadata blocks shared by the threads using a
//! mount.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Least-recently-used cache of whole blocks, keyed by block number.
pub struct BlockCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    map: HashMap<u64, (Arc<[u8]>, u64)>,
    tick: u64,
}

impl BlockCache {
    /// A cache of at most `capacity` blocks.
    pub fn new(capacity: usize) -> BlockCache {
        BlockCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tick: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the map inconsistent: keep using it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, blk: u64) -> Option<Arc<[u8]>> {
        let mut g = self.lock();
        g.tick += 1;
        let t = g.tick;
        g.map.get_mut(&blk).map(|e| {
            e.1 = t;
            e.0.clone()
        })
    }

    pub fn insert(&self, blk: u64, data: Arc<[u8]>) {
        let mut g = self.lock();
        g.tick += 1;
        let t = g.tick;
        if g.map.len() >= self.capacity && !g.map.contains_key(&blk) {
            // Evict the least recently used entry (a linear scan over a small map).
            if let Some(old) = g.map.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k) {
                g.map.remove(&old);
            }
        }
        g.map.insert(blk, (data, t));
    }
}
