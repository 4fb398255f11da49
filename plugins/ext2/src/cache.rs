//! A small bounded cache of metadata blocks shared by the threads using a
//! mount.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Least-recently-used cache of whole blocks, keyed by block number.
pub struct BlockCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    /// Block number -> (data, tick of last use).
    map: HashMap<u64, (Arc<[u8]>, u64)>,
    /// Tick of last use -> block number: the oldest is first, so eviction
    /// is O(log n) (a scan per miss made reading a 17 000-block directory
    /// quadratic).
    order: BTreeMap<u64, u64>,
    tick: u64,
}

impl Inner {
    /// Marks `blk` used now (its old tick was `old`); returns the new tick.
    fn touch(&mut self, blk: u64, old: Option<u64>) -> u64 {
        if let Some(o) = old {
            self.order.remove(&o);
        }
        self.tick += 1;
        self.order.insert(self.tick, blk);
        self.tick
    }
}

impl BlockCache {
    /// A cache of at most `capacity` blocks.
    pub fn new(capacity: usize) -> BlockCache {
        BlockCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
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
        let old = g.map.get(&blk)?.1;
        let t = g.touch(blk, Some(old));
        g.map.get_mut(&blk).map(|e| {
            e.1 = t;
            e.0.clone()
        })
    }

    pub fn insert(&self, blk: u64, data: Arc<[u8]>) {
        let mut g = self.lock();
        let old = g.map.get(&blk).map(|e| e.1);
        if old.is_none() && g.map.len() >= self.capacity {
            // Evict the least recently used entry.
            if let Some((_, victim)) = g.order.pop_first() {
                g.map.remove(&victim);
            }
        }
        let t = g.touch(blk, old);
        g.map.insert(blk, (data, t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: u8) -> Arc<[u8]> {
        Arc::from(vec![n; 4])
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let c = BlockCache::new(2);
        c.insert(1, block(1));
        c.insert(2, block(2));
        assert!(c.get(1).is_some()); // 2 is now the oldest
        c.insert(3, block(3));
        assert!(c.get(2).is_none());
        assert_eq!(c.get(1).as_deref(), Some(&[1u8; 4][..]));
        assert!(c.get(3).is_some());
        c.insert(3, block(9)); // replacing does not evict
        assert!(c.get(1).is_some());
        assert_eq!(c.get(3).as_deref(), Some(&[9u8; 4][..]));
        let g = c.lock();
        assert_eq!((g.map.len(), g.order.len()), (2, 2));
    }
}
