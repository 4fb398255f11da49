//! The three hashes ReiserFS orders directory entries by (the superblock's
//! s_hash_function_code: 1 TEA, 2 "yura" (Rupasov), 3 r5), from the Linux
//! kernel's fs/reiserfs/hashes.c. Names are hashed as C `signed char`s, as
//! the kernel does, so bytes >= 0x80 sign-extend.

/// TEA_HASH in reiserfs.h.
pub const TEA_HASH: u32 = 1;
/// YURA_HASH.
pub const YURA_HASH: u32 = 2;
/// R5_HASH.
pub const R5_HASH: u32 = 3;

/// A byte as the kernel's `signed char`, widened to u32 (sign-extended).
fn sx(b: u8) -> u32 {
    i32::from(b as i8) as u32
}

/// The directory-entry hash `code` names, if it is one of the three.
pub fn hash(code: u32, name: &[u8]) -> Option<u32> {
    match code {
        TEA_HASH => Some(tea(name)),
        YURA_HASH => Some(yura(name)),
        R5_HASH => Some(r5(name)),
        _ => None,
    }
}

/// The directory key offset's hash part for `name` (GET_HASH_VALUE, and 0
/// becomes 128 as in the kernel's get_third_component).
pub fn offset_hash(code: u32, name: &[u8]) -> Option<u32> {
    let h = hash(code, name)? & 0x7fff_ff80;
    Some(if h == 0 { 128 } else { h })
}

/// r5: stops at the first NUL like the kernel's loop over a C string.
pub fn r5(name: &[u8]) -> u32 {
    let mut a: u32 = 0;
    for &b in name.iter().take_while(|&&b| b != 0) {
        let c = i32::from(b as i8);
        a = a.wrapping_add((c << 4) as u32);
        a = a.wrapping_add((c >> 4) as u32);
        a = a.wrapping_mul(11);
    }
    a
}

/// Little-endian word of four sign-extended bytes, or-ed together as the
/// kernel's `(u32) msg[0] | (u32) msg[1] << 8 | ...` does.
fn word(m: &[u8]) -> u32 {
    let g = |i: usize| m.get(i).copied().map_or(0, sx);
    g(0) | g(1) << 8 | g(2) << 16 | g(3) << 24
}

fn tea_core(h: &mut [u32; 2], a: u32, b: u32, c: u32, d: u32, rounds: u32) {
    const DELTA: u32 = 0x9E37_79B9;
    let mut sum: u32 = 0;
    let (mut b0, mut b1) = (h[0], h[1]);
    for _ in 0..rounds {
        sum = sum.wrapping_add(DELTA);
        b0 = b0.wrapping_add(
            (b1 << 4).wrapping_add(a) ^ b1.wrapping_add(sum) ^ (b1 >> 5).wrapping_add(b),
        );
        b1 = b1.wrapping_add(
            (b0 << 4).wrapping_add(c) ^ b0.wrapping_add(sum) ^ (b0 >> 5).wrapping_add(d),
        );
    }
    h[0] = h[0].wrapping_add(b0);
    h[1] = h[1].wrapping_add(b1);
}

/// keyed_hash: TEA in a Davies-Meyer construction.
pub fn tea(name: &[u8]) -> u32 {
    let mut h = [0x9464_a485u32, 0x542e_1a94];
    // The kernel's len is an int; names are at most a block long.
    let len = name.len() as u32;
    let mut pad = len | (len << 8);
    pad |= pad << 16;
    let mut m = name;
    while m.len() >= 16 {
        tea_core(
            &mut h,
            word(m),
            word(&m[4..]),
            word(&m[8..]),
            word(&m[12..]),
            6,
        );
        m = &m[16..];
    }
    let fold = |init: u32, rest: &[u8]| rest.iter().fold(init, |acc, &b| (acc << 8) | sx(b));
    let (a, b, c, d);
    if m.len() >= 12 {
        a = word(m);
        b = word(&m[4..]);
        c = word(&m[8..]);
        d = fold(pad, &m[12..]);
    } else if m.len() >= 8 {
        a = word(m);
        b = word(&m[4..]);
        c = fold(pad, &m[8..]);
        d = pad;
    } else if m.len() >= 4 {
        a = word(m);
        b = fold(pad, &m[4..]);
        c = pad;
        d = pad;
    } else {
        a = fold(pad, m);
        b = pad;
        c = pad;
        d = pad;
    }
    tea_core(&mut h, a, b, c, d, 10);
    h[0] ^ h[1]
}

/// yura_hash: the name read as decimal digits, then mixed with the
/// positions 40..256.
pub fn yura(name: &[u8]) -> u32 {
    let len = name.len();
    // pow[i] = 10^(len - 1 - i) for i < len - 1, else 1 (wrapping, like the
    // kernel's int arithmetic); built from the end so hashing stays linear.
    let mut pow = vec![1u32; len.max(1)];
    for i in (0..len.saturating_sub(1)).rev() {
        pow[i] = pow[i + 1].wrapping_mul(10);
    }
    let first = name.first().map_or(0, |&b| sx(b)).wrapping_sub(48);
    let mut a = if len == 1 {
        first
    } else {
        first.wrapping_mul(pow[0])
    };
    for (i, &b) in name.iter().enumerate().skip(1) {
        a = a.wrapping_add(sx(b).wrapping_sub(48).wrapping_mul(pow[i]));
    }
    // Positions len..40 add '0' - 48 = 0; positions max(len, 40)..256 add
    // i * 1 (their power of ten is empty).
    for i in len.max(40)..256 {
        a = a.wrapping_add(i as u32);
    }
    a << 7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_dot_names_are_stable() {
        // The kernel never hashes "." or ".."; any value is fine, but the
        // functions must not panic on short, empty or high-bit names.
        for code in [TEA_HASH, YURA_HASH, R5_HASH] {
            for n in [
                &b""[..],
                b"a",
                b"ab",
                b"abcd",
                b"\xff\xfe\x80",
                &[b'x'; 255],
            ] {
                let _ = hash(code, n);
            }
        }
        assert_eq!(hash(9, b"a"), None);
    }

    /// The kernel's quadratic formulation of yura, written out, agrees
    /// with the linear one.
    #[test]
    fn yura_matches_its_definition() {
        fn slow(m: &[u8]) -> u32 {
            let len = m.len() as i64;
            let p = |i: i64| (i..len - 1).fold(1u32, |p, _| p.wrapping_mul(10));
            let c0 = m.first().map_or(0, |&b| sx(b)).wrapping_sub(48);
            let mut a = if len == 1 { c0 } else { c0.wrapping_mul(p(0)) };
            let mut i = 1;
            while i < len {
                a = a.wrapping_add(sx(m[i as usize]).wrapping_sub(48).wrapping_mul(p(i)));
                i += 1;
            }
            while i < 40 {
                i += 1;
            }
            while i < 256 {
                a = a.wrapping_add((i as u32).wrapping_mul(p(i)));
                i += 1;
            }
            a << 7
        }
        for n in [
            &b"a"[..],
            b"12345",
            b"entry-00001",
            b"\xff\x80z",
            &[b'7'; 60],
            &[b'q'; 300],
        ] {
            assert_eq!(yura(n), slow(n), "{n:?}");
        }
    }
}
