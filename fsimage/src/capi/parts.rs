//! The partition table of an image, for C callers.

use super::classic::handle;
use super::{CError, c_path, guard, to_cstring};
use crate::FileImage;
use crate::disk::{self, Validity};
use std::ffi::{CString, c_char};
use std::ptr;

/// `fsi_partition_t.flags`: marked active (MBR) or legacy-BIOS bootable
/// (GPT).
pub const FSI_PART_BOOTABLE: u32 = 1;
/// `fsi_partition_t.flags`: the entry lies outside its container (or is
/// otherwise unusable); `invalid_reason` says why.
pub const FSI_PART_INVALID: u32 = 2;

/// One partition or slice, owned by its `fsi_partitions_t`. Read only the
/// fields that `struct_size` covers.
#[repr(C)]
pub struct fsi_partition_t {
    /// Bytes of this struct the library filled in.
    pub struct_size: u32,
    /// `FSI_PART_*` bits.
    pub flags: u32,
    /// First byte, from the start of the image.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// GPT attribute bits (0 for other schemes).
    pub attributes: u64,
    /// Id to open it by (`fsi_open_options_t.partition`): `"1"`, `"5"`,
    /// `"1.0"` (slice 0 of a VTOC in fdisk partition 1), `"s0"` (a Sun label
    /// slice), `"0"` (the whole disk: listed only when there is no table, but
    /// it always opens by id).
    pub id: *const c_char,
    /// The structure it came from: `"disk"`, `"mbr"`, `"ebr"`, `"gpt"`,
    /// `"vtoc"`, `"sun"`.
    pub scheme: *const c_char,
    /// The type as the table spells it: `"0x83"`, a GUID, a VTOC tag name.
    pub type_code: *const c_char,
    /// A human description of the type (`"Linux"`, `"EFI System"`).
    pub type_name: *const c_char,
    /// GPT partition name, or NULL.
    pub name: *const c_char,
    /// For a VTOC slice, the id of the fdisk partition holding it, or NULL.
    pub parent: *const c_char,
    /// Why the entry is unusable (with `FSI_PART_INVALID`), or NULL.
    pub invalid_reason: *const c_char,
}

/// A partition table (opaque), from `fsi_list_partitions`.
pub struct fsi_partitions {
    table: CString,
    entries: Vec<fsi_partition_t>,
    /// Owns every string the entries point to (a `CString`'s bytes never
    /// move, however this vector grows).
    strings: Vec<CString>,
}

/// A partition table.
pub type fsi_partitions_t = fsi_partitions;

impl fsi_partitions {
    fn keep(&mut self, s: &str) -> *const c_char {
        let c = to_cstring(s.as_bytes());
        let p = c.as_ptr();
        self.strings.push(c);
        p
    }

    fn keep_opt(&mut self, s: Option<&str>) -> *const c_char {
        s.map_or(ptr::null(), |s| self.keep(s))
    }
}

/// Reads the partition table of the image file `path` (MBR with logical
/// partitions, GPT, Solaris VTOC, Sun label; an image without a table has
/// one entry, id `"0"`, the whole disk). NULL with errno (ENOENT, EIO for
/// an unreadable table) on failure. Free it with `fsi_partitions_free`.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_list_partitions(path: *const c_char) -> *mut fsi_partitions_t {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes a C string.
        let path = unsafe { c_path(path, "image path")? };
        let image = FileImage::open(path).map_err(|source| crate::Error::Open {
            image: path.to_path_buf(),
            source,
        })?;
        let layout = disk::parse(&image)
            .map_err(|e| CError::new(libc::EIO, format!("{}: {e}", path.display())))?;
        let mut out = fsi_partitions {
            table: to_cstring(layout.table.as_str().as_bytes()),
            entries: Vec::new(),
            strings: Vec::new(),
        };
        for p in &layout.partitions {
            let mut flags = 0;
            if p.bootable {
                flags |= FSI_PART_BOOTABLE;
            }
            let reason = match &p.validity {
                Validity::Valid => None,
                Validity::Invalid(r) => {
                    flags |= FSI_PART_INVALID;
                    Some(r.as_str())
                }
            };
            let entry = fsi_partition_t {
                struct_size: std::mem::size_of::<fsi_partition_t>() as u32,
                flags,
                start: p.start,
                size: p.size,
                attributes: p.attributes,
                id: out.keep(&p.id),
                scheme: out.keep(p.scheme.as_str()),
                type_code: out.keep(&p.ptype.code()),
                type_name: out.keep(&p.ptype.description()),
                name: out.keep_opt(p.name.as_deref()),
                parent: out.keep_opt(p.parent.as_deref()),
                invalid_reason: out.keep_opt(reason),
            };
            out.entries.push(entry);
        }
        Ok(Box::into_raw(Box::new(out)))
    })
}

/// The kind of table: `"none"`, `"mbr"`, `"gpt"` or `"sun"`.
///
/// # Safety
/// `parts` is NULL or a live table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_partitions_table(parts: *const fsi_partitions_t) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: the caller passes a live table.
        Ok(unsafe { handle(parts, "parts")? }.table.as_ptr())
    })
}

/// Number of entries (0 for NULL).
///
/// # Safety
/// `parts` is NULL or a live table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_partitions_count(parts: *const fsi_partitions_t) -> usize {
    guard(0, || {
        // SAFETY: the caller passes a live table.
        Ok(unsafe { handle(parts, "parts")? }.entries.len())
    })
}

/// Entry `index` (in table order), or NULL with errno EINVAL past the end.
/// Valid until `fsi_partitions_free`.
///
/// # Safety
/// `parts` is NULL or a live table.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_partitions_get(
    parts: *const fsi_partitions_t,
    index: usize,
) -> *const fsi_partition_t {
    guard(ptr::null(), || {
        // SAFETY: the caller passes a live table.
        let parts = unsafe { handle(parts, "parts")? };
        parts
            .entries
            .get(index)
            .map(|e| e as *const fsi_partition_t)
            .ok_or_else(|| {
                CError::invalid(format!(
                    "partition index {index} >= {}",
                    parts.entries.len()
                ))
            })
    })
}

/// Frees a table (NULL is ignored).
///
/// # Safety
/// `parts` is NULL or a table not freed before, unused after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_partitions_free(parts: *mut fsi_partitions_t) {
    guard((), || {
        if !parts.is_null() {
            // SAFETY: the caller hands back ownership of a table we boxed.
            drop(unsafe { Box::from_raw(parts) });
        }
        Ok(())
    })
}

super::symver!(
    fsi_list_partitions,
    fsi_partitions_table,
    fsi_partitions_count,
    fsi_partitions_get,
    fsi_partitions_free,
);
