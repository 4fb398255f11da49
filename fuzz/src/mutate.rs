//! Seeded, deterministic image mutations for the gauntlet tests: bit flips in
//! metadata, extreme integers over aligned fields, overwritten and duplicated
//! sectors, truncation. A mutated image is the pristine bytes plus patches,
//! so a case costs no copy of the image. Depends on nothing but `fsimage_abi`
//! (the gauntlets include it by `#[path]`).

use fsimage_abi::{ReadAt, Result, io::check_range};
use std::sync::Arc;

/// splitmix64: tiny, fast, and good enough to spread mutations.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// A stable 64-bit hash of a name (FNV-1a), to derive per-fixture seeds.
pub fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Pristine bytes plus patches, possibly truncated.
#[derive(Clone)]
pub struct Mutated {
    base: Arc<Vec<u8>>,
    size: u64,
    patches: Vec<(u64, Vec<u8>)>,
}

impl Mutated {
    /// The pristine image.
    pub fn new(base: Arc<Vec<u8>>) -> Mutated {
        Mutated {
            size: base.len() as u64,
            base,
            patches: Vec::new(),
        }
    }

    /// Overlays `bytes` at `off` (clipped to the image).
    pub fn put(&mut self, off: u64, bytes: &[u8]) {
        if off < self.size {
            let n = (self.size - off).min(bytes.len() as u64) as usize;
            self.patches.push((off, bytes[..n].to_vec()));
        }
    }

    /// Cuts the image to `size` bytes.
    pub fn truncate(&mut self, size: u64) {
        self.size = self.size.min(size);
    }

    /// The patches, in the order they apply (later ones win).
    pub fn patches(&self) -> &[(u64, Vec<u8>)] {
        &self.patches
    }

    /// The whole mutated image as bytes (to write to a file).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.size as usize];
        let _ = self.read_exact_at(0, &mut v);
        v
    }
}

impl ReadAt for Mutated {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.size)?;
        let start = offset as usize;
        buf.copy_from_slice(&self.base[start..start + buf.len()]);
        let end = offset + buf.len() as u64;
        for (poff, bytes) in &self.patches {
            let pend = poff + bytes.len() as u64;
            let (s, e) = (offset.max(*poff), end.min(pend));
            if s < e {
                buf[(s - offset) as usize..(e - offset) as usize]
                    .copy_from_slice(&bytes[(s - poff) as usize..(e - poff) as usize]);
            }
        }
        Ok(())
    }
}

/// Granularity of metadata regions.
pub const BLOCK: u64 = 1024;

/// The non-zero `BLOCK`-sized blocks of `img` that `is_data` does not claim
/// (pass the byte ranges of file contents to leave only metadata).
pub fn metadata_blocks(img: &[u8], is_data: &dyn Fn(u64) -> bool) -> Vec<u64> {
    img.chunks(BLOCK as usize)
        .enumerate()
        .filter(|(i, c)| c.iter().any(|&b| b != 0) && !is_data(*i as u64 * BLOCK))
        .map(|(i, _)| i as u64 * BLOCK)
        .collect()
}

/// Values that break arithmetic: 0, all ones, the sign bit, 16-bit edges.
pub const EXTREMES: [u32; 7] = [
    0,
    0xFFFF_FFFF,
    0x8000_0000,
    0xFFFF,
    0x7FFF_FFFF,
    1,
    0x1_0000,
];

/// Applies 1–4 seeded mutations to `img` over the metadata blocks `meta`
/// (offsets of `BLOCK`-sized blocks). `hot` are byte ranges worth extra
/// attention (e.g. the superblock). Returns what was done.
pub fn mutate(img: &mut Mutated, meta: &[u64], hot: &[(u64, u64)], seed: u64) -> String {
    let mut r = SplitMix64(seed);
    let mut what = Vec::new();
    let full = img.size();
    let n = 1 + r.below(4);
    // Picks a byte offset: in a hot range a quarter of the time, else in a
    // metadata block.
    let offset = |r: &mut SplitMix64| -> u64 {
        if !hot.is_empty() && r.below(4) == 0 {
            let (s, l) = *r.pick(hot);
            s + r.below(l)
        } else if meta.is_empty() {
            r.below(full.max(1))
        } else {
            r.pick(meta) + r.below(BLOCK)
        }
    };
    for _ in 0..n {
        match r.below(10) {
            0..=2 => {
                let bits = 1 + r.below(8);
                for _ in 0..bits {
                    let at = offset(&mut r);
                    let mut b = [0u8; 1];
                    if img.read_exact_at(at, &mut b).is_ok() {
                        let bit = r.below(8);
                        b[0] ^= 1 << bit;
                        img.put(at, &b);
                        what.push(format!("flip bit {bit} at {at}"));
                    }
                }
            }
            3..=5 => {
                let v = *r.pick(&EXTREMES);
                let wide = r.below(2) == 0;
                let at = offset(&mut r) & if wide { !3 } else { !1 };
                if wide {
                    img.put(at, &v.to_le_bytes());
                    what.push(format!("u32 {v:#x} at {at}"));
                } else {
                    img.put(at, &(v as u16).to_le_bytes());
                    what.push(format!("u16 {:#x} at {at}", v as u16));
                }
            }
            6 => {
                // Overwrite a sector of metadata with another one.
                let dst = offset(&mut r) & !511;
                let src = offset(&mut r) & !511;
                let mut s = [0u8; 512];
                if img.read_exact_at(src, &mut s).is_ok() {
                    img.put(dst, &s);
                    what.push(format!("sector {src} copied over {dst}"));
                }
            }
            7 => {
                let dst = offset(&mut r) & !511;
                let fill = *r.pick(&[0u8, 0xFF]);
                let mut s = [fill; 512];
                if r.below(2) == 0 {
                    s.iter_mut().for_each(|b| *b = r.next_u64() as u8);
                    what.push(format!("random sector at {dst}"));
                } else {
                    what.push(format!("sector of {fill:#x} at {dst}"));
                }
                img.put(dst, &s);
            }
            8 => {
                // Duplicate a whole metadata block onto a neighbour.
                if let Some(&src) = meta.get(r.below(meta.len() as u64) as usize) {
                    let dst = src + BLOCK * (1 + r.below(8));
                    let mut b = vec![0u8; BLOCK as usize];
                    if img.read_exact_at(src, &mut b).is_ok() {
                        img.put(dst, &b);
                        what.push(format!("block {src} duplicated at {dst}"));
                    }
                }
            }
            _ => {
                let to = if r.below(2) == 0 {
                    offset(&mut r)
                } else {
                    r.below(full.max(1))
                };
                img.truncate(to);
                what.push(format!("truncated to {to}"));
            }
        }
    }
    what.join("; ")
}
