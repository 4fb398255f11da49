//! Finding and loading plugin shared objects, and checking their vtables.
//!
//! # Search order
//! 1. the directory given to the API or CLI (`--plugin-dir`);
//! 2. each directory in `$FSIMAGE_PLUGIN_DIR` (colon-separated);
//! 3. the running executable's directory, its `fsimage/` subfolder, and, when
//!    the executable sits in a Cargo `deps/` folder (a test binary), the
//!    folder above it — so a plain `cargo build` needs no set-up;
//! 4. the install directory, `$libdir/fsimage` (`FSIMAGE_LIBDIR` at build
//!    time, default `/usr/local/lib`).
//!
//! Plugin files are named `libfsimage_plugin_NAME.so` (`.dylib` on macOS).
//! When two directories hold a plugin of the same filesystem name, the first
//! in search order wins. A file that fails to load is recorded with its
//! reason and does not stop the others.

use fsimage_abi::raw::{self, PluginVtable};
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why one plugin file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The dynamic loader could not open the file.
    #[error("cannot load: {0}")]
    Open(String),
    /// No `fsimage_plugin_entry` symbol: not an fsimage plugin.
    #[error("not an fsimage plugin (no symbol fsimage_plugin_entry)")]
    NoEntry,
    /// The entry point returned null.
    #[error("entry point returned no vtable")]
    NullVtable,
    /// The vtable does not start with the magic.
    #[error("bad vtable magic {0:#018x}")]
    BadMagic(u64),
    /// Built for another major ABI version.
    #[error("plugin ABI version {found_major}.{found_minor}, this fsimage supports {supported}.x")]
    AbiMajor {
        /// The plugin's major.
        found_major: u32,
        /// The plugin's minor.
        found_minor: u32,
        /// Ours.
        supported: u32,
    },
    /// The vtable is too short to hold the mandatory entries.
    #[error("vtable of {size} bytes is shorter than the {needed} the mandatory entries need")]
    VtableTooSmall {
        /// Claimed size.
        size: u32,
        /// Size needed.
        needed: usize,
    },
    /// A mandatory entry is null.
    #[error("mandatory entry `{0}` is missing")]
    MissingEntry(&'static str),
    /// The plugin's name is missing or not a plain identifier.
    #[error("invalid plugin name")]
    BadName,
}

/// A loaded plugin: its vtable (copied, entries past the plugin's size left
/// empty) and the library that keeps the code mapped.
pub struct Plugin {
    name: String,
    version: String,
    path: PathBuf,
    abi_minor: u32,
    vtable: PluginVtable,
    /// The magics it declared (ABI 1.1), or `None`: always probed.
    magics: Option<Vec<raw::RawMagic>>,
    // Dropped last: the vtable's function pointers point into it.
    _lib: libloading::Library,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("path", &self.path)
            .finish()
    }
}

/// Copies the magics a plugin declared, if its vtable (`size` bytes) has
/// them and they are well formed; anything else means "always probe".
fn copy_magics(vtable: &PluginVtable, size: usize) -> Option<Vec<raw::RawMagic>> {
    let end = std::mem::offset_of!(PluginVtable, nmagics) + std::mem::size_of::<usize>();
    let n = vtable.nmagics;
    if size < end || vtable.magics.is_null() || n == 0 || n > raw::MAX_MAGICS {
        return None;
    }
    if !vtable.magics.is_aligned() {
        return None;
    }
    // SAFETY: ABI 1.1 makes `magics` a static array of `nmagics` entries in
    // the plugin (which stays loaded while this runs); the pointer is
    // non-null and aligned and the count bounded. `RawMagic` is plain data,
    // valid for any bytes.
    let list = unsafe { std::slice::from_raw_parts(vtable.magics, n) }.to_vec();
    let sane = list
        .iter()
        .all(|m| m.flags == 0 && (1..=raw::MAGIC_MAX_LEN).contains(&(m.len as usize)));
    sane.then_some(list)
}

/// Byte offset just past the last mandatory entry (`read_link`).
fn mandatory_len() -> usize {
    std::mem::offset_of!(PluginVtable, read_link) + std::mem::size_of::<usize>()
}

