//! Checksum fix-ups, so mutations get past CRCs to the code behind them.

use super::sparse::SparseImage;
use fsimage_abi::ReadAt;

/// An image the fix-ups can write to (a fuzz input, a gauntlet mutation).
pub trait Patch: ReadAt {
    /// Overlays `bytes` at `off`.
    fn put(&mut self, off: u64, bytes: &[u8]);
}

impl Patch for SparseImage {
    fn put(&mut self, off: u64, bytes: &[u8]) {
        SparseImage::put(self, off, bytes);
    }
}

fn le64(img: &dyn ReadAt, off: u64) -> u64 {
    let mut b = [0u8; 8];
    let _ = img.read_exact_at(off, &mut b);
    u64::from_le_bytes(b)
}

/// The GPT header at `lba` (sector size `ss`), if it carries "EFI PART":
/// recomputes the entry array's CRC32, then the header's own.
pub fn fix_gpt_header<P: Patch>(img: &mut P, ss: u64, lba: u64) {
    let Some(at) = lba.checked_mul(ss) else {
        return;
    };
    let mut hdr = vec![0u8; ss as usize];
    if img.read_exact_at(at, &mut hdr).is_err() || &hdr[..8] != b"EFI PART" {
        return;
    }
    let le32 = |i: usize| u32::from_le_bytes(hdr[i..i + 4].try_into().unwrap_or_default());
    let le64 = |i: usize| u64::from_le_bytes(hdr[i..i + 8].try_into().unwrap_or_default());
    let hsize = le32(12) as usize;
    let (entry_lba, count, esize) = (le64(72), le32(80), le32(84));
    let total = u64::from(count) * u64::from(esize);
    if total <= 1 << 20 {
        if let Some(eat) = entry_lba.checked_mul(ss) {
            if let Ok(arr) = img.read_vec_at(eat, total as usize) {
                hdr[88..92].copy_from_slice(&crc32fast::hash(&arr).to_le_bytes());
            }
        }
    }
    if (92..=hdr.len()).contains(&hsize) {
        hdr[16..20].fill(0);
        let crc = crc32fast::hash(&hdr[..hsize]);
        hdr[16..20].copy_from_slice(&crc.to_le_bytes());
    }
    img.put(at, &hdr[..92.max(hsize.min(hdr.len()))]);
}

/// Fixes both GPT headers (primary at LBA 1, backup where the primary says
/// and at the last LBA) for 512- and 4096-byte sectors.
pub fn fix_gpt<P: Patch>(img: &mut P) {
    for ss in [512u64, 4096] {
        let alt = le64(img, ss + 32);
        fix_gpt_header(img, ss, 1);
        fix_gpt_header(img, ss, alt);
        if let Some(last) = (img.size() / ss).checked_sub(1) {
            fix_gpt_header(img, ss, last);
        }
    }
}

/// Makes the Sun label's XOR checksum come out (if DKL_MAGIC is there).
pub fn fix_sun<P: Patch>(img: &mut P) {
    let mut s = [0u8; 512];
    if img.read_exact_at(0, &mut s).is_err() || s[508..510] != [0xDA, 0xBE] {
        return;
    }
    let x = s[..510]
        .chunks_exact(2)
        .fold(0u16, |x, w| x ^ u16::from_be_bytes([w[0], w[1]]));
    s[510..512].copy_from_slice(&x.to_be_bytes());
    img.put(0, &s);
}
