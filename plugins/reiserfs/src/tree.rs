//! The S+tree: reading nodes through a small cache, searching by key from
//! the root with every node's level checked against its parent's (so a
//! pointer back up the tree, or to itself, is caught at once), and a cursor
//! that walks items in key order across leaves, refusing keys that do not
//! increase (so no walk can revisit anything).

use crate::key::Key;
use crate::limits::{CACHE_NODES, MAX_LEAF_STEPS};
use crate::node::{self, Item, Leaf, Node};
use crate::superblock::Geometry;
use fsimage_abi::{Device, Error, ReadAt, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Least-recently-used cache of parsed nodes.
struct NodeCache {
    map: HashMap<u32, (Arc<Node>, u64)>,
    tick: u64,
}

pub struct Tree {
    pub dev: Device,
    pub geo: Geometry,
    cache: Mutex<NodeCache>,
    /// Blocks replaced by a journal replay (block number -> contents).
    pub overlay: HashMap<u32, Arc<[u8]>>,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("geo", &self.geo).finish()
    }
}

/// Where a cursor stands: the internal nodes on the way down with the child
/// taken in each, the leaf and the item in it.
pub struct Cursor {
    path: Vec<(u32, Arc<Node>, usize)>,
    leaf_blk: u32,
    leaf: Arc<Node>,
    pos: usize,
    steps: u64,
}

impl Cursor {
    fn leaf(&self) -> &Leaf {
        match &*self.leaf {
            Node::Leaf(l) => l,
            // Cursors are only built over leaves.
            Node::Internal(_) => unreachable_leaf(),
        }
    }

    /// The current item, its body and its leaf's block number.
    pub fn item(&self) -> Option<(&Item, &[u8], u32)> {
        let l = self.leaf();
        let it = l.items.get(self.pos)?;
        Some((it, l.body(it), self.leaf_blk))
    }

    pub fn pos(&self) -> usize {
        self.pos
    }
}

fn unreachable_leaf() -> &'static Leaf {
    static EMPTY: Leaf = Leaf {
        block: Vec::new(),
        items: Vec::new(),
    };
    &EMPTY
}

impl Tree {
    pub fn new(dev: Device, geo: Geometry) -> Tree {
        Tree {
            dev,
            geo,
            cache: Mutex::new(NodeCache {
                map: HashMap::new(),
                tick: 0,
            }),
            overlay: HashMap::new(),
        }
    }

    pub fn dev_size(&self) -> u64 {
        self.dev.size()
    }

    /// Byte offset of block `blk`, checked against the block count and the
    /// device (`what` names the pointer).
    pub fn block_offset(&self, blk: u32, len: u64, what: &dyn Fn() -> String) -> Result<u64> {
        let bs = u64::from(self.geo.block_size);
        if blk >= self.geo.block_count {
            return Err(Error::corrupt(format!(
                "{}: block {blk} past the end of the filesystem ({} blocks)",
                what(),
                self.geo.block_count
            )));
        }
        let off = u64::from(blk) * bs;
        if off.checked_add(len).is_none_or(|e| e > self.dev.size()) {
            return Err(Error::corrupt(format!(
                "{}: block {blk} past the end of the device ({} bytes)",
                what(),
                self.dev.size()
            )));
        }
        Ok(off)
    }

    /// Reads a whole block (through the replay overlay).
    pub fn read_block(&self, blk: u32, what: &dyn Fn() -> String) -> Result<Vec<u8>> {
        if let Some(b) = self.overlay.get(&blk) {
            return Ok(b.to_vec());
        }
        let bs = u64::from(self.geo.block_size);
        let off = self.block_offset(blk, bs, what)?;
        // bs <= MAX_BLOCK_SIZE.
        self.dev.read_vec_at(off, bs as usize)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NodeCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The parsed node in block `blk`.
    pub fn node(&self, blk: u32) -> Result<Arc<Node>> {
        {
            let mut g = self.lock();
            g.tick += 1;
            let t = g.tick;
            if let Some(e) = g.map.get_mut(&blk) {
                e.1 = t;
                let node = e.0.clone();
                drop(g);
                // A hit costs no device read but still counts against the
                // operation's budget, so walks over cached nodes end too.
                fsimage_abi::budget::charge()?;
                return Ok(node);
            }
        }
        let data = self.read_block(blk, &|| "tree node".to_string())?;
        let node = Arc::new(node::parse(data, u64::from(blk))?);
        let mut g = self.lock();
        g.tick += 1;
        let t = g.tick;
        if g.map.len() >= CACHE_NODES
            && let Some(old) = g.map.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k)
        {
            g.map.remove(&old);
        }
        g.map.insert(blk, (node.clone(), t));
        Ok(node)
    }

