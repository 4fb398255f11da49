//! System Use Sharing Protocol (SUSP, IEEE P1281) entries and the Rock Ridge
//! (RRIP, IEEE P1282) fields this reader uses.

use crate::limits::{MAX_CE_CHAIN, MAX_CE_LEN, MAX_NAME_LEN, MAX_SUSP_ENTRIES, MAX_SYMLINK_LEN};
use crate::ondisk::{RripLink, RripPx, RripZf, SuspCe, SuspHeader, SuspSp};
use fsimage_abi::{Error, ReadAt, Result, Timespec};
use zerocopy::FromBytes;

/// What the system use area of one directory record says.
#[derive(Debug, Default, Clone)]
pub struct Rr {
    /// SP: SUSP is in use; bytes to skip in every other record's area.
    pub sp: Option<u8>,
    /// Any Rock Ridge entry was seen.
    pub any: bool,
    /// An ER entry names Rock Ridge (RRIP_1991A, IEEE_P1282, IEEE_1282).
    pub er_rrip: bool,
    pub name: Option<Vec<u8>>,
    /// NM with CURRENT or PARENT: the record is "." or "..".
    pub name_is_dot: bool,
    pub mode: Option<u32>,
    pub nlink: Option<u32>,
    pub uid: u32,
    pub gid: u32,
    pub ino: Option<u32>,
    pub symlink: Option<Vec<u8>>,
    pub mtime: Option<Timespec>,
    pub atime: Option<Timespec>,
    pub ctime: Option<Timespec>,
    pub cl: Option<u32>,
    pub pl: Option<u32>,
    pub re: bool,
    /// ZF or Z2: compressed (zisofs or zisofs2).
    pub zf: Option<crate::zisofs::ZfEntry>,
    pub rdev: Option<u64>,
}

/// Where the record whose area is parsed sits, for error messages.
pub struct Ctx<'a> {
    pub dev: &'a dyn ReadAt,
    pub block_size: u64,
    pub record: u64,
}

fn corrupt(ctx: &Ctx, what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!(
        "iso9660: directory record at byte {}: {what}",
        ctx.record
    ))
}

/// Symlink assembly state carried across SL entries.
#[derive(Default)]
struct SlState {
    out: Vec<u8>,
    /// The previous component continues in the next one (no '/').
    joined: bool,
    /// A separator is needed before the next component.
    sep: bool,
}

