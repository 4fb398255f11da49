//! What the `iso9660_susp` and `zisofs` targets do with one input (formats
//! of `fsimage_plugin_iso9660::fuzzing`). Included by the targets and by
//! `plugins/iso9660/tests/fuzz_regressions.rs`.

use fsimage_plugin_iso9660::fuzzing;

/// Decompressed bytes asked of one zisofs input.
const MAX_ZISOFS_OUT: u64 = 1 << 20;

/// SUSP/Rock Ridge parse with CE continuation areas.
pub fn susp(data: &[u8]) {
    let _ = fuzzing::susp(data);
}

/// zisofs and zisofs2 decompression of the same input (each reads its own
/// header layout): never more than the file's size.
pub fn zisofs(data: &[u8]) {
    if let Ok(out) = fuzzing::zisofs(data, MAX_ZISOFS_OUT) {
        let size = data
            .get(2..6)
            .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        assert!(
            out.len() as u64 <= u64::from(size),
            "more bytes than the file holds"
        );
    }
    if let Ok(out) = fuzzing::zisofs2(data, MAX_ZISOFS_OUT) {
        let size = data.get(2..10).map_or(0, |s| {
            let mut b = [0u8; 8];
            b.copy_from_slice(s);
            u64::from_le_bytes(b)
        });
        assert!(
            out.len() as u64 <= size,
            "more bytes than the zisofs2 file holds"
        );
    }
}
