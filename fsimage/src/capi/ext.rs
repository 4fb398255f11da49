//! The extended C calls: new names, versioned structs.
//!
//! Versioning: every struct starts with `struct_size`. A struct the caller
//! passes in is read only up to the size it states; fields past it count as
//! zero, and zero always means "default", so a caller built against an
//! older header keeps working. A struct the library fills in is written
//! only up to the caller's size, and `struct_size` is set to the bytes
//! written. A struct the library hands out states its own size.

use super::classic::{fsi, fsi_t, handle};
use super::{
    CError, c_bytes, c_opt_bytes, c_path, discover, guard, last_error_ptr, shared_registry,
    to_cstring,
};
use crate::{FileKind, Metadata, OpenOptions, ReadDir};
use std::ffi::{CString, c_char, c_int};
use std::path::Path;
use std::ptr;
use std::sync::Mutex;
use std::time::Duration;

/// `fsi_open_options_t.flags`: mount the filesystem at `offset` (otherwise
/// `partition`, or the root filesystem as pygrub would choose it).
pub const FSI_OPEN_OFFSET: u32 = 1;
/// `fsi_open_options_t.flags`: run the plugin in this process, without the
/// sandbox worker.
pub const FSI_OPEN_NO_SANDBOX: u32 = 2;

/// Object kinds (`fsi_stat_t.kind`, `fsi_dirent_t.kind`).
pub const FSI_KIND_UNKNOWN: u32 = 0;
/// Regular file.
pub const FSI_KIND_FILE: u32 = 1;
/// Directory.
pub const FSI_KIND_DIR: u32 = 2;
/// Symbolic link.
pub const FSI_KIND_SYMLINK: u32 = 3;
/// Character device.
pub const FSI_KIND_CHAR: u32 = 4;
/// Block device.
pub const FSI_KIND_BLOCK: u32 = 5;
/// Named pipe.
pub const FSI_KIND_FIFO: u32 = 6;
/// Unix socket.
pub const FSI_KIND_SOCKET: u32 = 7;

/// How to open an image (`fsi_open_image`). Zero-initialise it, set
/// `struct_size = sizeof(fsi_open_options_t)`, then the fields you need;
/// every zero field means "default".
#[repr(C)]
pub struct fsi_open_options_t {
    /// `sizeof(fsi_open_options_t)` as the caller was compiled with.
    pub struct_size: u32,
    /// `FSI_OPEN_*` bits.
    pub flags: u32,
    /// Byte offset of the filesystem in the image (with `FSI_OPEN_OFFSET`).
    pub offset: u64,
    /// Partition id as `fsimage-ls --partitions` prints it (`"1"`, `"5"`,
    /// `"1.0"` for slice 0 of a Solaris VTOC in fdisk partition 1, `"s0"`
    /// for a Sun label slice, `"0"` for the whole disk), or NULL.
    pub partition: *const c_char,
    /// Filesystem (plugin) name to use without probing, e.g. `"ext2"`, or
    /// NULL to probe.
    pub fs_name: *const c_char,
    /// Options string for the plugin (a ZFS dataset, `journal=replay`...),
    /// or NULL.
    pub options: *const c_char,
    /// Directory searched for plugins before the default places, or NULL.
    pub plugin_dir: *const c_char,
    /// The sandbox worker executable, or NULL to search for it (beside the
    /// plugins, `$FSIMAGE_WORKER`, ...).
    pub worker_path: *const c_char,
    /// Address-space limit of the sandbox worker in bytes (0: the default,
    /// 1 GiB).
    pub memory_limit: u64,
    /// Deadline in milliseconds for each call into the sandboxed plugin (0:
    /// the default, 5 s).
    pub timeout_ms: u32,
    /// CPU time limit of the sandbox worker in seconds (0: the default,
    /// 120 s).
    pub cpu_limit_s: u32,
}

