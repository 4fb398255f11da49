//! The C API: `libfsimage.so` / `libfsimage.a`, declared by
//! `include/fsimage.h` (generated from this module by cbindgen).
//!
//! Two layers share one header:
//! - the classic libfsimage calls (`fsi_open_fsimage`, `fsi_open_file`,
//!   `fsi_pread_file`, ...) with the same names, types and meaning, so code
//!   written against Xen's `xenfsimage.h` compiles and links unchanged;
//! - extended calls (options struct, partitions, directories, stat, readlink,
//!   last error message), versioned by a `struct_size` first field.
//!
//! Every call catches panics (none crosses into C), reports failure as
//! NULL / -1 with `errno` set, and records a message for [`fsi_last_error`].
//! Handles are independent: no global lock is taken, so one image can be
//! read from several threads at once, and files keep their image alive
//! after `fsi_close_fsimage`.

#![allow(non_camel_case_types)]

mod classic;
mod ext;
mod parts;

pub use classic::*;
pub use ext::*;
pub use parts::*;

use crate::error::ErrorKind;
use crate::plugin::{Registry, loader};
use std::cell::RefCell;
use std::ffi::{CStr, CString, OsStr, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A failure on its way to C: the errno to set and the message to keep.
pub(crate) struct CError {
    errno: c_int,
    message: String,
}

impl CError {
    pub(crate) fn new(errno: c_int, message: impl Into<String>) -> CError {
        CError {
            errno,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> CError {
        CError::new(libc::EINVAL, message)
    }
}

/// The errno a core error maps to.
pub(crate) fn errno_of(e: &crate::Error) -> c_int {
    if let crate::Error::Open { source, .. } = e {
        if let Some(code) = source.raw_os_error() {
            return code;
        }
    }
    match e.kind() {
        ErrorKind::NotFound => libc::ENOENT,
        ErrorKind::NotADirectory => libc::ENOTDIR,
        ErrorKind::IsADirectory => libc::EISDIR,
        ErrorKind::InvalidInput => libc::EINVAL,
        ErrorKind::Unsupported => libc::ENOTSUP,
        ErrorKind::Io => libc::EIO,
        ErrorKind::Limit => {
            if e.to_string().contains("symlink") {
                libc::ELOOP
            } else {
                libc::EIO
            }
        }
    }
}

impl From<crate::Error> for CError {
    fn from(e: crate::Error) -> CError {
        CError::new(errno_of(&e), e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_errno(code: c_int) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: `__errno_location` returns this thread's errno slot, which
    // is always valid to write.
    unsafe {
        *libc::__errno_location() = code
    };
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    // SAFETY: `__error` returns this thread's errno slot, which is always
    // valid to write.
    unsafe {
        *libc::__error() = code
    };
}

/// Records `message` as this thread's last error and sets `errno` (last, so
/// nothing in between can clobber it).
pub(crate) fn set_error(errno: c_int, message: &str) {
    let msg = CString::new(message.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|l| *l.borrow_mut() = msg);
    set_errno(errno);
}

/// Runs one C call: the error or panic becomes `fail` with errno and the
/// last-error message set.
pub(crate) fn guard<T>(fail: T, f: impl FnOnce() -> Result<T, CError>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_error(e.errno, &e.message);
            fail
        }
        Err(_) => {
            set_error(libc::EIO, "internal error in libfsimage (caught a panic)");
            fail
        }
    }
}

/// The message of the last failed call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    static EMPTY: &CStr = c"";
    LAST_ERROR
        .try_with(|l| l.borrow().as_ptr())
        .unwrap_or(EMPTY.as_ptr())
}

/// The bytes of a C string argument that must not be NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_bytes<'a>(p: *const c_char, what: &str) -> Result<&'a [u8], CError> {
    if p.is_null() {
        return Err(CError::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null, and the caller guarantees NUL termination.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// Like [`c_bytes`], but NULL means "not given".
///
/// # Safety
/// As [`c_bytes`].
pub(crate) unsafe fn c_opt_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, and the caller guarantees NUL termination.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// A C string argument as a host path (any bytes, spaces included).
///
/// # Safety
/// As [`c_bytes`].
pub(crate) unsafe fn c_path<'a>(p: *const c_char, what: &str) -> Result<&'a Path, CError> {
    // SAFETY: forwarded from the caller.
    let b = unsafe { c_bytes(p, what) }?;
    if b.is_empty() {
        return Err(CError::new(libc::ENOENT, format!("{what} is empty")));
    }
    Ok(Path::new(OsStr::from_bytes(b)))
}

/// Bytes as an owned C string, cut at the first NUL.
pub(crate) fn to_cstring(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

/// The directories of this library as it was loaded and, when that is a
/// symlink (`libfsimage.so.1.0` -> ...), of the file it resolves to (the
/// executable's, when the library is linked statically).
fn library_dirs() -> Vec<PathBuf> {
    // SAFETY: `Dl_info` is plain data (pointers and integers); all-zero is
    // a valid value that `dladdr` overwrites.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let addr = library_dirs as fn() -> Vec<PathBuf> as *const libc::c_void;
    // SAFETY: `dladdr` only inspects the address and fills `info`.
    let rc = unsafe { libc::dladdr(addr, &mut info) };
    if rc == 0 || info.dli_fname.is_null() {
        return Vec::new();
    }
    // SAFETY: on success `dli_fname` is a NUL-terminated string owned by
    // the dynamic loader, valid while the object stays loaded (we are it).
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    let file = Path::new(OsStr::from_bytes(name.to_bytes()));
    let mut dirs = Vec::new();
    for f in [Some(file.to_path_buf()), std::fs::canonicalize(file).ok()]
        .into_iter()
        .flatten()
    {
        if let Some(parent) = f.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !dirs.iter().any(|d: &PathBuf| d == parent) {
                dirs.push(parent.to_path_buf());
            }
        }
    }
    dirs
}

/// Plugin directories for C callers: the loader's order, with this
/// library's own directory (and its `fsimage/` subfolder, where the install
/// puts plugins) after `$FSIMAGE_PLUGIN_DIR` — the executable of a C
/// program is nowhere near the plugins.
pub(crate) fn plugin_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut rest = loader::search_dirs(explicit);
    let n_front = usize::from(explicit.is_some())
        + std::env::var_os("FSIMAGE_PLUGIN_DIR")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .count()
            })
            .unwrap_or(0);
    let tail = rest.split_off(n_front.min(rest.len()));
    dirs.extend(rest);
    for lib in library_dirs() {
        dirs.push(lib.join("fsimage"));
        dirs.push(lib);
    }
    dirs.extend(tail);
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let fresh = !seen.contains(d);
        if fresh {
            seen.push(d.clone());
        }
        fresh
    });
    dirs
}

