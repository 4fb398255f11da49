//! ISO 9660 date/time fields to Unix time.

use fsimage_abi::Timespec;

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn to_unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, gmtoff: i8) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let local = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    // The offset from GMT is in 15-minute units, -48 (west) to +52 (east).
    Some(local - i64::from(gmtoff) * 15 * 60)
}

/// The 7-byte recording date of a directory record (ECMA-119 9.1.5);
/// an all-zero or out-of-range field reads as the epoch.
pub fn short(b: &[u8; 7]) -> Timespec {
    let [y, mo, d, h, mi, s, off] = *b;
    let sec = to_unix(
        1900 + i64::from(y),
        i64::from(mo),
        i64::from(d),
        i64::from(h),
        i64::from(mi),
        i64::from(s),
        i8::from_ne_bytes([off]),
    );
    Timespec {
        sec: sec.unwrap_or(0),
        nsec: 0,
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// The 17-byte digits form (ECMA-119 8.4.26.1), used by TF's long form.
pub fn long(b: &[u8; 17]) -> Timespec {
    let f = || -> Option<Timespec> {
        let sec = to_unix(
            digits(&b[0..4])?,
            digits(&b[4..6])?,
            digits(&b[6..8])?,
            digits(&b[8..10])?,
            digits(&b[10..12])?,
            digits(&b[12..14])?,
            i8::from_ne_bytes([b[16]]),
        )?;
        let cs = u32::try_from(digits(&b[14..16])?).ok()?;
        Some(Timespec {
            sec,
            nsec: cs * 10_000_000,
        })
    };
    f().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        // 2000-03-01 00:00:00 GMT
        assert_eq!(short(&[100, 3, 1, 0, 0, 0, 0]).sec, 951_868_800);
        // Same instant written at GMT+1 (4 quarter hours).
        assert_eq!(short(&[100, 3, 1, 1, 0, 0, 4]).sec, 951_868_800);
        assert_eq!(short(&[0; 7]).sec, 0);
        assert_eq!(long(b"2000030100000050\0").nsec, 500_000_000);
        assert_eq!(long(b"2000030100000050\0").sec, 951_868_800);
        assert_eq!(long(&[0; 17]).sec, 0);
    }
}
