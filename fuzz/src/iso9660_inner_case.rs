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

/// zisofs decompression: never more than the file's size.
pub fn zisofs(data: &[u8]) {
    let Ok(out) = fuzzing::zisofs(data, MAX_ZISOFS_OUT) else {
        return;
    };
    let size = data
        .get(2..6)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    assert!(
        out.len() as u64 <= u64::from(size),
        "more bytes than the file holds"
    );
}
