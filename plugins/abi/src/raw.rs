//! The binary ABI: `#[repr(C)]` types and `extern "C"` entry points only, so
//! a plugin can be built by any Rust version, or written in C.
//!
//! A plugin exports one symbol, [`ENTRY_SYMBOL`], of type [`EntryFn`]. It
//! returns a pointer to a static [`PluginVtable`]. The vtable begins with a
//! fixed header (magic, ABI major/minor, the vtable's size as the plugin built
//! it); the core refuses an unknown major and reads only the entries that lie
//! inside the plugin's `vtable_size`, so entries appended by later minor
//! versions are simply absent for older plugins.
//!
//! Conventions, for every call:
//! * Every buffer is owned and sized by the caller; a plugin never returns a
//!   pointer to its own memory (other than the static vtable and strings).
//! * Return value 0 is success; non-zero is an [`crate::ErrorCode`] and the
//!   plugin has filled `*err` (code and UTF-8 message, truncated to fit).
//! * Ids (`u64`) name objects within one mount; the root id comes from `root`.
//! * A mount handle is used from several threads at once: plugins are
//!   thread-safe (the SDK requires `Send + Sync`).
//! * Nothing depends on process-global state, so the same calls run unchanged
//!   inside a sandbox worker process.

use std::ffi::{c_char, c_void};

/// Name of the one symbol a plugin exports (NUL-terminated for dlsym).
pub const ENTRY_SYMBOL: &[u8] = b"fsimage_plugin_entry\0";
/// First field of every vtable: "FSIMGPLG" read as a little-endian u64.
pub const PLUGIN_MAGIC: u64 = u64::from_le_bytes(*b"FSIMGPLG");
/// ABI major version: a core refuses plugins with another major.
pub const ABI_MAJOR: u32 = 1;
/// ABI minor version: appended optional entries bump it.
/// 1.1 added [`PluginVtable::magics`].
pub const ABI_MINOR: u32 = 1;

/// Longest magic a [`RawMagic`] holds.
pub const MAGIC_MAX_LEN: usize = 16;
/// Most magics a plugin may declare; a longer list is ignored (the plugin
/// is then always probed).
pub const MAX_MAGICS: usize = 64;

/// One place a filesystem's magic number may lie (ABI 1.1): `bytes[..len]`
/// at byte `offset` of the first device. As with libblkid's magic tables,
/// the core need not probe a plugin (nor load it into a sandbox worker)
/// when none of its magics is there.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMagic {
    /// Byte offset on the first device.
    pub offset: u64,
    /// Bytes of `bytes` that count, 1 to [`MAGIC_MAX_LEN`].
    pub len: u32,
    /// Zero. The core treats an entry with flags it does not know as
    /// always matching.
    pub flags: u32,
    /// The magic, zero-padded.
    pub bytes: [u8; MAGIC_MAX_LEN],
}

impl RawMagic {
    /// `magic` at `offset`. Longer than [`MAGIC_MAX_LEN`] or empty fails to
    /// compile when used in a constant.
    pub const fn new(offset: u64, magic: &[u8]) -> RawMagic {
        assert!(!magic.is_empty() && magic.len() <= MAGIC_MAX_LEN);
        let mut bytes = [0u8; MAGIC_MAX_LEN];
        let mut i = 0;
        while i < magic.len() {
            bytes[i] = magic[i];
            i += 1;
        }
        RawMagic {
            offset,
            len: magic.len() as u32,
            flags: 0,
            bytes,
        }
    }

    /// The bytes that count (empty if `len` is out of range).
    pub fn magic(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }
}

/// Bytes of message an error carries across the ABI.
pub const ERROR_MSG_LEN: usize = 480;

/// The entry point's type.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginVtable;

/// An error as it crosses the ABI. The caller provides it zeroed.
#[repr(C)]
pub struct RawError {
    /// An [`crate::ErrorCode`] value.
    pub code: u32,
    /// Bytes of `msg` used.
    pub msg_len: u32,
    /// UTF-8 detail text (not NUL-terminated).
    pub msg: [u8; ERROR_MSG_LEN],
}

