//! The classic libfsimage calls, as Xen's `xenfsimage.h` declares them.
//!
//! ZFS "top dataset files": Xen's libfsimage ZFS (GRUB legacy's
//! `fsys_zfs.c`, `is_top_dataset_file`) reads a few paths from the pool's
//! root dataset whatever the boot dataset: a path whose last component is
//! `menu.lst`, anything under `/boot/grub/bootsign/` (GRUB legacy's
//! `BOOTSIGN_DIR`) and `/etc/bootsign` (`BOOTSIGN_BACKUP`). On an
//! OpenSolaris/illumos guest the GRUB menu pygrub reads lives there
//! (`/rpool/boot/grub/menu.lst`), while the kernel is in the bootfs.
//! [`fsi_file_exists`] and [`fsi_open_file`] do the same: for such a path on
//! a "zfs" image they look in the pool's root dataset first (a second mount
//! of the same image and offset, opened on first use with the same
//! settings and the pool name as dataset), then, when it is not there, in
//! the chosen dataset, so pools whose root dataset is empty still work.
//! Only these two calls do this; the Rust API, the CLI and the extended C
//! calls (stat, opendir, readlink) read exactly the chosen dataset.

use super::{CError, c_bytes, c_opt_bytes, c_path, guard, shared_registry, to_cstring};
use crate::{ErrorKind, File, Filesystem, OpenOptions};
use std::ffi::{CString, c_char, c_int, c_void};
use std::ptr;
use std::sync::{Mutex, OnceLock};

/// An open filesystem image (opaque).
pub struct fsi {
    pub(crate) fs: Filesystem,
    pub(crate) fs_type: CString,
    boot: Mutex<Boot>,
    /// How `fs` was opened, to open the ZFS root dataset the same way.
    reopen: OpenOptions,
    /// The pool's root dataset, when `fs` is a ZFS dataset other than it
    /// (opened on the first top-dataset path; `None` when there is none or
    /// it cannot be mounted).
    top: OnceLock<Option<Filesystem>>,
}

/// An open file (opaque). It keeps its image open, even after
/// `fsi_close_fsimage`.
pub struct fsi_file {
    file: File,
    /// Cursor of `fsi_read_file`.
    pos: Mutex<u64>,
}

/// An open filesystem image.
pub type fsi_t = fsi;
/// An open file.
pub type fsi_file_t = fsi_file;

#[derive(Default)]
struct Boot {
    /// The plugin was asked already (or the caller set a buffer).
    loaded: bool,
    /// NUL-terminated; the pointer handed out stays valid until it is
    /// replaced or freed.
    buf: Option<Box<[u8]>>,
}

impl fsi {
    /// `opts` are the options `fs` was opened with.
    pub(crate) fn new(fs: Filesystem, opts: &OpenOptions) -> fsi {
        let fs_type = to_cstring(fs.fs_type().as_bytes());
        fsi {
            fs,
            fs_type,
            boot: Mutex::new(Boot::default()),
            reopen: opts.clone(),
            top: OnceLock::new(),
        }
    }

    /// Where the classic calls look for `path` first: the pool's root
    /// dataset for a ZFS top-dataset file, else nowhere.
    fn top_dataset_for(&self, path: &[u8]) -> Option<&Filesystem> {
        if self.fs.fs_type() != "zfs" || !is_top_dataset_file(path) {
            return None;
        }
        self.top.get_or_init(|| self.open_root_dataset()).as_ref()
    }

    /// Mounts the pool's root dataset from the same image and offset, with
    /// the same plugin, registry and sandbox settings, and the plugin
    /// options that are not a dataset name (`csum=off`). `None` when the
    /// chosen dataset is the root dataset already, or it cannot be mounted.
    fn open_root_dataset(&self) -> Option<Filesystem> {
        // The ZFS plugin's label is the pool name, and a dataset option
        // that is just the pool name selects the root dataset.
        let pool = self.fs.label().ok().flatten()?;
        if pool.is_empty() || pool.contains(&b',') || pool.contains(&b'=') {
            return None;
        }
        let mut options: Vec<u8> = Vec::new();
        for tok in self.reopen.options_bytes().split(|&c| c == b',') {
            let tok = tok.trim_ascii();
            if tok.contains(&b'=') {
                options.extend_from_slice(tok);
                options.push(b',');
            }
        }
        options.extend_from_slice(&pool);
        let mut o = self.reopen.clone();
        // The same window: the partition found (its end bounds the device,
        // where ZFS keeps two of its labels), else the same offset.
        match self.fs.partition() {
            Some(id) => o.partition(id),
            None => o.offset(self.fs.offset()),
        };
        o.fs(self.fs.fs_type()).options(options);
        let top = o.open(self.fs.image_path()).ok()?;
        // Same dataset (no bootfs, or the pool named): nothing to add.
        let same = match (top.bootstring(), self.fs.bootstring()) {
            (Ok(Some(a)), Ok(Some(b))) => a == b,
            _ => false,
        };
        (!same).then_some(top)
    }
}

