//! RAID-Z layout for reads (OpenZFS `vdev_raidz.c`, `vdev_raidz_map_alloc`):
//! which child device and offset hold each column of a block, and
//! reconstruction of lost data columns from P (XOR of the data columns) and
//! Q (sum of D_i * 2^(n-1-i) in GF(2^8), polynomial 0x11d): one column from
//! P or from Q, two from P and Q.

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

/// GF(2^8) exp and log tables for generator 2, polynomial 0x11d.
struct Gf {
    exp: [u8; 256],
    log: [u8; 256],
}

fn gf() -> Gf {
    let mut g = Gf {
        exp: [0; 256],
        log: [0; 256],
    };
    let mut x: u16 = 1;
    for i in 0..255u16 {
        g.exp[i as usize] = x as u8;
        g.log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11d;
        }
    }
    g.exp[255] = g.exp[0];
    g
}

impl Gf {
    /// a * 2^k.
    fn mul_pow2(&self, a: u8, k: usize) -> u8 {
        if a == 0 {
            return 0;
        }
        self.exp[(usize::from(self.log[usize::from(a)]) + k) % 255]
    }
    /// a / b (b != 0).
    fn div(&self, a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            return 0;
        }
        let l = (255 + usize::from(self.log[usize::from(a)])
            - usize::from(self.log[usize::from(b)]))
            % 255;
        self.exp[l]
    }
}

/// Q of the data columns, leaving out those in `skip` (zeros), over `len`
/// bytes.
fn q_of(g: &Gf, data: &[Vec<u8>], skip: &[usize], len: usize) -> Vec<u8> {
    let n = data.len();
    let mut q = vec![0u8; len];
    for (i, d) in data.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let k = n - 1 - i;
        for (o, &x) in q.iter_mut().zip(d) {
            *o ^= g.mul_pow2(x, k);
        }
    }
    q
}

/// Rebuilds data column `m` from the Q column and the other data columns.
pub fn rebuild_from_q(q: &[u8], data: &[Vec<u8>], m: usize, size: usize) -> Vec<u8> {
    let g = gf();
    let n = data.len();
    let partial = q_of(&g, data, &[m], q.len());
    // D_m * 2^(n-1-m) = Q ^ partial: multiply by 2^-(n-1-m).
    let back = 255 - (n - 1 - m) % 255;
    let mut out: Vec<u8> = q
        .iter()
        .zip(&partial)
        .map(|(&a, &b)| g.mul_pow2(a ^ b, back))
        .take(size)
        .collect();
    out.resize(size, 0);
    out
}

/// Rebuilds data columns `x < y` from P and Q.
pub fn rebuild_pq(
    p: &[u8],
    q: &[u8],
    data: &[Vec<u8>],
    x: usize,
    y: usize,
    sizes: (usize, usize),
) -> (Vec<u8>, Vec<u8>) {
    let g = gf();
    let n = data.len();
    let len = p.len().min(q.len());
    let mut pxy: Vec<u8> = p[..len].to_vec();
    for (i, d) in data.iter().enumerate() {
        if i == x || i == y {
            continue;
        }
        for (o, &v) in pxy.iter_mut().zip(d) {
            *o ^= v;
        }
    }
    let qp = q_of(&g, data, &[x, y], len);
    let a = g.exp[(n - 1 - x) % 255];
    let b = g.exp[(n - 1 - y) % 255];
    let ab = a ^ b;
    let mut dx = vec![0u8; len];
    let mut dy = vec![0u8; len];
    for i in 0..len {
        let qxy = q[i] ^ qp[i];
        // Dx*a ^ Dy*b = Qxy and Dx ^ Dy = Pxy, so Dx = (Qxy ^ b*Pxy) / (a ^ b).
        let bp = g.mul_pow2(pxy[i], usize::from(g.log[usize::from(b)]));
        dx[i] = g.div(qxy ^ bp, ab);
        dy[i] = pxy[i] ^ dx[i];
    }
    dx.resize(sizes.0, 0);
    dy.resize(sizes.1, 0);
    (dx, dy)
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
    fn q_and_pq_rebuild() {
        let g = gf();
        let d = vec![vec![1u8, 200, 3], vec![4u8, 5, 77], vec![9u8, 8]];
        let q = q_of(&g, &d, &[], 3);
        let p: Vec<u8> = (0..3)
            .map(|i| {
                d.iter()
                    .map(|c| c.get(i).copied().unwrap_or(0))
                    .fold(0, |a, b| a ^ b)
            })
            .collect();
        for m in 0..3 {
            assert_eq!(rebuild_from_q(&q, &d, m, d[m].len()), d[m], "Q column {m}");
        }
        for (x, y) in [(0, 1), (0, 2), (1, 2)] {
            let (a, b) = rebuild_pq(&p, &q, &d, x, y, (d[x].len(), d[y].len()));
            assert_eq!((a, b), (d[x].clone(), d[y].clone()), "P+Q columns {x},{y}");
        }
    }

    #[test]
    fn p_rebuilds_one_column() {
        let d = vec![vec![1u8, 2, 3], vec![4u8, 5]];
        let p: Vec<u8> = vec![1 ^ 4, 2 ^ 5, 3];
        assert_eq!(rebuild_from_p(&p, &d, 0, 3), vec![1, 2, 3]);
        assert_eq!(rebuild_from_p(&p, &d, 1, 2), vec![4, 5]);
    }
}
