//! metadata_csum checksums: crc32c as the kernel's `ext4_chksum` computes it
//! (no pre- or post-inversion, the seed is the running value).

/// `ext4_chksum(seed, data)`.
pub fn chksum(seed: u32, data: &[u8]) -> u32 {
    // crc32c_append inverts on entry and exit; undo both to get the raw CRC.
    !crc32c::crc32c_append(!seed, data)
}

/// The filesystem-wide seed: `s_checksum_seed` with `csum_seed`, else the
/// CRC of the UUID.
pub fn fs_seed(uuid: &[u8; 16], csum_seed: Option<u32>) -> u32 {
    csum_seed.unwrap_or_else(|| chksum(!0, uuid))
}

/// Per-inode seed used by inode, extent and directory checksums.
pub fn inode_seed(fs_seed: u32, ino: u32, generation: u32) -> u32 {
    let s = chksum(fs_seed, &ino.to_le_bytes());
    chksum(s, &generation.to_le_bytes())
}