/// Parses the system use area `su` (after `skip` bytes) and any continuation
/// areas it points to.
pub fn parse(ctx: &Ctx, su: &[u8], skip: usize) -> Result<Rr> {
    let mut rr = Rr::default();
    let mut sl = SlState::default();
    let mut nm_open = true; // the name may still be continued
    let mut area: Vec<u8> = su.get(skip..).unwrap_or(&[]).to_vec();
    let mut ce_seen: Vec<(u64, u64)> = Vec::new();
    let mut entries = 0usize;
    loop {
        let mut next: Option<(u64, u32)> = None;
        let mut pos = 0usize;
        while let Some(rest) = area.get(pos..) {
            if rest.len() < 4 || rest[0] == 0 {
                // Padding at the end of the area.
                break;
            }
            let Ok((h, _)) = SuspHeader::ref_from_prefix(rest) else {
                break;
            };
            let len = usize::from(h.length);
            if len < 4 || len > rest.len() {
                return Err(corrupt(
                    ctx,
                    format!(
                        "SUSP entry {} length {len} runs past its area ({} bytes left)",
                        String::from_utf8_lossy(&h.signature),
                        rest.len()
                    ),
                ));
            }
            entries += 1;
            if entries > MAX_SUSP_ENTRIES {
                return Err(Error::limit(format!(
                    "iso9660: directory record at byte {}: more than {MAX_SUSP_ENTRIES} SUSP entries (MAX_SUSP_ENTRIES)",
                    ctx.record
                )));
            }
            let e = &rest[..len];
            let data = &e[4..];
            match &h.signature {
                b"ST" => break,
                b"CE" => {
                    let ce = SuspCe::ref_from_prefix(e)
                        .map_err(|_| corrupt(ctx, "CE entry too short"))?
                        .0;
                    let off = u64::from(ce.block_location.le.get())
                        .checked_mul(ctx.block_size)
                        .and_then(|b| b.checked_add(u64::from(ce.offset.le.get())))
                        .ok_or_else(|| corrupt(ctx, "CE location overflows"))?;
                    next = Some((off, ce.length.le.get()));
                }
                b"SP" => {
                    let sp = SuspSp::ref_from_prefix(e)
                        .map_err(|_| corrupt(ctx, "SP entry too short"))?
                        .0;
                    if sp.check_bytes == [0xBE, 0xEF] {
                        rr.sp = Some(sp.len_skp);
                    }
                }
                b"PX" => {
                    let px = RripPx::ref_from_prefix(e)
                        .map_err(|_| corrupt(ctx, "PX entry too short"))?
                        .0;
                    rr.any = true;
                    rr.mode = Some(px.file_mode.le.get());
                    rr.nlink = Some(px.links.le.get());
                    rr.uid = px.user_id.le.get();
                    rr.gid = px.group_id.le.get();
                    // RRIP 1.12 adds the file serial number (both-byte order).
                    if let Some(ino) = data.get(32..36) {
                        rr.ino = Some(u32::from_le_bytes([ino[0], ino[1], ino[2], ino[3]]));
                    }
                }
                b"PN" => {
                    if let (Some(hi), Some(lo)) = (data.get(0..4), data.get(8..12)) {
                        let hi = u32::from_le_bytes([hi[0], hi[1], hi[2], hi[3]]);
                        let lo = u32::from_le_bytes([lo[0], lo[1], lo[2], lo[3]]);
                        rr.rdev = Some((u64::from(hi) << 32) | u64::from(lo));
                    }
                }
                b"NM" => {
                    rr.any = true;
                    let flags = *data
                        .first()
                        .ok_or_else(|| corrupt(ctx, "NM entry too short"))?;
                    if flags & 0x06 != 0 {
                        rr.name_is_dot = true;
                    } else if nm_open {
                        let name = rr.name.get_or_insert_with(Vec::new);
                        let piece = &data[1..];
                        if name.len() + piece.len() > MAX_NAME_LEN {
                            return Err(Error::limit(format!(
                                "iso9660: directory record at byte {}: NM name longer than {MAX_NAME_LEN} bytes (MAX_NAME_LEN)",
                                ctx.record
                            )));
                        }
                        name.extend_from_slice(piece);
                        nm_open = flags & 0x01 != 0;
                    }
                }
                b"SL" => {
                    rr.any = true;
                    parse_sl(ctx, data, &mut sl)?;
                    rr.symlink = Some(Vec::new());
                }
                b"TF" => {
                    rr.any = true;
                    parse_tf(data, &mut rr);
                }
                b"CL" => {
                    let l = RripLink::ref_from_prefix(e)
                        .map_err(|_| corrupt(ctx, "CL entry too short"))?
                        .0;
                    rr.any = true;
                    rr.cl = Some(l.location.le.get());
                }
                b"PL" => {
                    let l = RripLink::ref_from_prefix(e)
                        .map_err(|_| corrupt(ctx, "PL entry too short"))?
                        .0;
                    rr.any = true;
                    rr.pl = Some(l.location.le.get());
                }
                b"RE" => {
                    rr.any = true;
                    rr.re = true;
                }
                // Z2: zisofs2's alternative signature, laid out as ZF.
                b"ZF" | b"Z2" => {
                    let z = RripZf::ref_from_prefix(e)
                        .map_err(|_| corrupt(ctx, "ZF entry too short"))?
                        .0;
                    rr.zf = Some(crate::zisofs::ZfEntry {
                        algorithm: z.algorithm,
                        header_size_div4: z.header_size_div4,
                        log2_block_size: z.log2_block_size,
                        uncompressed_size: z.uncompressed_size,
                    });
                }
                // RRIP 1.09's "RR" flags entry.
                b"RR" => rr.any = true,
                b"ER" => {
                    // LEN_ID, LEN_DES, LEN_SRC, EXT_VER, then the identifier.
                    if let Some(&id_len) = data.first() {
                        let id = data.get(4..4 + usize::from(id_len)).unwrap_or(&[]);
                        rr.er_rrip |= matches!(id, b"RRIP_1991A" | b"IEEE_P1282" | b"IEEE_1282");
                    }
                }
                _ => {}
            }
            pos += len;
        }
        let Some((off, len)) = next else { break };
        if ce_seen.len() >= MAX_CE_CHAIN {
            return Err(Error::limit(format!(
                "iso9660: directory record at byte {}: more than {MAX_CE_CHAIN} SUSP continuation areas (MAX_CE_CHAIN)",
                ctx.record
            )));
        }
        if ce_seen.contains(&(off, u64::from(len))) {
            return Err(corrupt(ctx, format!("CE continuation loop at byte {off}")));
        }
        ce_seen.push((off, u64::from(len)));
        if len > MAX_CE_LEN {
            return Err(Error::limit(format!(
                "iso9660: directory record at byte {}: CE continuation area of {len} bytes > {MAX_CE_LEN} (MAX_CE_LEN)",
                ctx.record
            )));
        }
        area = ctx
            .dev
            .read_vec_at(off, usize::try_from(len).unwrap_or(usize::MAX))
            .map_err(|e| corrupt(ctx, format!("CE continuation area at byte {off}: {e}")))?;
    }
    if rr.symlink.is_some() {
        if sl.out.is_empty() {
            return Err(corrupt(ctx, "SL symlink with an empty target"));
        }
        rr.symlink = Some(sl.out);
    }
    Ok(rr)
}

