//! Directory records (ECMA-119 9.1) and the names they carry.

use crate::ondisk::{DR_FIXED, DirectoryRecord};
use fsimage_abi::{Error, Result};
use zerocopy::FromBytes;

/// One directory record, copied out of its sector.
#[derive(Debug, Clone)]
pub struct Record {
    /// Absolute byte offset of the record in the image.
    pub off: u64,
    /// Length of the record in bytes.
    pub len: u64,
    /// Extended attribute record length, in logical blocks.
    pub ear: u64,
    /// Location of the extent, in logical blocks.
    pub extent: u64,
    pub data_len: u64,
    pub date: [u8; 7],
    pub flags: u8,
    pub file_unit_size: u8,
    pub interleave_gap: u8,
    /// The raw file identifier.
    pub ident: Vec<u8>,
    /// The system use area.
    pub su: Vec<u8>,
}

impl Record {
    /// The "." record (identifier 0x00, ECMA-119 6.8.2.2).
    pub fn is_dot(&self) -> bool {
        self.ident == [0]
    }
    /// The ".." record (identifier 0x01).
    pub fn is_dotdot(&self) -> bool {
        self.ident == [1]
    }
}

/// Parses the record at the start of `buf`, which ends where the record's
/// sector (or directory) ends. `Ok(None)` for a zero length byte: the rest of
/// the sector is padding.
pub fn parse(buf: &[u8], off: u64) -> Result<Option<Record>> {
    let Some(&len) = buf.first() else {
        return Ok(None);
    };
    if len == 0 {
        return Ok(None);
    }
    let len = usize::from(len);
    if len < DR_FIXED + 1 {
        return Err(Error::corrupt(format!(
            "iso9660: directory record at byte {off}: length {len} < 34"
        )));
    }
    let Some(bytes) = buf.get(..len) else {
        return Err(Error::corrupt(format!(
            "iso9660: directory record at byte {off}: length {len} runs past its sector ({} bytes left)",
            buf.len()
        )));
    };
    let (dr, rest) = DirectoryRecord::ref_from_prefix(bytes).map_err(|_| {
        Error::corrupt(format!(
            "iso9660: directory record at byte {off}: too short"
        ))
    })?;
    let nlen = usize::from(dr.length_of_file_identifier);
    let ident = rest.get(..nlen).ok_or_else(|| {
        Error::corrupt(format!(
            "iso9660: directory record at byte {off}: identifier of {nlen} bytes runs past the record of {len}"
        ))
    })?;
    if nlen == 0 {
        return Err(Error::corrupt(format!(
            "iso9660: directory record at byte {off}: empty file identifier"
        )));
    }
    // A pad byte follows an identifier of even length (ECMA-119 9.1.12).
    let su_start = nlen + usize::from(nlen % 2 == 0);
    let su = rest.get(su_start..).unwrap_or(&[]);
    Ok(Some(Record {
        off,
        len: len as u64,
        ear: u64::from(dr.extended_attribute_record_length),
        extent: u64::from(dr.location_of_extent.le.get()),
        data_len: u64::from(dr.data_length.le.get()),
        date: dr.recording_date_and_time,
        flags: dr.file_flags,
        file_unit_size: dr.file_unit_size,
        interleave_gap: dr.interleave_gap_size,
        ident: ident.to_vec(),
        su: su.to_vec(),
    }))
}

/// Strips a ";N" version number and then a trailing '.', as Linux shows
/// ISO 9660 and Joliet names (`map=normal` without the lower-casing: the
/// name keeps the case recorded on the disc).
fn strip_version(mut name: &[u8]) -> &[u8] {
    if let Some(p) = name.iter().rposition(|&b| b == b';') {
        if name[p + 1..].iter().all(u8::is_ascii_digit) {
            name = &name[..p];
        }
    }
    if name.len() > 1 && name.last() == Some(&b'.') {
        name = &name[..name.len() - 1];
    }
    name
}

/// A plain ISO 9660 identifier as shown.
pub fn plain_name(ident: &[u8]) -> Vec<u8> {
    strip_version(ident).to_vec()
}

/// A Joliet identifier: UCS-2 big-endian (UTF-16 accepted) to UTF-8.
pub fn joliet_name(ident: &[u8], off: u64) -> Result<Vec<u8>> {
    if ident.len() % 2 != 0 {
        return Err(Error::corrupt(format!(
            "iso9660: directory record at byte {off}: Joliet identifier of odd length {}",
            ident.len()
        )));
    }
    let units = ident
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]));
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Ok(strip_version(s.as_bytes()).to_vec())
}

/// Refuses names no path can hold.
pub fn check_name(name: &[u8], off: u64) -> Result<()> {
    if !fsimage_abi::is_entry_name(name) {
        return Err(Error::corrupt(format!(
            "iso9660: directory record at byte {off}: invalid name {:?}",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(plain_name(b"EMPTY.;1"), b"EMPTY");
        assert_eq!(plain_name(b"UPPER.TXT;1"), b"UPPER.TXT");
        assert_eq!(plain_name(b"D0"), b"D0");
        assert_eq!(plain_name(b"A;B"), b"A;B");
        let j = [0, b'c', 0, b'a', 0, b'f', 0, 0xe9, 0, b';', 0, b'1'];
        assert_eq!(joliet_name(&j, 0).unwrap(), "café".as_bytes());
        assert!(joliet_name(&[0], 0).is_err());
        assert!(check_name(b"a/b", 0).is_err());
    }
}
