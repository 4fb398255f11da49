//! Parsing one tree node (a leaf or an internal node) from its block,
//! checked the way the kernel's is_leaf / is_internal check it and more:
//! every item lies inside the block past the item-head array, keys strictly
//! increase, counts fit the block.

use crate::key::{Key, TYPE_ANY};
use crate::limits::{MAX_HEIGHT, max_internal_keys, max_leaf_items};
use crate::ondisk::{
    BLKH_SIZE, BlockHead, DC_SIZE, DiskChild, IH_SIZE, ItemHead, KEY_SIZE, RawKey,
};
use fsimage_abi::{Error, Result};
use zerocopy::FromBytes;

/// DISK_LEAF_NODE_LEVEL.
pub const LEAF_LEVEL: u16 = 1;

/// One item head of a leaf, decoded and checked against the block.
#[derive(Debug, Clone)]
pub struct Item {
    pub key: Key,
    /// Key format 3.6 (ih_version 1) or 3.5 (0).
    pub v2: bool,
    /// ih_entry_count (directory items) / ih_free_space (others).
    pub entry_count: u16,
    /// Body location and length inside the block (checked).
    pub loc: usize,
    pub len: usize,
}

#[derive(Debug)]
pub struct Leaf {
    pub block: Vec<u8>,
    pub items: Vec<Item>,
}

impl Leaf {
    /// The item's body (in range: checked when the leaf was parsed).
    pub fn body(&self, item: &Item) -> &[u8] {
        self.block
            .get(item.loc..item.loc.saturating_add(item.len))
            .unwrap_or(&[])
    }
}

#[derive(Debug)]
pub struct Internal {
    pub level: u16,
    pub keys: Vec<Key>,
    /// keys.len() + 1 child block numbers.
    pub children: Vec<u32>,
}

#[derive(Debug)]
pub enum Node {
    Leaf(Leaf),
    Internal(Internal),
}

impl Node {
    pub fn level(&self) -> u16 {
        match self {
            Node::Leaf(_) => LEAF_LEVEL,
            Node::Internal(n) => n.level,
        }
    }
}

/// Parses a node; `blocknr` only names it in errors. The block length is
/// the filesystem block size.
pub fn parse(block: Vec<u8>, blocknr: u64) -> Result<Node> {
    let head = BlockHead::ref_from_prefix(&block)
        .map_err(|_| Error::corrupt(format!("block {blocknr}: shorter than a node head")))?
        .0;
    let level = head.blk_level.get();
    let nr = usize::from(head.blk_nr_item.get());
    match level {
        LEAF_LEVEL => parse_leaf(block, nr, blocknr).map(Node::Leaf),
        2..=MAX_HEIGHT => parse_internal(&block, level, nr, blocknr).map(Node::Internal),
        0 => Err(Error::corrupt(format!(
            "block {blocknr}: level 0 (a freed node) inside the tree"
        ))),
        l => Err(Error::corrupt(format!(
            "block {blocknr}: node level {l} > {MAX_HEIGHT}"
        ))),
    }
}

fn block_len_u32(block: &[u8], blocknr: u64) -> Result<u32> {
    u32::try_from(block.len())
        .ok()
        .filter(|&l| l as usize >= BLKH_SIZE + IH_SIZE)
        .ok_or_else(|| Error::corrupt(format!("block {blocknr}: size {}", block.len())))
}

fn parse_leaf(block: Vec<u8>, nr: usize, blocknr: u64) -> Result<Leaf> {
    let bs = block_len_u32(&block, blocknr)?;
    let max = max_leaf_items(bs) as usize;
    if nr == 0 || nr > max {
        return Err(Error::corrupt(format!(
            "leaf block {blocknr}: {nr} items (must be 1..={max})"
        )));
    }
    // nr <= max keeps the head array inside the block.
    let heads_end = BLKH_SIZE + nr * IH_SIZE;
    let heads = block.get(BLKH_SIZE..heads_end).ok_or_else(|| {
        Error::corrupt(format!("leaf block {blocknr}: item heads past block end"))
    })?;
    let mut items = Vec::with_capacity(nr);
    for (i, raw) in heads.chunks_exact(IH_SIZE).enumerate() {
        let ih = ItemHead::ref_from_bytes(raw)
            .map_err(|_| Error::corrupt(format!("leaf block {blocknr}: item {i} head")))?;
        // Bit 15 is fsck's temporary "unreachable" mark.
        let v2 = match ih.ih_version.get() & 0x7fff {
            0 => false,
            1 => true,
            v => {
                return Err(Error::corrupt(format!(
                    "leaf block {blocknr}: item {i} key version {v}"
                )));
            }
        };
        let key = Key::decode(&ih.ih_key, v2);
        if key.ty == TYPE_ANY {
            return Err(Error::corrupt(format!(
                "leaf block {blocknr}: item {i} key {key} has no valid type"
            )));
        }
        let loc = usize::from(ih.ih_item_location.get());
        let len = usize::from(ih.ih_item_len.get());
        if len == 0 {
            return Err(Error::corrupt(format!(
                "leaf block {blocknr}: item {i} has length 0"
            )));
        }
        if loc < heads_end {
            return Err(Error::corrupt(format!(
                "leaf block {blocknr}: item {i} location {loc} inside the item heads (end {heads_end})"
            )));
        }
        if loc + len > block.len() {
            return Err(Error::corrupt(format!(
                "leaf block {blocknr}: item {i} location {loc} length {len} past block end {}",
                block.len()
            )));
        }
        if let Some(prev) = items.last().map(|p: &Item| p.key)
            && key <= prev
        {
            return Err(Error::corrupt(format!(
                "leaf block {blocknr}: item {i} key {key} not above the previous {prev}"
            )));
        }
        items.push(Item {
            key,
            v2,
            entry_count: ih.ih_entry_count.get(),
            loc,
            len,
        });
    }
    Ok(Leaf { block, items })
}

fn parse_internal(block: &[u8], level: u16, nr: usize, blocknr: u64) -> Result<Internal> {
    let bs = block_len_u32(block, blocknr)?;
    let max = max_internal_keys(bs) as usize;
    if nr > max {
        return Err(Error::corrupt(format!(
            "internal block {blocknr}: {nr} keys > {max}"
        )));
    }
    let keys_end = BLKH_SIZE + nr * KEY_SIZE;
    let dcs_end = keys_end + (nr + 1) * DC_SIZE;
    let (Some(kb), Some(db)) = (block.get(BLKH_SIZE..keys_end), block.get(keys_end..dcs_end))
    else {
        return Err(Error::corrupt(format!(
            "internal block {blocknr}: {nr} keys past block end"
        )));
    };
    let mut keys: Vec<Key> = Vec::with_capacity(nr);
    for (i, raw) in kb.chunks_exact(KEY_SIZE).enumerate() {
        let k = RawKey::read_from_bytes(raw)
            .map_err(|_| Error::corrupt(format!("internal block {blocknr}: key {i}")))?;
        let key = Key::decode_guess(&k);
        if let Some(&prev) = keys.last()
            && key <= prev
        {
            return Err(Error::corrupt(format!(
                "internal block {blocknr}: key {i} {key} not above the previous {prev}"
            )));
        }
        keys.push(key);
    }
    let mut children = Vec::with_capacity(nr + 1);
    for (i, raw) in db.chunks_exact(DC_SIZE).enumerate() {
        let dc = DiskChild::read_from_bytes(raw)
            .map_err(|_| Error::corrupt(format!("internal block {blocknr}: child {i}")))?;
        children.push(dc.dc_block_number.get());
    }
    Ok(Internal {
        level,
        keys,
        children,
    })
}