/// What `fsi_stat`/`fsi_lstat` say of an object. Set `struct_size` to
/// `sizeof(fsi_stat_t)` before the call; it is set to the bytes filled in.
#[repr(C)]
pub struct fsi_stat_t {
    /// In: the caller's `sizeof(fsi_stat_t)`. Out: bytes filled in.
    pub struct_size: u32,
    /// `FSI_KIND_*`.
    pub kind: u32,
    /// `st_mode`: type bits and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Zero.
    pub reserved: u32,
    /// Inode / object number.
    pub ino: u64,
    /// Link count.
    pub nlink: u64,
    /// Size in bytes (a symlink: its target's length).
    pub size: u64,
    /// Device number of a character or block device.
    pub rdev: u64,
    /// Last access, seconds since the epoch.
    pub atime_sec: i64,
    /// Last modification, seconds since the epoch.
    pub mtime_sec: i64,
    /// Last status change, seconds since the epoch.
    pub ctime_sec: i64,
    /// Nanoseconds of `atime_sec`.
    pub atime_nsec: u32,
    /// Nanoseconds of `mtime_sec`.
    pub mtime_nsec: u32,
    /// Nanoseconds of `ctime_sec`.
    pub ctime_nsec: u32,
    /// Zero.
    pub reserved2: u32,
}

/// One directory entry, owned by its directory stream: valid until the next
/// `fsi_readdir` or `fsi_closedir` on it.
#[repr(C)]
pub struct fsi_dirent_t {
    /// Bytes of this struct the library filled in.
    pub struct_size: u32,
    /// `FSI_KIND_*` as the directory records it (may be `FSI_KIND_UNKNOWN`;
    /// `fsi_lstat` knows).
    pub kind: u32,
    /// Inode / object number.
    pub ino: u64,
    /// The name as stored, NUL-terminated.
    pub name: *const c_char,
    /// Length of `name` in bytes, without the NUL.
    pub name_len: usize,
}

/// A directory stream (opaque). Use it from one thread at a time; it keeps
/// its image open.
pub struct fsi_dir {
    inner: Mutex<DirState>,
}

/// A directory stream.
pub type fsi_dir_t = fsi_dir;

struct DirState {
    iter: ReadDir,
    name: CString,
    entry: fsi_dirent_t,
}

fn kind_code(k: FileKind) -> u32 {
    match k {
        FileKind::Unknown => FSI_KIND_UNKNOWN,
        FileKind::File => FSI_KIND_FILE,
        FileKind::Dir => FSI_KIND_DIR,
        FileKind::Symlink => FSI_KIND_SYMLINK,
        FileKind::CharDevice => FSI_KIND_CHAR,
        FileKind::BlockDevice => FSI_KIND_BLOCK,
        FileKind::Fifo => FSI_KIND_FIFO,
        FileKind::Socket => FSI_KIND_SOCKET,
    }
}

/// This library's version, e.g. `"0.1.0"`.
#[unsafe(no_mangle)]
pub extern "C" fn fsi_version() -> *const c_char {
    static V: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"",
    };
    V.as_ptr()
}

/// What went wrong in the last failed `fsi_*` call on this thread, as the
/// library says it (`"disk.img: ext2: /boot/x: no such file"`); `""` if none
/// failed yet. Valid until the next failing call on this thread. Not
/// cleared by successful calls: look at it right after a failure.
#[unsafe(no_mangle)]
pub extern "C" fn fsi_last_error() -> *const c_char {
    last_error_ptr()
}

fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, CError> {
    std::str::from_utf8(b).map_err(|_| CError::invalid(format!("{what} is not UTF-8")))
}

/// Reads a caller's options struct: zero past its stated size, refused if
/// it is too small or sets bytes this library does not know.
///
/// # Safety
/// `p` points to at least `struct_size` readable bytes.
unsafe fn read_options(p: *const fsi_open_options_t) -> Result<fsi_open_options_t, CError> {
    const OURS: usize = std::mem::size_of::<fsi_open_options_t>();
    // SAFETY: every struct begins with its u32 size; the caller guarantees
    // it is readable.
    let size = unsafe { ptr::read_unaligned(p.cast::<u32>()) } as usize;
    if size < 8 {
        return Err(CError::invalid(format!(
            "fsi_open_options_t.struct_size {size} is too small"
        )));
    }
    let base = p.cast::<u8>();
    if size > OURS {
        // A newer caller: fine as long as the fields we do not know are
        // left at zero.
        // SAFETY: the caller states `size` readable bytes.
        let extra = unsafe { std::slice::from_raw_parts(base.add(OURS), size - OURS) };
        if extra.iter().any(|&b| b != 0) {
            return Err(CError::invalid(
                "fsi_open_options_t sets fields this library does not know",
            ));
        }
    }
    let mut out = std::mem::MaybeUninit::<fsi_open_options_t>::zeroed();
    // SAFETY: copies at most our size of the caller's readable bytes into a
    // zeroed struct of integers and raw pointers, for which any bytes are
    // valid.
    unsafe {
        ptr::copy_nonoverlapping(base, out.as_mut_ptr().cast::<u8>(), size.min(OURS));
        Ok(out.assume_init())
    }
}