/// GRUB legacy's top-dataset files (`is_top_dataset_file`): the last
/// component is `menu.lst`, or the path is under `/boot/grub/bootsign/`
/// (`BOOTSIGN_DIR`) or is `/etc/bootsign` (`BOOTSIGN_BACKUP`). A path
/// without its leading `/` counts as if it had one (paths are taken from
/// the root either way). Unlike GRUB, a space does not end the name.
fn is_top_dataset_file(path: &[u8]) -> bool {
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    rel == b"menu.lst"
        || rel.ends_with(b"/menu.lst")
        || rel.starts_with(b"boot/grub/bootsign/")
        || rel == b"etc/bootsign"
}

/// Whether a failure in the root dataset means "not there" (then the
/// chosen dataset is tried), rather than a fault to report.
fn is_absent(e: &crate::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// A handle argument as a reference.
///
/// # Safety
/// `p` is NULL or a live handle returned by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, CError> {
    // SAFETY: forwarded from the caller.
    unsafe { p.as_ref() }.ok_or_else(|| CError::invalid(format!("{what} is NULL")))
}

/// A caller's buffer as a byte slice (zeroed first: C memory may be
/// uninitialised).
///
/// # Safety
/// `buf` points to `len` writable bytes, unless `len` is 0.
pub(crate) unsafe fn out_buf<'a>(buf: *mut c_void, len: usize) -> Result<&'a mut [u8], CError> {
    if len == 0 {
        return Ok(&mut []);
    }
    if buf.is_null() {
        return Err(CError::invalid("buffer is NULL"));
    }
    let len = len.min(isize::MAX as usize);
    let p = buf.cast::<u8>();
    // SAFETY: the caller guarantees `len` writable bytes at `buf`; after
    // zeroing them they are initialised `u8`s, borrowed for this call only.
    unsafe {
        ptr::write_bytes(p, 0, len);
        Ok(std::slice::from_raw_parts_mut(p, len))
    }
}

/// Loads the filesystem plugins now rather than at the first open (needed
/// before a caller drops privileges or enters a chroot). Optional and
/// idempotent. Returns 0, or -1 with errno ENOTSUP when no plugin can be
/// found.
#[unsafe(no_mangle)]
pub extern "C" fn fsi_init() -> c_int {
    guard(-1, || {
        let reg = shared_registry();
        if reg.plugins().is_empty() {
            let searched: Vec<String> = reg
                .searched()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            return Err(CError::new(
                libc::ENOTSUP,
                format!(
                    "no fsimage plugins found (searched: {})",
                    searched.join(":")
                ),
            ));
        }
        Ok(0)
    })
}

/// Opens the image file `path` and mounts the filesystem that starts at byte
/// `off` of it. `options` (NULL or "" for none) is handed to the plugin; for
/// ZFS it names the boot dataset `pool/fs[@snap]` (none: the pool's bootfs,
/// else its root dataset).
///
/// Returns NULL with errno set on failure: ENOENT (no such image), ENOTSUP
/// (no plugin recognises the filesystem), EINVAL, EIO (corrupt), or the
/// error of opening the file. Paths may contain spaces.
///
/// # Safety
/// `path` and `options` are NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_open_fsimage(
    path: *const c_char,
    off: u64,
    options: *const c_char,
) -> *mut fsi_t {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let (path, options) = unsafe { (c_path(path, "image path")?, c_opt_bytes(options)) };
        let mut o = OpenOptions::new();
        o.offset(off).registry(shared_registry());
        if let Some(opts) = options {
            o.options(opts);
        }
        let fs = o.open(path)?;
        Ok(Box::into_raw(Box::new(fsi::new(fs, &o))))
    })
}

/// Closes an image. Files still open on it stay readable until closed.
/// NULL is ignored.
///
/// # Safety
/// `fsi` is NULL or an image from `fsi_open_fsimage`/`fsi_open_image` not
/// closed before, and no other thread uses it during or after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_close_fsimage(fsi: *mut fsi_t) {
    guard((), || {
        if !fsi.is_null() {
            // SAFETY: the caller hands back ownership of a handle we boxed.
            drop(unsafe { Box::from_raw(fsi) });
        }
        Ok(())
    })
}

