//! Directory items: an array of entry heads, names packed from the end of
//! the item backwards (entry 0's name ends at the item's end, entry i's at
//! entry i-1's name).

use crate::ondisk::{DEH_SIZE, DeHead};
use fsimage_abi::{Error, Result};
use zerocopy::FromBytes;

/// DEH_Visible: the bit of deh_state set on live entries.
const DEH_VISIBLE: u16 = 1 << 2;
/// DOT_DOT_OFFSET: the offset of ".." ("." has 1).
pub const DOT_DOT_OFFSET: u32 = 2;

/// One directory entry.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// deh_offset: hash (bits 7..30) and generation (bits 0..6).
    pub offset: u32,
    pub dir_id: u32,
    pub objectid: u32,
    pub visible: bool,
    pub name: &'a [u8],
}

impl Entry<'_> {
    pub fn id(&self) -> u64 {
        (u64::from(self.dir_id) << 32) | u64::from(self.objectid)
    }
}

/// Decodes every entry of a directory item body with ih_entry_count
/// `count`; `what` names the item for errors.
pub fn entries<'a>(
    body: &'a [u8],
    count: u16,
    what: &dyn Fn() -> String,
) -> Result<Vec<Entry<'a>>> {
    let n = usize::from(count);
    let heads_end = n * DEH_SIZE;
    if n == 0 || heads_end > body.len() {
        return Err(Error::corrupt(format!(
            "{}: {n} entries do not fit its {} bytes",
            what(),
            body.len()
        )));
    }
    let mut out: Vec<Entry<'a>> = Vec::with_capacity(n);
    let mut end = body.len();
    for (i, raw) in body[..heads_end].chunks_exact(DEH_SIZE).enumerate() {
        let deh = DeHead::ref_from_bytes(raw)
            .map_err(|_| Error::corrupt(format!("{}: entry {i} head", what())))?;
        let loc = usize::from(deh.deh_location.get());
        if loc < heads_end || loc >= end {
            return Err(Error::corrupt(format!(
                "{}: entry {i} name location {loc} outside {heads_end}..{end}",
                what()
            )));
        }
        let raw_name = &body[loc..end];
        // 3.6 pads names with NULs to 8 bytes.
        let len = raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw_name.len());
        let name = &raw_name[..len];
        if !fsimage_abi::is_component(name) {
            return Err(Error::corrupt(format!(
                "{}: entry {i} name {:?} is empty or holds '/'",
                what(),
                String::from_utf8_lossy(name)
            )));
        }
        let offset = deh.deh_offset.get();
        if let Some(p) = out.last()
            && offset <= p.offset
        {
            return Err(Error::corrupt(format!(
                "{}: entry {i} offset {offset} not above the previous {}",
                what(),
                p.offset
            )));
        }
        out.push(Entry {
            offset,
            dir_id: deh.deh_dir_id.get(),
            objectid: deh.deh_objectid.get(),
            visible: deh.deh_state.get() & DEH_VISIBLE != 0,
            name,
        });
        end = loc;
    }
    Ok(out)
}
