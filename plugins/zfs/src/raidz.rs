//! RAID-Z layout for reads (OpenZFS `vdev_raidz.c`, `vdev_raidz_map_alloc`):
//! which child device and offset hold each column of a block, and
//! single-parity (P, XOR) reconstruction of one data column.

use fsimage_abi::{Error, Result};

/// One column of a RAID-Z row: child index, byte offset on the child (from
/// the end of its front labels), size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub dev: usize,
    pub off: u64,
    pub size: u64,
}

/// The columns holding the `size` bytes at `offset` of a RAID-Z vdev with
/// `dcols` children and `nparity` parity columns: parity first, then data.
pub fn map(offset: u64, size: u64, ashift: u32, dcols: u64, nparity: u64) -> Result<Vec<Col>> {
    if !(1..=3).contains(&nparity) || dcols <= nparity || !(9..=16).contains(&ashift) {
        return Err(Error::corrupt(format!(
            "raidz: {dcols} children, parity {nparity}, ashift {ashift}"
        )));
    }
    let unit = 1u64 << ashift;
    // Reads are padded to whole sectors of the vdev.
    let size = size.div_ceil(unit) * unit;
    let b = offset >> ashift;
    let s = size >> ashift;
    let f = b % dcols;
    let o = (b / dcols) << ashift;
    let data_cols = dcols - nparity;
    let q = s / data_cols;
    let r = s - q * data_cols;
    let bc = if r == 0 { 0 } else { r + nparity };
    let acols = if q == 0 { bc } else { dcols };
    let mut cols = Vec::new();
    for c in 0..acols {
        let mut col = f + c;
        let mut coff = o;
        if col >= dcols {
            col -= dcols;
            coff = coff
                .checked_add(unit)
                .ok_or_else(|| Error::corrupt("raidz: offset overflows"))?;
        }
        let n = if c < bc { q + 1 } else { q };
        cols.push(Col {
            // col < dcols <= MAX_DEVICES.
            dev: col as usize,
            off: coff,
            size: n << ashift,
        });
    }
    // Single parity alternates the parity device every 1 MiB of offset.
    if nparity == 1 && offset & (1 << 20) != 0 && cols.len() >= 2 {
        let (d0, o0) = (cols[0].dev, cols[0].off);
        cols[0].dev = cols[1].dev;
        cols[0].off = cols[1].off;
        cols[1].dev = d0;
        cols[1].off = o0;
    }
    Ok(cols)
}

/// Rebuilds data column `missing` (an index into `data`) from the P column
/// and the other data columns (shorter columns count as zero-padded).
pub fn rebuild_from_p(p: &[u8], data: &[Vec<u8>], missing: usize, size: usize) -> Vec<u8> {
    let mut out: Vec<u8> = p.iter().copied().take(size).collect();
    out.resize(size, 0);
    for (j, d) in data.iter().enumerate() {
        if j == missing {
            continue;
        }
        for (o, x) in out.iter_mut().zip(d) {
            *o ^= x;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_block_on_three_children() {
        // 512 bytes at sector 4 of a 3-wide raidz1, ashift 9: one data
        // sector, one parity; row 1, first column 1.
        let c = map(4 << 9, 512, 9, 3, 1).unwrap();
        assert_eq!(
            c,
            vec![
                Col {
                    dev: 1,
                    off: 512,
                    size: 512
                },
                Col {
                    dev: 2,
                    off: 512,
                    size: 512
                },
            ]
        );
        // Past 1 MiB (sector 2052: first column 0) the parity and first
        // data column swap.
        let c = map((1 << 20) + (4 << 9), 512, 9, 3, 1).unwrap();
        assert_eq!((c[0].dev, c[1].dev), (1, 0));
        assert_eq!(c[0].off, 684 << 9);
        // Three data sectors on a 3-wide raidz1: two rows, parity 2x.
        let c = map(0, 3 * 512, 9, 3, 1).unwrap();
        let sizes: Vec<u64> = c.iter().map(|x| x.size).collect();
        assert_eq!(sizes, vec![1024, 1024, 512]);
        assert!(map(0, 512, 9, 1, 1).is_err());
    }

    #[test]
    fn p_rebuilds_one_column() {
        let d = vec![vec![1u8, 2, 3], vec![4u8, 5]];
        let p: Vec<u8> = vec![1 ^ 4, 2 ^ 5, 3];
        assert_eq!(rebuild_from_p(&p, &d, 0, 3), vec![1, 2, 3]);
        assert_eq!(rebuild_from_p(&p, &d, 1, 2), vec![4, 5]);
    }
}