/// Opens an image with options (NULL for all defaults: the root filesystem
/// chosen as pygrub would, sandboxed plugins). NULL with errno and
/// `fsi_last_error()` on failure; the handle is used and closed as one from
/// `fsi_open_fsimage`.
///
/// # Safety
/// `path` is a NUL-terminated string; `opts` is NULL or points to
/// `opts->struct_size` readable bytes whose string fields are NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_open_image(
    path: *const c_char,
    opts: *const fsi_open_options_t,
) -> *mut fsi_t {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes a C string.
        let path = unsafe { c_path(path, "image path")? };
        let mut o = OpenOptions::new();
        let mut registry = None;
        if !opts.is_null() {
            // SAFETY: the caller states the struct's readable size.
            let opt = unsafe { read_options(opts)? };
            if opt.flags & !(FSI_OPEN_OFFSET | FSI_OPEN_NO_SANDBOX) != 0 {
                return Err(CError::invalid(format!(
                    "unknown fsi_open_options_t.flags {:#x}",
                    opt.flags
                )));
            }
            if opt.flags & FSI_OPEN_OFFSET != 0 {
                o.offset(opt.offset);
            }
            // SAFETY: the caller passes NULL or C strings in these fields.
            let (partition, fs_name, options, plugin_dir, worker) = unsafe {
                (
                    c_opt_bytes(opt.partition),
                    c_opt_bytes(opt.fs_name),
                    c_opt_bytes(opt.options),
                    c_opt_bytes(opt.plugin_dir),
                    c_opt_bytes(opt.worker_path),
                )
            };
            if let Some(p) = partition {
                o.partition(utf8(p, "partition")?);
            }
            if let Some(f) = fs_name {
                o.fs(utf8(f, "fs_name")?);
            }
            if let Some(s) = options {
                o.options(s);
            }
            if let Some(d) = plugin_dir {
                use std::os::unix::ffi::OsStrExt;
                let dir = Path::new(std::ffi::OsStr::from_bytes(d));
                registry = Some(std::sync::Arc::new(discover(Some(dir))));
            }
            if opt.flags & FSI_OPEN_NO_SANDBOX != 0 {
                o.sandbox(false);
            }
            if let Some(w) = worker {
                use std::os::unix::ffi::OsStrExt;
                o.worker_path(Path::new(std::ffi::OsStr::from_bytes(w)));
            }
            if opt.memory_limit != 0 {
                o.sandbox_memory_limit(opt.memory_limit);
            }
            if opt.timeout_ms != 0 {
                o.sandbox_timeout(Duration::from_millis(u64::from(opt.timeout_ms)));
            }
            if opt.cpu_limit_s != 0 {
                o.sandbox_cpu_limit(u64::from(opt.cpu_limit_s));
            }
        }
        o.registry(registry.unwrap_or_else(shared_registry));
        let fs = o.open(path)?;
        Ok(Box::into_raw(Box::new(fsi::new(fs, &o))))
    })
}

/// The filesystem type (the plugin's name, e.g. `"ext2"`), owned by the
/// image; NULL with errno EINVAL for a NULL handle.
///
/// # Safety
/// `fsi` is NULL or a live image handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_fs_type(fsi: *const fsi_t) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: the caller passes a live handle.
        let fsi = unsafe { handle(fsi, "fsi")? };
        Ok(fsi.fs_type.as_ptr())
    })
}