/// 1 if `path` exists in the filesystem (symlinks followed; any kind of
/// object), else 0 (errno says why).
///
/// ZFS, as libfsimage: a path whose last component is `menu.lst`, or under
/// `/boot/grub/bootsign/`, or `/etc/bootsign`, is looked up in the pool's
/// root dataset first, then in the chosen dataset.
///
/// # Safety
/// `fsi` is a live image handle; `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_file_exists(fsi: *mut fsi_t, path: *const c_char) -> c_int {
    guard(0, || {
        // SAFETY: the caller passes a live handle and a C string.
        let (fsi, path) = unsafe { (handle(fsi, "fsi")?, c_bytes(path, "path")?) };
        if let Some(top) = fsi.top_dataset_for(path) {
            match top.metadata(path) {
                Ok(_) => return Ok(1),
                Err(e) if is_absent(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        fsi.fs.metadata(path)?;
        Ok(1)
    })
}

/// Opens the regular file `path` (symlinks followed). NULL with errno
/// ENOENT, ENOTDIR, EISDIR, EINVAL (not a regular file) or EIO.
///
/// ZFS, as libfsimage (GRUB legacy's top-dataset files): a path whose last
/// component is `menu.lst`, or under `/boot/grub/bootsign/`, or
/// `/etc/bootsign`, is opened from the pool's root dataset when it is
/// there (on OpenSolaris the GRUB menu is `/rpool/boot/grub/menu.lst`),
/// else from the chosen dataset. Every other path, and the Rust API and
/// CLI for every path, read only the chosen dataset.
///
/// # Safety
/// `fsi` is a live image handle; `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_open_file(fsi: *mut fsi_t, path: *const c_char) -> *mut fsi_file_t {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes a live handle and a C string.
        let (fsi, path) = unsafe { (handle(fsi, "fsi")?, c_bytes(path, "path")?) };
        let from_top = match fsi.top_dataset_for(path).map(|top| top.open(path)) {
            Some(Ok(f)) => Some(f),
            Some(Err(e)) if is_absent(&e) => None,
            Some(Err(e)) => return Err(e.into()),
            None => None,
        };
        let file = match from_top {
            Some(f) => f,
            None => fsi.fs.open(path)?,
        };
        Ok(Box::into_raw(Box::new(fsi_file {
            file,
            pos: Mutex::new(0),
        })))
    })
}

/// Closes a file. 0, or -1 with errno EINVAL for NULL.
///
/// # Safety
/// `file` is NULL or a file from `fsi_open_file` not closed before, and no
/// other thread uses it during or after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_close_file(file: *mut fsi_file_t) -> c_int {
    guard(-1, || {
        if file.is_null() {
            return Err(CError::invalid("file is NULL"));
        }
        // SAFETY: the caller hands back ownership of a handle we boxed.
        drop(unsafe { Box::from_raw(file) });
        Ok(0)
    })
}

fn read_at(file: &fsi_file, buf: &mut [u8], off: u64) -> Result<isize, CError> {
    let n = file.file.read_at(off, buf)?;
    // `buf` is at most isize::MAX bytes (see `out_buf`).
    Ok(isize::try_from(n).unwrap_or(isize::MAX))
}

/// Reads up to `nbytes` at the file's cursor and advances it. Returns the
/// number of bytes read, 0 at end of file, -1 with errno on error (never 0
/// for an error).
///
/// # Safety
/// `file` is a live file handle; `buf` has `nbytes` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_read_file(
    file: *mut fsi_file_t,
    buf: *mut c_void,
    nbytes: libc::size_t,
) -> libc::ssize_t {
    guard(-1, || {
        // SAFETY: the caller passes a live handle and a buffer of `nbytes`.
        let (file, buf) = unsafe { (handle(file, "file")?, out_buf(buf, nbytes)?) };
        let mut pos = file.pos.lock().unwrap_or_else(|p| p.into_inner());
        let n = read_at(file, buf, *pos)?;
        *pos = pos.saturating_add(n.unsigned_abs() as u64);
        Ok(n)
    })
}

/// Reads up to `nbytes` at byte `off` of the file, without moving the
/// cursor; several threads may read one file at once. Returns the number of
/// bytes read (short only at end of file), 0 at or past the end, -1 with
/// errno on error.
///
/// # Safety
/// `file` is a live file handle; `buf` has `nbytes` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_pread_file(
    file: *mut fsi_file_t,
    buf: *mut c_void,
    nbytes: libc::size_t,
    off: u64,
) -> libc::ssize_t {
    guard(-1, || {
        // SAFETY: the caller passes a live handle and a buffer of `nbytes`.
        let (file, buf) = unsafe { (handle(file, "file")?, out_buf(buf, nbytes)?) };
        read_at(file, buf, off)
    })
}

