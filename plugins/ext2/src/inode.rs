//! Inodes (ext4 disk layout, "Inode Table" / "Index Nodes").

use crate::csum;
use fsimage_abi::{Error, FileKind, Result, Stat, Timespec};
use zerocopy::little_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// `struct ext4_inode` up to `i_projid` (160 bytes); larger inodes carry
/// extended attributes after `128 + i_extra_isize`.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone)]
#[repr(C)]
pub struct Ext4Inode {
    pub i_mode: U16,
    pub i_uid: U16,
    pub i_size_lo: U32,
    pub i_atime: U32,
    pub i_ctime: U32,
    pub i_mtime: U32,
    pub i_dtime: U32,
    pub i_gid: U16,
    pub i_links_count: U16,
    pub i_blocks_lo: U32,
    pub i_flags: U32,
    pub l_i_version: U32,
    pub i_block: [u8; 60],
    pub i_generation: U32,
    pub i_file_acl_lo: U32,
    pub i_size_high: U32,
    pub i_obso_faddr: U32,
    // osd2, Linux flavour.
    pub l_i_blocks_high: U16,
    pub l_i_file_acl_high: U16,
    pub l_i_uid_high: U16,
    pub l_i_gid_high: U16,
    pub l_i_checksum_lo: U16,
    pub l_i_reserved: U16,
    // Large inodes (s_inode_size > 128), present up to 128 + i_extra_isize.
    pub i_extra_isize: U16,
    pub i_checksum_hi: U16,
    pub i_ctime_extra: U32,
    pub i_mtime_extra: U32,
    pub i_atime_extra: U32,
    pub i_crtime: U32,
    pub i_crtime_extra: U32,
    pub i_version_hi: U32,
    pub i_projid: U32,
}

const INODE_STRUCT: usize = std::mem::size_of::<Ext4Inode>();
const GOOD_OLD_INODE_SIZE: usize = 128;
const L_I_CHECKSUM_LO: usize = 0x7C;
const I_CHECKSUM_HI: usize = 0x82;

// i_flags
pub const EXT4_INDEX_FL: u32 = 0x1000;
pub const EXT4_EXTENTS_FL: u32 = 0x80000;
pub const EXT4_INLINE_DATA_FL: u32 = 0x10000000;
pub const EXT4_CASEFOLD_FL: u32 = 0x40000000;

/// One inode as read from the table.
pub struct Inode {
    pub ino: u32,
    pub d: Ext4Inode,
    /// The whole on-disk inode (`s_inode_size` bytes).
    pub raw: Vec<u8>,
}

impl Inode {
    /// Decodes inode `ino` from its raw bytes; with `seed`, verifies its
    /// metadata_csum.
    pub fn parse(ino: u32, raw: Vec<u8>, seed: Option<u32>) -> Result<Inode> {
        let mut head = [0u8; INODE_STRUCT];
        let n = raw.len().min(INODE_STRUCT);
        head[..n].copy_from_slice(&raw[..n]);
        let Ok(mut d) = Ext4Inode::read_from_bytes(&head[..]) else {
            return Err(Error::corrupt(format!("inode {ino}: bad size")));
        };
        let extra = usize::from(d.i_extra_isize.get());
        if raw.len() > GOOD_OLD_INODE_SIZE {
            if GOOD_OLD_INODE_SIZE + extra > raw.len() || extra % 4 != 0 {
                return Err(Error::corrupt(format!(
                    "inode {ino}: i_extra_isize {extra} invalid"
                )));
            }
            // Fields past i_extra_isize are not part of this inode.
            let mut bytes = head;
            bytes[GOOD_OLD_INODE_SIZE + extra.min(INODE_STRUCT - GOOD_OLD_INODE_SIZE)..].fill(0);
            if let Ok(v) = Ext4Inode::read_from_bytes(&bytes[..]) {
                d = v;
            }
        } else {
            d.i_extra_isize.set(0);
        }
        let inode = Inode { ino, d, raw };
        if let Some(seed) = seed {
            inode.verify(seed)?;
        }
        Ok(inode)
    }