impl RawError {
    /// An empty (success) error record.
    pub const fn new() -> RawError {
        RawError {
            code: 0,
            msg_len: 0,
            msg: [0; ERROR_MSG_LEN],
        }
    }
}

impl Default for RawError {
    fn default() -> Self {
        RawError::new()
    }
}

/// Reads `len` bytes at `offset` of the source into `buf`. Returns 0 or an
/// error code (filling `err`). The range must lie inside the source.
pub type ReadAtFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    offset: u64,
    buf: *mut u8,
    len: usize,
    err: *mut RawError,
) -> u32;

/// A read-only byte source handed to a plugin (a partition window, one device
/// of a pool). The core keeps `ctx` valid from `probe`/`mount` until `unmount`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RawSource {
    /// Opaque to the plugin.
    pub ctx: *mut c_void,
    /// Size in bytes.
    pub size: u64,
    /// The read callback.
    pub read_at: Option<ReadAtFn>,
}

/// A timestamp.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct RawTimespec {
    /// Seconds since the epoch.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: u32,
    /// Padding, zero.
    pub _pad: u32,
}

/// `stat` output. The caller sets `struct_size` to the size it knows; the
/// plugin writes no byte past it, so fields can be appended later.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct RawStat {
    /// `size_of::<RawStat>()` as the caller was built.
    pub struct_size: u32,
    /// A [`crate::FileKind`] value.
    pub kind: u32,
    /// Object id.
    pub ino: u64,
    /// Permission bits.
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// Link count.
    pub nlink: u64,
    /// Size in bytes.
    pub size: u64,
    /// Device number.
    pub rdev: u64,
    /// Access time.
    pub atime: RawTimespec,
    /// Modification time.
    pub mtime: RawTimespec,
    /// Change time.
    pub ctime: RawTimespec,
}

/// One extent of a file map.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct RawExtent {
    /// First file byte covered.
    pub file_offset: u64,
    /// Bytes covered.
    pub length: u64,
    /// Byte offset on the device ([`crate::ExtentKind::Data`] only).
    pub device_offset: u64,
    /// Device index.
    pub device: u32,
    /// A [`crate::ExtentKind`] value.
    pub kind: u32,
}

/// Directory records in a `read_dir` buffer are packed one after another:
/// `id: u64 LE, kind: u8, reserved: u8, name_len: u16 LE, name bytes`.
pub const DIRENT_HEADER_LEN: usize = 12;
/// `read_dir`'s `next_cookie` when the directory is exhausted.
pub const COOKIE_EOF: u64 = u64::MAX;

/// Opaque mount handle.
pub type FsHandle = *mut c_void;

/// The plugin's table of entry points. Append only: never reorder or remove.
#[repr(C)]
pub struct PluginVtable {
    /// [`PLUGIN_MAGIC`].
    pub magic: u64,
    /// [`ABI_MAJOR`] the plugin was built with.
    pub abi_major: u32,
    /// [`ABI_MINOR`] the plugin was built with.
    pub abi_minor: u32,
    /// `size_of::<PluginVtable>()` as the plugin was built.
    pub vtable_size: u32,
    /// Zero.
    pub _reserved: u32,
    /// Filesystem name ("ext2"), static, NUL-terminated.
    pub name: *const c_char,
    /// Plugin version, static, NUL-terminated.
    pub version: *const c_char,