/// One SL entry's component records (RRIP 4.1.3.1).
fn parse_sl(ctx: &Ctx, data: &[u8], st: &mut SlState) -> Result<()> {
    // data[0] is the entry's flags (CONTINUE: the target goes on in the next SL).
    let mut comps = data.get(1..).unwrap_or(&[]);
    while !comps.is_empty() {
        let (Some(&flags), Some(&len)) = (comps.first(), comps.get(1)) else {
            return Err(corrupt(ctx, "SL component record cut short"));
        };
        let len = usize::from(len);
        let content = comps.get(2..2 + len).ok_or_else(|| {
            corrupt(
                ctx,
                format!("SL component of {len} bytes runs past its entry"),
            )
        })?;
        comps = &comps[2 + len..];
        let text: &[u8] = if flags & 0x02 != 0 {
            b"."
        } else if flags & 0x04 != 0 {
            b".."
        } else if flags & 0x08 != 0 {
            // ROOT: the target is absolute.
            st.out.clear();
            st.out.push(b'/');
            st.sep = false;
            st.joined = false;
            continue;
        } else {
            content
        };
        if st.sep && !st.joined {
            st.out.push(b'/');
        }
        st.out.extend_from_slice(text);
        if st.out.len() > MAX_SYMLINK_LEN {
            return Err(Error::limit(format!(
                "iso9660: directory record at byte {}: SL target longer than {MAX_SYMLINK_LEN} bytes (MAX_SYMLINK_LEN)",
                ctx.record
            )));
        }
        st.sep = true;
        st.joined = flags & 0x01 != 0;
    }
    Ok(())
}

/// TF: time stamps (RRIP 4.1.6), in flag-bit order, 7 or 17 bytes each.
fn parse_tf(data: &[u8], rr: &mut Rr) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let long = flags & 0x80 != 0;
    let size = if long { 17 } else { 7 };
    for bit in 0..7 {
        if flags & (1 << bit) == 0 {
            continue;
        }
        let Some(raw) = rest.get(..size) else { return };
        rest = &rest[size..];
        let t = if long {
            <[u8; 17]>::try_from(raw).map(|b| crate::time::long(&b))
        } else {
            <[u8; 7]>::try_from(raw).map(|b| crate::time::short(&b))
        };
        let Ok(t) = t else { return };
        match bit {
            1 => rr.mtime = Some(t),
            2 => rr.atime = Some(t),
            3 => rr.ctime = Some(t),
            _ => {}
        }
    }
}