    fn has_checksum_hi(&self) -> bool {
        self.raw.len() > GOOD_OLD_INODE_SIZE && usize::from(self.d.i_extra_isize.get()) >= 4
    }

    fn verify(&self, fs_seed: u32) -> Result<()> {
        let seed = csum::inode_seed(fs_seed, self.ino, self.d.i_generation.get());
        let hi = self.has_checksum_hi();
        let r = &self.raw;
        let mut c = csum::chksum(seed, &r[..L_I_CHECKSUM_LO]);
        c = csum::chksum(c, &[0, 0]);
        c = csum::chksum(c, &r[L_I_CHECKSUM_LO + 2..GOOD_OLD_INODE_SIZE]);
        if r.len() > GOOD_OLD_INODE_SIZE {
            c = csum::chksum(c, &r[GOOD_OLD_INODE_SIZE..I_CHECKSUM_HI]);
            if hi {
                c = csum::chksum(c, &[0, 0]);
                c = csum::chksum(c, &r[I_CHECKSUM_HI + 2..]);
            } else {
                c = csum::chksum(c, &r[I_CHECKSUM_HI..]);
            }
        }
        let mut stored = u32::from(self.d.l_i_checksum_lo.get());
        if hi {
            stored |= u32::from(self.d.i_checksum_hi.get()) << 16;
        } else {
            c &= 0xFFFF;
        }
        if c != stored {
            return Err(Error::corrupt(format!(
                "inode {}: checksum {c:#010x} != stored {stored:#010x}",
                self.ino
            )));
        }
        Ok(())
    }

    pub fn mode(&self) -> u32 {
        u32::from(self.d.i_mode.get())
    }
    pub fn kind(&self) -> FileKind {
        FileKind::from_mode(self.mode())
    }
    pub fn flags(&self) -> u32 {
        self.d.i_flags.get()
    }
    pub fn has_flag(&self, f: u32) -> bool {
        self.flags() & f != 0
    }
    pub fn size(&self) -> u64 {
        u64::from(self.d.i_size_lo.get()) | (u64::from(self.d.i_size_high.get()) << 32)
    }
    /// The 60 bytes of `i_block`.
    pub fn i_block(&self) -> &[u8; 60] {
        &self.d.i_block
    }
    /// Seed for the checksums of blocks owned by this inode.
    pub fn csum_seed(&self, fs_seed: u32) -> u32 {
        csum::inode_seed(fs_seed, self.ino, self.d.i_generation.get())
    }

    fn time(&self, base: u32, extra: Option<u32>) -> Timespec {
        // Seconds are signed 32-bit; the extra word adds two epoch bits and
        // nanoseconds in its upper 30 bits.
        let mut sec = i64::from(base as i32);
        let mut nsec = 0;
        if let Some(x) = extra {
            sec += i64::from(x & 3) << 32;
            nsec = (x >> 2).min(999_999_999);
        }
        Timespec { sec, nsec }
    }

    fn extra_has(&self, end_offset: usize) -> bool {
        GOOD_OLD_INODE_SIZE + usize::from(self.d.i_extra_isize.get()) >= end_offset
    }

    pub fn stat(&self) -> Stat {
        let d = &self.d;
        let kind = self.kind();
        let mut st = Stat::new(u64::from(self.ino), kind, self.size());
        st.perm = self.mode() & 0o7777;
        st.uid = u32::from(d.i_uid.get()) | (u32::from(d.l_i_uid_high.get()) << 16);
        st.gid = u32::from(d.i_gid.get()) | (u32::from(d.l_i_gid_high.get()) << 16);
        st.nlink = u64::from(d.i_links_count.get());
        let ex = |present: bool, v: &U32| present.then(|| v.get());
        st.ctime = self.time(d.i_ctime.get(), ex(self.extra_has(0x88), &d.i_ctime_extra));
        st.mtime = self.time(d.i_mtime.get(), ex(self.extra_has(0x8C), &d.i_mtime_extra));
        st.atime = self.time(d.i_atime.get(), ex(self.extra_has(0x90), &d.i_atime_extra));
        if matches!(kind, FileKind::CharDevice | FileKind::BlockDevice) {
            st.rdev = self.rdev();
        }
        st
    }