/// Loads the plugins of [`plugin_dirs`].
pub(crate) fn discover(explicit: Option<&Path>) -> Registry {
    let mut reg = Registry::default();
    for d in plugin_dirs(explicit) {
        reg.load_dir(&d);
    }
    reg
}

static REGISTRY: OnceLock<Arc<Registry>> = OnceLock::new();

/// The plugins every classic open uses, loaded once. An empty set is not
/// kept, so plugins installed later are still found.
pub(crate) fn shared_registry() -> Arc<Registry> {
    if let Some(r) = REGISTRY.get() {
        return r.clone();
    }
    let reg = Arc::new(discover(None));
    if reg.plugins().is_empty() {
        return reg;
    }
    REGISTRY.get_or_init(|| reg).clone()
}

/// Gives exported symbols the version node of Xen's libfsimage
/// (`libfsimage.so.1.0`, defined by `libfsimage.map`, which build.rs passes
/// to the linker). rustc's own version script cannot name a node, so the
/// node is attached with `.symver`, which must sit in the same object as the
/// definition: each module lists its own functions. A test checks that
/// every exported `fsi_` symbol carries the node.
macro_rules! symver {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(target_os = "linux")]
            std::arch::global_asm!(concat!(
                ".symver ", stringify!($name), ", ",
                stringify!($name), "@@@libfsimage.so.1.0"
            ));
        )*
    };
}
pub(crate) use symver;