impl Plugin {
    /// Loads one plugin file and checks its vtable.
    pub fn load(path: &Path) -> Result<Plugin, LoadError> {
        // SAFETY: loading a shared object runs its initialisers; plugins are
        // code the administrator installed (the images are what is untrusted).
        let lib = unsafe { libloading::Library::new(path) }
            .map_err(|e| LoadError::Open(e.to_string()))?;
        // SAFETY: the symbol is declared with the ABI's entry type; a file that
        // exports it under another type is not an fsimage plugin and breaks
        // the documented contract.
        let entry: libloading::Symbol<raw::EntryFn> =
            unsafe { lib.get(raw::ENTRY_SYMBOL) }.map_err(|_| LoadError::NoEntry)?;
        // SAFETY: calling the plugin's entry point, which takes no arguments.
        let vt = unsafe { entry() };
        if vt.is_null() {
            return Err(LoadError::NullVtable);
        }
        // Read the fixed header first; only then trust its size field.
        // SAFETY: every vtable begins with these 24 bytes (magic, versions,
        // size, reserved); `vt` points to the plugin's static vtable.
        let (magic, major, minor, size) = unsafe {
            (
                std::ptr::addr_of!((*vt).magic).read_unaligned(),
                std::ptr::addr_of!((*vt).abi_major).read_unaligned(),
                std::ptr::addr_of!((*vt).abi_minor).read_unaligned(),
                std::ptr::addr_of!((*vt).vtable_size).read_unaligned(),
            )
        };
        if magic != raw::PLUGIN_MAGIC {
            return Err(LoadError::BadMagic(magic));
        }
        if major != raw::ABI_MAJOR {
            return Err(LoadError::AbiMajor {
                found_major: major,
                found_minor: minor,
                supported: raw::ABI_MAJOR,
            });
        }
        if (size as usize) < mandatory_len() {
            return Err(LoadError::VtableTooSmall {
                size,
                needed: mandatory_len(),
            });
        }
        // Copy the part of the vtable the plugin has; the rest stays zero,
        // which for every entry means "absent".
        let n = (size as usize).min(std::mem::size_of::<PluginVtable>());
        let mut vtable = std::mem::MaybeUninit::<PluginVtable>::zeroed();
        // SAFETY: the plugin declares `size` readable bytes at `vt`; we copy
        // at most our own struct's size into a zeroed struct whose fields are
        // all integers, raw pointers or `Option<fn>`, for which both zero and
        // the plugin's values are valid.
        let vtable = unsafe {
            std::ptr::copy_nonoverlapping(vt.cast::<u8>(), vtable.as_mut_ptr().cast::<u8>(), n);
            vtable.assume_init()
        };
        let mandatory = [
            vtable.probe.is_some(),
            vtable.mount.is_some(),
            vtable.unmount.is_some(),
            vtable.root.is_some(),
            vtable.lookup.is_some(),
            vtable.stat.is_some(),
            vtable.read.is_some(),
            vtable.read_dir.is_some(),
            vtable.read_link.is_some(),
        ];
        if let Some(i) = mandatory.iter().position(|p| !p) {
            return Err(LoadError::MissingEntry(raw::MANDATORY_ENTRIES[i]));
        }
        let name = static_str(vtable.name).ok_or(LoadError::BadName)?;
        if name.is_empty()
            || name.len() > 32
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(LoadError::BadName);
        }
        let version = static_str(vtable.version).unwrap_or_default();
        let magics = copy_magics(&vtable, n);
        Ok(Plugin {
            name,
            version,
            path: path.to_path_buf(),
            abi_minor: minor,
            vtable,
            magics,
            _lib: lib,
        })
    }

    /// Filesystem name, e.g. `ext2`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The plugin's own version string.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The ABI minor version it was built with.
    pub fn abi_minor(&self) -> u32 {
        self.abi_minor
    }
    /// The magics the plugin declared (`None`: it declared none, or a list
    /// the core does not accept, so it is always probed).
    pub fn magics(&self) -> Option<&[raw::RawMagic]> {
        self.magics.as_deref()
    }

    /// Whether `device` may hold this plugin's filesystem: one of its
    /// magics is there, or it declared none. A plugin promises to answer
    /// a probe with 0 otherwise, so the probe (and, sandboxed, loading the
    /// plugin into a worker) can be skipped. Unreadable bytes do not match.
    pub fn may_hold(&self, device: &dyn fsimage_abi::ReadAt) -> bool {
        let Some(magics) = &self.magics else {
            return true;
        };
        let mut buf = [0u8; raw::MAGIC_MAX_LEN];
        magics.iter().any(|m| {
            let want = m.magic();
            buf.get_mut(..want.len())
                .is_some_and(|b| device.read_exact_at(m.offset, b).is_ok() && *b == *want)
        })
    }

    /// The checked vtable.
    pub(crate) fn vtable(&self) -> &PluginVtable {
        &self.vtable
    }
}