/// Copies `src` into a caller's buffer as `snprintf` would: at most
/// `size - 1` bytes and a NUL; returns the full length.
///
/// # Safety
/// `buf` has `size` writable bytes, unless `size` is 0.
unsafe fn copy_out(src: &[u8], buf: *mut c_char, size: usize) -> Result<isize, CError> {
    if size > 0 {
        if buf.is_null() {
            return Err(CError::invalid("buffer is NULL"));
        }
        let n = src.len().min(size - 1);
        // SAFETY: `n + 1 <= size` bytes are written into the caller's
        // buffer, which cannot overlap our own `src`.
        unsafe {
            ptr::copy_nonoverlapping(src.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    isize::try_from(src.len()).map_err(|_| CError::new(libc::EOVERFLOW, "length overflows"))
}

/// The volume label, copied as `snprintf` would (NUL-terminated, truncated
/// to `size - 1` bytes). Returns the label's full length (0 when there is
/// none), or -1 with errno.
///
/// # Safety
/// `fsi` is a live image handle; `buf` has `size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_fs_label(
    fsi: *mut fsi_t,
    buf: *mut c_char,
    size: libc::size_t,
) -> libc::ssize_t {
    guard(-1, || {
        // SAFETY: the caller passes a live handle.
        let fsi = unsafe { handle(fsi, "fsi")? };
        let label = fsi.fs.label()?.unwrap_or_default();
        let label = to_cstring(&label);
        // SAFETY: the caller's buffer holds `size` bytes.
        unsafe { copy_out(label.as_bytes(), buf, size) }
    })
}

/// Writes `st` into the caller's struct, up to the size it states.
///
/// # Safety
/// `out` points to `out->struct_size` writable bytes.
unsafe fn write_stat(m: &Metadata, out: *mut fsi_stat_t) -> Result<(), CError> {
    const OURS: usize = std::mem::size_of::<fsi_stat_t>();
    if out.is_null() {
        return Err(CError::invalid("stat buffer is NULL"));
    }
    // SAFETY: the struct begins with its u32 size, readable per the caller.
    let size = unsafe { ptr::read_unaligned(out.cast::<u32>()) } as usize;
    if size < 4 {
        return Err(CError::invalid(format!(
            "fsi_stat_t.struct_size {size} is too small"
        )));
    }
    let n = size.min(OURS);
    let st = &m.0;
    let full = fsi_stat_t {
        struct_size: n as u32,
        kind: kind_code(st.kind),
        mode: st.mode(),
        uid: st.uid,
        gid: st.gid,
        reserved: 0,
        ino: st.ino,
        nlink: st.nlink,
        size: st.size,
        rdev: st.rdev,
        atime_sec: st.atime.sec,
        mtime_sec: st.mtime.sec,
        ctime_sec: st.ctime.sec,
        atime_nsec: st.atime.nsec,
        mtime_nsec: st.mtime.nsec,
        ctime_nsec: st.ctime.nsec,
        reserved2: 0,
    };
    // SAFETY: `fsi_stat_t` has no padding; `n` bytes fit both our struct
    // and the caller's stated size.
    unsafe {
        ptr::copy_nonoverlapping(
            (&full as *const fsi_stat_t).cast::<u8>(),
            out.cast::<u8>(),
            n,
        )
    };
    Ok(())
}

/// Metadata of `path`, following a final symlink. 0, or -1 with errno.
///
/// # Safety
/// `fsi` is a live image handle; `path` a C string; `st` points to a
/// `fsi_stat_t` whose `struct_size` is set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_stat(
    fsi: *mut fsi_t,
    path: *const c_char,
    st: *mut fsi_stat_t,
) -> c_int {
    guard(-1, || {
        // SAFETY: the caller passes a live handle, a C string and a struct.
        unsafe {
            let (fsi, path) = (handle(fsi, "fsi")?, c_bytes(path, "path")?);
            write_stat(&fsi.fs.metadata(path)?, st)?;
        }
        Ok(0)
    })
}

/// Metadata of `path` itself, even when it is a symlink. 0, or -1 with
/// errno.
///
/// # Safety
/// As `fsi_stat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_lstat(
    fsi: *mut fsi_t,
    path: *const c_char,
    st: *mut fsi_stat_t,
) -> c_int {
    guard(-1, || {
        // SAFETY: the caller passes a live handle, a C string and a struct.
        unsafe {
            let (fsi, path) = (handle(fsi, "fsi")?, c_bytes(path, "path")?);
            write_stat(&fsi.fs.symlink_metadata(path)?, st)?;
        }
        Ok(0)
    })
}

