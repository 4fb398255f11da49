//! Stat data items: the 3.5 (32-byte) and 3.6 (44-byte) forms.

use crate::ondisk::{StatDataV1, StatDataV2};
use fsimage_abi::{Error, FileKind, Result, Stat, Timespec};
use zerocopy::FromBytes;

/// An object's stat data, decoded.
#[derive(Debug, Clone)]
pub struct Inode {
    pub id: u64,
    pub mode: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: u32,
    pub mtime: u32,
    pub ctime: u32,
    pub rdev: u32,
}

/// Decodes a stat data body; `v2` is the item's key format (stat_data_v2
/// when ih_version is KEY_FORMAT_3_6).
pub fn decode(body: &[u8], v2: bool, id: u64) -> Result<Inode> {
    let short = || {
        Error::corrupt(format!(
            "object {} {}: stat data of {} bytes",
            id >> 32,
            id & 0xffff_ffff,
            body.len()
        ))
    };
    if v2 {
        let sd = StatDataV2::ref_from_prefix(body).map_err(|_| short())?.0;
        Ok(Inode {
            id,
            mode: sd.sd_mode.get(),
            nlink: sd.sd_nlink.get(),
            uid: sd.sd_uid.get(),
            gid: sd.sd_gid.get(),
            size: sd.sd_size.get(),
            atime: sd.sd_atime.get(),
            mtime: sd.sd_mtime.get(),
            ctime: sd.sd_ctime.get(),
            rdev: sd.sd_rdev.get(),
        })
    } else {
        let sd = StatDataV1::ref_from_prefix(body).map_err(|_| short())?.0;
        Ok(Inode {
            id,
            mode: sd.sd_mode.get(),
            nlink: u32::from(sd.sd_nlink.get()),
            uid: u32::from(sd.sd_uid.get()),
            gid: u32::from(sd.sd_gid.get()),
            size: u64::from(sd.sd_size.get()),
            atime: sd.sd_atime.get(),
            mtime: sd.sd_mtime.get(),
            ctime: sd.sd_ctime.get(),
            rdev: sd.sd_rdev.get(),
        })
    }
}

impl Inode {
    pub fn kind(&self) -> FileKind {
        FileKind::from_mode(u32::from(self.mode))
    }

    /// Device number (the kernel's new_decode_dev of sd_rdev) in the Linux
    /// `makedev` layout.
    fn rdev(&self) -> u64 {
        let d = self.rdev;
        let major = u64::from((d & 0xfff00) >> 8);
        let minor = u64::from((d & 0xff) | ((d >> 12) & 0xfff00));
        (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
    }

    pub fn stat(&self) -> Stat {
        let kind = self.kind();
        let t = |s: u32| Timespec {
            sec: i64::from(s),
            nsec: 0,
        };
        let mut st = Stat::new(self.id, kind, self.size);
        st.perm = u32::from(self.mode) & 0o7777;
        st.uid = self.uid;
        st.gid = self.gid;
        st.nlink = u64::from(self.nlink);
        st.atime = t(self.atime);
        st.mtime = t(self.mtime);
        st.ctime = t(self.ctime);
        if matches!(kind, FileKind::CharDevice | FileKind::BlockDevice) {
            st.rdev = self.rdev();
        }
        st
    }
}