/// Reads a static NUL-terminated string from a plugin (bounded at 256 bytes).
fn static_str(p: *const std::ffi::c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let mut len = 0usize;
    while len < 256 {
        // SAFETY: the ABI makes `name`/`version` pointers to static
        // NUL-terminated strings, so every byte up to the NUL is readable.
        if unsafe { *p.cast::<u8>().add(len) } == 0 {
            break;
        }
        len += 1;
    }
    if len == 256 {
        return None;
    }
    // SAFETY: `len` bytes followed by a NUL were just read.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().ok().map(str::to_owned)
}

/// The plugin file names we look for.
pub fn is_plugin_file_name(name: &str) -> bool {
    let ext = if cfg!(target_os = "macos") {
        ".dylib"
    } else {
        ".so"
    };
    name.starts_with("libfsimage_plugin_") && name.ends_with(ext)
}

/// The directories searched, in order (see the module docs).
pub fn search_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = explicit {
        dirs.push(d.to_path_buf());
    }
    if let Some(v) = std::env::var_os("FSIMAGE_PLUGIN_DIR") {
        dirs.extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("fsimage"));
        if exe_dir.file_name().is_some_and(|n| n == "deps") {
            if let Some(up) = exe_dir.parent() {
                dirs.push(up.to_path_buf());
            }
        }
        dirs.push(exe_dir);
    }
    let libdir = option_env!("FSIMAGE_LIBDIR").unwrap_or("/usr/local/lib");
    dirs.push(Path::new(libdir).join("fsimage"));
    dirs
}

/// The set of loaded plugins, plus the files that failed to load.
#[derive(Debug, Default)]
pub struct Registry {
    plugins: Vec<Arc<Plugin>>,
    failures: Vec<(PathBuf, LoadError)>,
    searched: Vec<PathBuf>,
}

impl Registry {
    /// Loads every plugin found in the search order (see the module docs).
    pub fn discover(explicit_dir: Option<&Path>) -> Registry {
        let mut reg = Registry::default();
        for dir in search_dirs(explicit_dir) {
            reg.load_dir(&dir);
        }
        reg
    }

    /// Loads every plugin file in `dir` (sorted by file name); plugins whose
    /// name is already loaded are skipped.
    pub fn load_dir(&mut self, dir: &Path) {
        self.searched.push(dir.to_path_buf());
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_str().is_some_and(is_plugin_file_name))
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            // The same file reached twice (e.g. a symlinked dir) loads once.
            let canon = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
            if self
                .plugins
                .iter()
                .any(|p| std::fs::canonicalize(p.path()).ok().as_deref() == Some(&canon))
            {
                continue;
            }
            self.load_file(&f);
        }
    }

    /// Loads one plugin file; a failure is recorded, not fatal.
    pub fn load_file(&mut self, path: &Path) -> Option<Arc<Plugin>> {
        match Plugin::load(path) {
            Ok(p) => {
                if let Some(existing) = self.get(p.name()) {
                    return Some(existing);
                }
                let p = Arc::new(p);
                self.plugins.push(p.clone());
                Some(p)
            }
            Err(e) => {
                self.failures.push((path.to_path_buf(), e));
                None
            }
        }
    }

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The plugin for filesystem `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        self.plugins.iter().find(|p| p.name() == name).cloned()
    }

    /// Files that could not be loaded, with the reason.
    pub fn failures(&self) -> &[(PathBuf, LoadError)] {
        &self.failures
    }

    /// Directories searched.
    pub fn searched(&self) -> &[PathBuf] {
        &self.searched
    }
}
