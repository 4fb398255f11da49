//! Keys in their cpu form: both on-disk key formats decoded to
//! (dir_id, objectid, offset, type), ordered as the kernel's comp_keys does.

use crate::ondisk::RawKey;

/// reiserfs.h item types (TYPE_*).
pub const TYPE_STAT_DATA: u8 = 0;
pub const TYPE_INDIRECT: u8 = 1;
pub const TYPE_DIRECT: u8 = 2;
pub const TYPE_DIRENTRY: u8 = 3;
pub const TYPE_ANY: u8 = 15;

/// 3.5-format keys keep the type in k_uniqueness (V1_*_UNIQUENESS).
const V1_SD_UNIQUENESS: u32 = 0;
const V1_INDIRECT_UNIQUENESS: u32 = 0xffff_fffe;
const V1_DIRECT_UNIQUENESS: u32 = 0xffff_ffff;
const V1_DIRENTRY_UNIQUENESS: u32 = 500;

/// A decoded key. Field order is comparison order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub dir_id: u32,
    pub objectid: u32,
    pub offset: u64,
    pub ty: u8,
}

impl Key {
    pub const fn new(dir_id: u32, objectid: u32, offset: u64, ty: u8) -> Key {
        Key {
            dir_id,
            objectid,
            offset,
            ty,
        }
    }

    /// Decodes a key whose format is known (an item head's ih_version:
    /// KEY_FORMAT_3_5 = v1, KEY_FORMAT_3_6 = v2).
    pub fn decode(raw: &RawKey, v2: bool) -> Key {
        let v = raw.k_offset.get();
        let (offset, ty) = if v2 {
            let t = (v >> 60) as u8;
            (
                v & (u64::MAX >> 4),
                if t <= TYPE_DIRENTRY { t } else { TYPE_ANY },
            )
        } else {
            // offset_v1: k_offset in the low word, k_uniqueness in the high.
            let ty = match (v >> 32) as u32 {
                V1_SD_UNIQUENESS => TYPE_STAT_DATA,
                V1_INDIRECT_UNIQUENESS => TYPE_INDIRECT,
                V1_DIRECT_UNIQUENESS => TYPE_DIRECT,
                V1_DIRENTRY_UNIQUENESS => TYPE_DIRENTRY,
                _ => TYPE_ANY,
            };
            (v & 0xffff_ffff, ty)
        };
        Key::new(raw.k_dir_id.get(), raw.k_objectid.get(), offset, ty)
    }

    /// Decodes a key of unknown format (internal nodes, the kernel's
    /// le_key_version): a v2 type field of indirect, direct or direntry
    /// means v2; anything else reads as v1.
    pub fn decode_guess(raw: &RawKey) -> Key {
        let t = (raw.k_offset.get() >> 60) as u8;
        let v2 = matches!(t, TYPE_INDIRECT | TYPE_DIRECT | TYPE_DIRENTRY);
        Key::decode(raw, v2)
    }

    /// The object the key belongs to, as the plugin's 64-bit id.
    pub fn object(&self) -> u64 {
        (u64::from(self.dir_id) << 32) | u64::from(self.objectid)
    }

    pub fn same_object(&self, other: &Key) -> bool {
        self.dir_id == other.dir_id && self.objectid == other.objectid
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{} {} {} {}]",
            self.dir_id, self.objectid, self.offset, self.ty
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromBytes;

    fn raw(dir: u32, obj: u32, v: u64) -> RawKey {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&dir.to_le_bytes());
        b[4..8].copy_from_slice(&obj.to_le_bytes());
        b[8..].copy_from_slice(&v.to_le_bytes());
        RawKey::read_from_bytes(&b).unwrap()
    }

    #[test]
    fn both_formats() {
        let k = Key::decode(&raw(1, 2, (500u64 << 32) | 1), false);
        assert_eq!(k, Key::new(1, 2, 1, TYPE_DIRENTRY));
        let k = Key::decode(&raw(1, 2, (3u64 << 60) | 7), true);
        assert_eq!(k, Key::new(1, 2, 7, TYPE_DIRENTRY));
        assert_eq!(
            Key::decode_guess(&raw(1, 2, (500u64 << 32) | 1)).ty,
            TYPE_DIRENTRY
        );
        assert_eq!(
            Key::decode_guess(&raw(1, 2, (1u64 << 60) | 4097)).ty,
            TYPE_INDIRECT
        );
        assert_eq!(
            Key::decode_guess(&raw(1, 2, (0xffff_fffeu64 << 32) | 1)),
            Key::new(1, 2, 1, TYPE_INDIRECT)
        );
        assert_eq!(Key::decode(&raw(1, 2, 12u64 << 60), true).ty, TYPE_ANY);
    }
}