    /// Device number: old 16-bit encoding in i_block[0], new one in i_block[1];
    /// returned in the Linux `makedev` layout.
    fn rdev(&self) -> u64 {
        let w = |i: usize| {
            let b = &self.d.i_block[i * 4..i * 4 + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let (major, minor) = if w(0) != 0 {
            let old = w(0);
            ((old >> 8) & 0xFF, old & 0xFF)
        } else {
            let new = w(1);
            ((new & 0xFFF00) >> 8, (new & 0xFF) | ((new >> 12) & 0xFFF00))
        };
        let (major, minor) = (u64::from(major), u64::from(minor));
        (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & !0xFF) << 12) | ((major & !0xFFF) << 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_inode(size: usize, f: impl FnOnce(&mut [u8])) -> Inode {
        let mut raw = vec![0u8; size];
        raw[0..2].copy_from_slice(&0o20644u16.to_le_bytes()); // char device
        if size > 128 {
            raw[0x80..0x82].copy_from_slice(&32u16.to_le_bytes());
        }
        f(&mut raw);
        Inode::parse(12, raw, None).unwrap()
    }

    #[test]
    fn times_use_epoch_bits_and_nanoseconds() {
        let i = raw_inode(256, |r| {
            r[0x10..0x14].copy_from_slice(&0x8000_0000u32.to_le_bytes()); // mtime
            r[0x88..0x8C].copy_from_slice(&((123u32 << 2) | 1).to_le_bytes());
            r[0x0C..0x10].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes()); // ctime -1
        });
        let st = i.stat();
        assert_eq!(st.mtime.sec, (1i64 << 31));
        assert_eq!(st.mtime.nsec, 123);
        assert_eq!(st.ctime.sec, -1);
        // 128-byte inodes have no extra fields: plain signed seconds.
        let i = raw_inode(128, |r| {
            r[0x10..0x14].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        });
        assert_eq!(i.stat().mtime.sec, -(1i64 << 31));
    }

    #[test]
    fn ids_sizes_and_device_numbers() {
        let i = raw_inode(256, |r| {
            r[0x02..0x04].copy_from_slice(&1000u16.to_le_bytes());
            r[0x78..0x7A].copy_from_slice(&2u16.to_le_bytes()); // uid high
            r[0x7A..0x7C].copy_from_slice(&3u16.to_le_bytes()); // gid high
            r[0x04..0x08].copy_from_slice(&5u32.to_le_bytes());
            r[0x6C..0x70].copy_from_slice(&1u32.to_le_bytes());
            // New-style device number 259:70000 in i_block[1].
            let (ma, mi) = (259u32, 70000u32);
            let new = (mi & 0xFF) | (ma << 8) | ((mi & !0xFF) << 12);
            r[0x2C..0x30].copy_from_slice(&new.to_le_bytes());
        });
        let st = i.stat();
        assert_eq!(st.uid, 1000 | (2 << 16));
        assert_eq!(st.gid, 3 << 16);
        assert_eq!(st.size, (1u64 << 32) + 5);
        assert_eq!(st.kind, FileKind::CharDevice);
        // Linux makedev(259, 70000).
        let (ma, mi) = (259u64, 70000u64);
        assert_eq!(
            st.rdev,
            (mi & 0xFF) | ((ma & 0xFFF) << 8) | ((mi & !0xFF) << 12)
        );
    }

    #[test]
    fn bad_extra_isize_is_corrupt() {
        let mut raw = vec![0u8; 256];
        raw[0x80..0x82].copy_from_slice(&200u16.to_le_bytes());
        assert!(matches!(Inode::parse(5, raw, None), Err(Error::Corrupt(_))));
    }
}