/// Largest buffer `fsi_bootstring_alloc` hands out (1 MiB).
const MAX_BOOTSTRING: usize = 1 << 20;

/// Replaces the image's boot string with a zeroed buffer of `len` bytes
/// that the caller may fill in, and returns it (NULL with errno ENOMEM,
/// also for more than 1 MiB).
/// It stays valid until `fsi_bootstring_free`, the next
/// `fsi_bootstring_alloc` or `fsi_close_fsimage`.
///
/// # Safety
/// `fsi` is a live image handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_bootstring_alloc(fsi: *mut fsi_t, len: libc::size_t) -> *mut c_char {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes a live handle.
        let fsi = unsafe { handle(fsi, "fsi")? };
        // A boot string is a kernel command-line fragment; a larger request
        // is a caller bug, not something to commit memory for.
        if len > MAX_BOOTSTRING {
            return Err(CError::new(
                libc::ENOMEM,
                format!("boot string of {len} bytes exceeds {MAX_BOOTSTRING}"),
            ));
        }
        let len = len.max(1);
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(len)
            .map_err(|_| CError::new(libc::ENOMEM, format!("cannot allocate {len} bytes")))?;
        v.resize(len, 0);
        let mut boot = fsi.boot.lock().unwrap_or_else(|p| p.into_inner());
        boot.loaded = true;
        let b = boot.buf.insert(v.into_boxed_slice());
        Ok(b.as_mut_ptr().cast::<c_char>())
    })
}

/// Frees the image's boot string; `fsi_fs_bootstring` returns NULL after.
///
/// # Safety
/// `fsi` is a live image handle; no pointer to the boot string is used
/// after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_bootstring_free(fsi: *mut fsi_t) {
    guard((), || {
        // SAFETY: the caller passes a live handle.
        let fsi = unsafe { handle(fsi, "fsi")? };
        let mut boot = fsi.boot.lock().unwrap_or_else(|p| p.into_inner());
        boot.loaded = true;
        boot.buf = None;
        Ok(())
    })
}

/// The boot string the filesystem needs (ZFS:
/// `zfs-bootfs=<pool>/<objnum>,bootpath='<physpath>'`), or NULL when it
/// needs none (or on error, with errno set). Owned by the image.
///
/// # Safety
/// `fsi` is a live image handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fsi_fs_bootstring(fsi: *mut fsi_t) -> *mut c_char {
    guard(ptr::null_mut(), || {
        // SAFETY: the caller passes a live handle.
        let fsi = unsafe { handle(fsi, "fsi")? };
        let mut boot = fsi.boot.lock().unwrap_or_else(|p| p.into_inner());
        if !boot.loaded {
            let s = fsi.fs.bootstring()?;
            boot.loaded = true;
            boot.buf = s.map(|s| to_cstring(&s).into_bytes_with_nul().into_boxed_slice());
        }
        Ok(match boot.buf.as_mut() {
            Some(b) => b.as_mut_ptr().cast::<c_char>(),
            None => ptr::null_mut(),
        })
    })
}

super::symver!(
    fsi_init,
    fsi_open_fsimage,
    fsi_close_fsimage,
    fsi_file_exists,
    fsi_open_file,
    fsi_close_file,
    fsi_read_file,
    fsi_pread_file,
    fsi_bootstring_alloc,
    fsi_bootstring_free,
    fsi_fs_bootstring,
);

#[cfg(test)]
mod tests {
    use super::is_top_dataset_file;

    #[test]
    fn top_dataset_files_as_grub_legacy_names_them() {
        for p in [
            "/boot/grub/menu.lst",
            "boot/grub/menu.lst",
            "/menu.lst",
            "menu.lst",
            "/grub/menu.lst",
            "/boot/grub/bootsign/pool_rpool",
            "/boot/grub/bootsign/x/y",
            "/etc/bootsign",
        ] {
            assert!(is_top_dataset_file(p.as_bytes()), "{p}");
        }
        for p in [
            "",
            "/",
            "/boot/grub/xmenu.lst",
            "/boot/grub/menu.lst.bak",
            "/boot/grub/menu.lst/",
            "/boot/grub/menu.lst x",
            "/boot/grub/bootsign",
            "/boot/grub/bootsignx/a",
            "/etc/bootsign2",
            "/etc/bootsign/x",
            "/platform/i86xpv/kernel/amd64/unix",
        ] {
            assert!(!is_top_dataset_file(p.as_bytes()), "{p}");
        }
    }
}