    /// Cheap check: is this the plugin's filesystem? Sets `*confidence`
    /// (0 = no, 100 = certain). Mandatory.
    pub probe: Option<
        unsafe extern "C" fn(
            sources: *const RawSource,
            nsources: u32,
            confidence: *mut u32,
            err: *mut RawError,
        ) -> u32,
    >,
    /// Mounts with an options string (bytes). Mandatory.
    pub mount: Option<
        unsafe extern "C" fn(
            sources: *const RawSource,
            nsources: u32,
            options: *const u8,
            options_len: usize,
            out_fs: *mut FsHandle,
            err: *mut RawError,
        ) -> u32,
    >,
    /// Frees a mount. Mandatory.
    pub unmount: Option<unsafe extern "C" fn(fs: FsHandle)>,
    /// The root directory's id. Mandatory.
    pub root:
        Option<unsafe extern "C" fn(fs: FsHandle, out_id: *mut u64, err: *mut RawError) -> u32>,
    /// Looks one name up in a directory. Mandatory.
    pub lookup: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            dir: u64,
            name: *const u8,
            name_len: usize,
            out_id: *mut u64,
            err: *mut RawError,
        ) -> u32,
    >,
    /// Stats an object. Mandatory.
    pub stat: Option<
        unsafe extern "C" fn(fs: FsHandle, id: u64, out: *mut RawStat, err: *mut RawError) -> u32,
    >,
    /// Reads file bytes at an offset; `*out_len` < `len` only at end of file. Mandatory.
    pub read: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            id: u64,
            offset: u64,
            buf: *mut u8,
            len: usize,
            out_len: *mut usize,
            err: *mut RawError,
        ) -> u32,
    >,
    /// Streams directory records from `cookie` (0 = start) into `buf`, as many
    /// as fit; `*next_cookie` resumes, [`COOKIE_EOF`] when done. Mandatory.
    pub read_dir: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            dir: u64,
            cookie: u64,
            buf: *mut u8,
            len: usize,
            out_used: *mut usize,
            next_cookie: *mut u64,
            err: *mut RawError,
        ) -> u32,
    >,
    /// Copies a symlink's target into `buf`; `*out_len` is the full length
    /// (larger than `len` means truncated: call again bigger). Mandatory.
    pub read_link: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            id: u64,
            buf: *mut u8,
            len: usize,
            out_len: *mut usize,
            err: *mut RawError,
        ) -> u32,
    >,
    /// Maps a file's bytes from `from` on into at most `max` extents, in file
    /// order and without gaps; `*out_n` 0 means past the end. Optional.
    pub extents: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            id: u64,
            from: u64,
            out: *mut RawExtent,
            max: usize,
            out_n: *mut usize,
            err: *mut RawError,
        ) -> u32,
    >,
    /// The boot string (ZFS: "zfs-bootfs=pool/obj,bootpath=..."); `*out_len`
    /// 0 when there is none, else as for `read_link`. Optional.
    pub bootstring: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            buf: *mut u8,
            len: usize,
            out_len: *mut usize,
            err: *mut RawError,
        ) -> u32,
    >,
    /// The volume label, as for `bootstring`. Optional.
    pub label: Option<
        unsafe extern "C" fn(
            fs: FsHandle,
            buf: *mut u8,
            len: usize,
            out_len: *mut usize,
            err: *mut RawError,
        ) -> u32,
    >,

    // ABI 1.1.
    /// Static array of the places the filesystem's magic may lie, or null.
    /// A plugin that declares magics promises that `probe` answers 0 when
    /// none of them matches the first device, so the core skips the probe
    /// then. Null (or `nmagics` 0): always probed.
    pub magics: *const RawMagic,
    /// Entries in `magics`, at most [`MAX_MAGICS`].
    pub nmagics: usize,
}

// SAFETY: the vtable is immutable static data (function pointers and pointers
// to static NUL-terminated strings), so sharing it between threads is sound.
unsafe impl Sync for PluginVtable {}
// SAFETY: as above; it holds no thread-affine state.
unsafe impl Send for PluginVtable {}

/// Names of the entries a plugin must provide.
pub const MANDATORY_ENTRIES: &[&str] = &[
    "probe",
    "mount",
    "unmount",
    "root",
    "lookup",
    "stat",
    "read",
    "read_dir",
    "read_link",
];