    /// Loads `blk` expecting a node of `level` (its parent's level - 1).
    fn node_at(&self, blk: u32, level: u16, parent: Option<u32>) -> Result<Arc<Node>> {
        let n = self.node(blk)?;
        if n.level() != level {
            let from = parent.map_or("the superblock".to_string(), |p| format!("block {p}"));
            return Err(Error::corrupt(format!(
                "block {blk} (pointed to by {from}): level {} where {level} was expected",
                n.level()
            )));
        }
        Ok(n)
    }

    /// A cursor on the item with the largest key <= `key` (or on the first
    /// item of the leaf the search ends in, if all its keys are larger).
    pub fn seek(&self, key: &Key) -> Result<Cursor> {
        let mut blk = self.geo.root_block;
        let mut level = self.geo.root_level;
        let mut parent = None;
        let mut path = Vec::new();
        loop {
            let n = self.node_at(blk, level, parent)?;
            match &*n {
                Node::Internal(i) => {
                    let pos = i.keys.partition_point(|k| k <= key);
                    let child = *i.children.get(pos).ok_or_else(|| {
                        Error::corrupt(format!("internal block {blk}: child {pos} missing"))
                    })?;
                    path.push((blk, n.clone(), pos));
                    parent = Some(blk);
                    blk = child;
                    // Internal levels are >= 2.
                    level = i.level - 1;
                }
                Node::Leaf(l) => {
                    let pos = l
                        .items
                        .partition_point(|it| it.key <= *key)
                        .saturating_sub(1);
                    return Ok(Cursor {
                        path,
                        leaf_blk: blk,
                        leaf: n,
                        pos,
                        steps: 0,
                    });
                }
            }
        }
    }

    /// Moves to the next item in key order; false at the end of the tree.
    pub fn advance(&self, c: &mut Cursor) -> Result<bool> {
        let prev = c.item().map(|(it, _, _)| it.key);
        if c.pos + 1 < c.leaf().items.len() {
            c.pos += 1;
            return Ok(true);
        }
        c.steps += 1;
        if c.steps > MAX_LEAF_STEPS {
            return Err(Error::limit(format!(
                "leaves in one scan ({MAX_LEAF_STEPS})"
            )));
        }
        // Up until a node has a child to the right, then down its left edge.
        loop {
            let Some((nblk, n, pos)) = c.path.pop() else {
                return Ok(false);
            };
            let Node::Internal(i) = &*n else {
                return Err(Error::corrupt("tree path holds a leaf"));
            };
            if pos + 1 >= i.children.len() {
                continue;
            }
            let mut parent_blk_child = (i.level, i.children[pos + 1]);
            c.path.push((nblk, n.clone(), pos + 1));
            let mut parent_blk = Some(nblk);
            loop {
                let (plevel, blk) = parent_blk_child;
                let child = self.node_at(blk, plevel - 1, parent_blk)?;
                match &*child {
                    Node::Internal(ci) => {
                        let first = *ci.children.first().ok_or_else(|| {
                            Error::corrupt(format!("internal block {blk}: no children"))
                        })?;
                        parent_blk_child = (ci.level, first);
                        c.path.push((blk, child.clone(), 0));
                        parent_blk = Some(blk);
                    }
                    Node::Leaf(l) => {
                        if let (Some(p), Some(first)) = (prev, l.items.first())
                            && first.key <= p
                        {
                            return Err(Error::corrupt(format!(
                                "leaf block {blk}: first key {} not above {} of the leaf before it (tree loop?)",
                                first.key, p
                            )));
                        }
                        c.leaf_blk = blk;
                        c.leaf = child.clone();
                        c.pos = 0;
                        return Ok(true);
                    }
                }
            }
        }
    }
}