/// A symlink's target, copied as `snprintf` would (NUL-terminated,
/// truncated to `size - 1` bytes). Returns the target's full length (a
/// result `>= size` means it was truncated), or -1 with errno (EINVAL: not
/// a symlink).
///
/// # Safety
/// `fsi` is a live image handle; `path` a C string; `buf` has `size`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_readlink(
    fsi: *mut fsi_t,
    path: *const c_char,
    buf: *mut c_char,
    size: libc::size_t,
) -> libc::ssize_t {
    guard(-1, || {
        // SAFETY: the caller passes a live handle, a C string and a buffer.
        unsafe {
            let (fsi, path) = (handle(fsi, "fsi")?, c_bytes(path, "path")?);
            let target = fsi.fs.read_link(path)?;
            copy_out(&target, buf, size)
        }
    })
}

/// Opens a directory (symlinks followed) for `fsi_readdir`. NULL with errno
/// ENOENT, ENOTDIR or EIO.
///
/// # Safety
/// `fsi` is a live image handle; `path` a C string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_opendir(fsi: *mut fsi_t, path: *const c_char) -> *mut fsi_dir_t {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes a live handle and a C string.
        let (fsi, path) = unsafe { (handle(fsi, "fsi")?, c_bytes(path, "path")?) };
        let iter = fsi.fs.read_dir(path)?;
        Ok(Box::into_raw(Box::new(fsi_dir {
            inner: Mutex::new(DirState {
                iter,
                name: CString::default(),
                entry: fsi_dirent_t {
                    struct_size: std::mem::size_of::<fsi_dirent_t>() as u32,
                    kind: 0,
                    ino: 0,
                    name: ptr::null(),
                    name_len: 0,
                },
            }),
        })))
    })
}

/// Next entry of a directory (without `.` and `..`): 1 with `*entry` set,
/// 0 at the end, -1 with errno on error. The entry is valid until the next
/// call on `dir` or `fsi_closedir`.
///
/// # Safety
/// `dir` is a live directory stream; `entry` points to writable storage
/// for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_readdir(
    dir: *mut fsi_dir_t,
    entry: *mut *const fsi_dirent_t,
) -> c_int {
    guard(-1, || {
        // SAFETY: the caller passes a live stream.
        let dir = unsafe { handle(dir, "dir")? };
        if entry.is_null() {
            return Err(CError::invalid("entry is NULL"));
        }
        let mut st = dir.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(next) = st.iter.next() else {
            return Ok(0);
        };
        let e = next?;
        st.name = to_cstring(e.name());
        let (name_ptr, name_len) = (st.name.as_ptr(), st.name.as_bytes().len());
        st.entry.kind = kind_code(e.kind());
        st.entry.ino = e.ino();
        st.entry.name = name_ptr;
        st.entry.name_len = name_len;
        let p: *const fsi_dirent_t = &st.entry;
        // SAFETY: `entry` is non-null and writable per the caller; `p`
        // points into the boxed stream, stable until it is dropped.
        unsafe { *entry = p };
        Ok(1)
    })
}

/// Closes a directory stream. 0, or -1 with errno EINVAL for NULL.
///
/// # Safety
/// `dir` is NULL or a stream from `fsi_opendir` not closed before, unused
/// by other threads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_closedir(dir: *mut fsi_dir_t) -> c_int {
    guard(-1, || {
        if dir.is_null() {
            return Err(CError::invalid("dir is NULL"));
        }
        // SAFETY: the caller hands back ownership of a handle we boxed.
        drop(unsafe { Box::from_raw(dir) });
        Ok(0)
    })
}

super::symver!(
    fsi_version,
    fsi_last_error,
    fsi_open_image,
    fsi_fs_type,
    fsi_fs_label,
    fsi_stat,
    fsi_lstat,
    fsi_readlink,
    fsi_opendir,
    fsi_readdir,
    fsi_closedir,
);
