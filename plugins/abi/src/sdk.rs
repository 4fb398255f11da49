//! The safe side of the ABI for plugin authors: implement [`Filesystem`] for
//! your mount type and call [`export_plugin!`](crate::export_plugin). All
//! `unsafe` of a plugin lives here.

use crate::error::{Error, ErrorCode, Result};
use crate::io::ReadAt;
use crate::raw::{self, RawError, RawExtent, RawSource, RawStat, RawTimespec};
use crate::types::{DirEntry, Extent, ExtentKind, FileKind, Stat, Timespec};
use std::ffi::{CStr, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// One read-only byte device a filesystem was mounted on (a partition, one
/// disk of a pool). Cheap to clone.
#[derive(Clone)]
pub struct Device {
    inner: Arc<dyn ReadAt>,
}

impl Device {
    /// Wraps any byte source (tests and fuzzers hand in a `Vec<u8>`).
    pub fn new(source: impl ReadAt + 'static) -> Device {
        Device {
            inner: Arc::new(source),
        }
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device({} bytes)", self.inner.size())
    }
}

impl ReadAt for Device {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        crate::budget::charge()?;
        self.inner.read_exact_at(offset, buf)
    }
}

/// Receives directory entries from [`Filesystem::read_dir`].
pub trait DirSink {
    /// Offers one entry. `cookie` is the position that makes a later
    /// `read_dir` resume at this very entry. Returns `false` when the sink is
    /// full: the entry was not taken and the plugin must stop.
    fn push(&mut self, cookie: u64, id: u64, kind: FileKind, name: &[u8]) -> bool;
}

/// Receives extents from [`Filesystem::extents`].
pub trait ExtentSink {
    /// Offers one extent; `false` means full (not taken): stop.
    fn push(&mut self, extent: Extent) -> bool;
}

/// Offers `[from, size)` as one opaque extent (data the core must `read`
/// through the plugin), if `from < size`.
pub fn opaque_tail(from: u64, size: u64, sink: &mut dyn ExtentSink) {
    if from < size {
        sink.push(Extent::opaque(from, size - from));
    }
}

/// Merges neighbouring extents of one kind (Data only when contiguous on
/// the same device) before they reach `sink`: block-mapped filesystems find
/// their extents a block or a run at a time.
pub struct Coalesce<'a> {
    sink: &'a mut dyn ExtentSink,
    pending: Option<Extent>,
    full: bool,
}

impl<'a> Coalesce<'a> {
    /// Merges into `sink`; call [`Coalesce::finish`] at the end.
    pub fn new(sink: &'a mut dyn ExtentSink) -> Self {
        Coalesce {
            sink,
            pending: None,
            full: false,
        }
    }

    /// Offers one extent; `false` once the sink is full: stop.
    pub fn push(&mut self, e: Extent) -> bool {
        if self.full {
            return false;
        }
        if let Some(p) = &mut self.pending {
            let follows = |a: u64, b: u64| a.checked_add(p.length) == Some(b);
            let joins = p.kind == e.kind
                && follows(p.file_offset, e.file_offset)
                && (e.kind != ExtentKind::Data
                    || (p.device == e.device && follows(p.device_offset, e.device_offset)));
            if let Some(len) = p.length.checked_add(e.length).filter(|_| joins) {
                p.length = len;
                return true;
            }
            let done = *p;
            if !self.sink.push(done) {
                self.full = true;
                return false;
            }
        }
        self.pending = Some(e);
        true
    }

    /// Hands over the last extent held back.
    pub fn finish(mut self) {
        if !self.full
            && let Some(p) = self.pending.take()
        {
            self.sink.push(p);
        }
    }
}

/// A filesystem reader. Every method is a pure function of the bytes of the
/// devices; nothing opens files or touches global state. Mounts are shared
/// between threads.
pub trait Filesystem: Send + Sync + Sized + 'static {
    /// Filesystem name, e.g. `c"ext2"`.
    const NAME: &'static CStr;
    /// Plugin version.
    const VERSION: &'static CStr = c"0.1.0";
    /// Where the filesystem's magic may lie on the first device. Declaring
    /// them is a promise: [`Filesystem::probe`] answers 0 whenever none
    /// matches, so the core may skip it. Empty: always probed.
    const MAGICS: &'static [raw::RawMagic] = &[];

    /// Cheap recognition: 0 = not this filesystem, 100 = certain.
    fn probe(devices: &[Device]) -> Result<u32>;
    /// Mounts read-only with an options string.
    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self>;
    /// Id of the root directory.
    fn root(&self) -> u64;
    /// Looks `name` (one component, never `.` or `..`) up in directory `dir`.
    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64>;
    /// Metadata of an object.
    fn stat(&self, id: u64) -> Result<Stat>;
    /// Reads from `offset`; fills `buf` entirely unless end of file comes first.
    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Streams entries of `dir` (without `.` and `..`) from `cookie` (0 = start)
    /// into `sink` until it is full or the directory ends.
    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()>;
    /// A symbolic link's target.
    fn read_link(&self, id: u64) -> Result<Vec<u8>>;
    /// Maps the file's bytes from `from` on, in order and without gaps, until
    /// `sink` is full or the file ends. Default: no map (callers use `read`).
    fn extents(&self, id: u64, from: u64, sink: &mut dyn ExtentSink) -> Result<()> {
        let _ = (id, from, sink);
        Err(Error::unsupported("extent maps"))
    }
    /// The boot string, if this filesystem has one.
    fn bootstring(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// The volume label, if any.
    fn label(&self) -> Option<Vec<u8>> {
        None
    }
}

/// Collects a whole directory (bounded by `max_entries`) from a plugin called
/// directly in Rust, as tests and fuzz targets do.
pub fn list_dir<F: Filesystem>(fs: &F, dir: u64, max_entries: usize) -> Result<Vec<DirEntry>> {
    struct All<'a>(&'a mut Vec<DirEntry>, usize, bool);
    impl DirSink for All<'_> {
        fn push(&mut self, _cookie: u64, id: u64, kind: FileKind, name: &[u8]) -> bool {
            if self.0.len() >= self.1 {
                self.2 = true;
                return false;
            }
            self.0.push(DirEntry {
                name: name.to_vec(),
                id,
                kind,
            });
            true
        }
    }
    let mut out = Vec::new();
    let mut sink = All(&mut out, max_entries, false);
    fs.read_dir(dir, 0, &mut sink)?;
    if sink.2 {
        return Err(Error::limit(format!("directory entries ({max_entries})")));
    }
    Ok(out)
}

/// Resolves a `/`-separated path without following symlinks (tests, fuzzers).
pub fn lookup_path<F: Filesystem>(fs: &F, path: &[u8]) -> Result<u64> {
    let mut id = fs.root();
    for comp in path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
    {
        id = fs.lookup(id, comp)?;
    }
    Ok(id)
}

/// Reads a whole file of at most `max` bytes via [`Filesystem::read`].
pub fn read_all<F: Filesystem>(fs: &F, id: u64, max: u64) -> Result<Vec<u8>> {
    let size = fs.stat(id)?.size;
    if size > max {
        return Err(Error::limit(format!("file size {size} > {max}")));
    }
    // size <= max, and callers pass a max that fits in memory.
    let mut buf = vec![0u8; size as usize];
    let n = fs.read(id, 0, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

// ---------------------------------------------------------------------------
// The glue between the raw ABI and a `Filesystem`.

/// A byte source the core handed in through the ABI.
struct RawDevice(RawSource);

// SAFETY: the ABI contract (raw.rs) makes the core's read callback callable
// from any thread with its ctx for as long as the mount lives.
unsafe impl Send for RawDevice {}
// SAFETY: as above; the callback takes `ctx` by value and keeps no cursor.
unsafe impl Sync for RawDevice {}

impl ReadAt for RawDevice {
    fn size(&self) -> u64 {
        self.0.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        crate::io::check_range(offset, buf.len() as u64, self.0.size)?;
        let Some(f) = self.0.read_at else {
            return Err(Error::Io("source has no read callback".into()));
        };
        let mut err = RawError::new();
        // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes; `ctx`
        // is valid until unmount by the ABI contract.
        let code = unsafe { f(self.0.ctx, offset, buf.as_mut_ptr(), buf.len(), &mut err) };
        if code == 0 {
            Ok(())
        } else {
            Err(error_from_raw(code, &err))
        }
    }
}

/// Rebuilds an [`Error`] from an ABI error record.
pub fn error_from_raw(code: u32, err: &RawError) -> Error {
    let n = (err.msg_len as usize).min(err.msg.len());
    let msg = String::from_utf8_lossy(&err.msg[..n]);
    Error::from_code(ErrorCode::from_u32(code), &msg)
}

/// Fills an ABI error record; returns the code to hand back.
pub fn error_to_raw(e: &Error, out: &mut RawError) -> u32 {
    let detail = e.detail();
    let mut n = detail.len().min(out.msg.len());
    // Truncate on a character boundary so the message stays UTF-8.
    while !detail.is_char_boundary(n) {
        n -= 1;
    }
    out.msg[..n].copy_from_slice(&detail.as_bytes()[..n]);
    out.msg_len = n as u32;
    out.code = e.code() as u32;
    out.code
}

/// Runs one entry point body under a fresh [`budget`](crate::budget),
/// turning errors and panics into ABI codes.
///
/// # Safety
/// `err` must be null or point to a writable `RawError`.
unsafe fn guard(err: *mut RawError, body: impl FnOnce() -> Result<()>) -> u32 {
    let body = || crate::budget::run(crate::budget::Budget::default(), body);
    let result = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::Io(format!("plugin bug: panic: {what}")))
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let mut tmp = RawError::new();
            let code = error_to_raw(&e, &mut tmp);
            // SAFETY: the caller guarantees `err` is null or writable.
            if let Some(out) = unsafe { err.as_mut() } {
                *out = tmp;
            }
            code
        }
    }
}

/// # Safety
/// `sources` must point to `n` valid `RawSource`s (or `n` be 0).
unsafe fn devices(sources: *const RawSource, n: u32) -> Result<Vec<Device>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if sources.is_null() {
        return Err(Error::invalid("null source array"));
    }
    // SAFETY: non-null, and the caller guarantees `n` initialised entries.
    let raw = unsafe { std::slice::from_raw_parts(sources, n as usize) };
    Ok(raw.iter().map(|s| Device::new(RawDevice(*s))).collect())
}

/// # Safety
/// `fs` must be a handle returned by this plugin's `mount` and not unmounted.
unsafe fn fs_ref<'a, F: Filesystem>(fs: raw::FsHandle) -> Result<&'a F> {
    // SAFETY: the caller guarantees `fs` came from `Box::<F>::into_raw` in
    // `mount_glue` and is still alive.
    unsafe { (fs as *const F).as_ref() }.ok_or_else(|| Error::invalid("null filesystem handle"))
}

/// # Safety
/// `ptr` must be null with `len` 0, or point to `len` writable bytes.
unsafe fn out_slice<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Error::invalid("null buffer"));
    }
    // SAFETY: non-null and, by the caller, valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// # Safety
/// `ptr` must be null with `len` 0, or point to `len` readable bytes.
unsafe fn in_slice<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid("null buffer"));
    }
    // SAFETY: non-null and, by the caller, valid for `len` bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `p` must be null or writable.
unsafe fn put<T>(p: *mut T, v: T) -> Result<()> {
    if p.is_null() {
        return Err(Error::invalid("null out-pointer"));
    }
    // SAFETY: non-null and writable by the caller's guarantee.
    unsafe { p.write(v) };
    Ok(())
}

unsafe extern "C" fn probe_glue<F: Filesystem>(
    sources: *const RawSource,
    n: u32,
    confidence: *mut u32,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let devs = devices(sources, n)?;
            let c = F::probe(&devs)?.min(100);
            put(confidence, c)
        })
    }
}

unsafe extern "C" fn mount_glue<F: Filesystem>(
    sources: *const RawSource,
    n: u32,
    options: *const u8,
    options_len: usize,
    out_fs: *mut raw::FsHandle,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let devs = devices(sources, n)?;
            let opts = in_slice(options, options_len)?;
            if out_fs.is_null() {
                return Err(Error::invalid("null out-pointer"));
            }
            let fs = F::mount(devs, opts)?;
            put(out_fs, Box::into_raw(Box::new(fs)) as *mut c_void)
        })
    }
}

unsafe extern "C" fn unmount_glue<F: Filesystem>(fs: raw::FsHandle) {
    if !fs.is_null() {
        // SAFETY: `fs` came from `Box::into_raw` in `mount_glue` and the core
        // unmounts each handle exactly once, after its last call.
        let boxed = unsafe { Box::from_raw(fs as *mut F) };
        // Dropping may run plugin code; never let a panic cross the ABI.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }
}

unsafe extern "C" fn root_glue<F: Filesystem>(
    fs: raw::FsHandle,
    out: *mut u64,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe { guard(err, || put(out, fs_ref::<F>(fs)?.root())) }
}

unsafe extern "C" fn lookup_glue<F: Filesystem>(
    fs: raw::FsHandle,
    dir: u64,
    name: *const u8,
    name_len: usize,
    out: *mut u64,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let name = in_slice(name, name_len)?;
            put(out, fs_ref::<F>(fs)?.lookup(dir, name)?)
        })
    }
}

fn raw_time(t: Timespec) -> RawTimespec {
    RawTimespec {
        sec: t.sec,
        nsec: t.nsec,
        _pad: 0,
    }
}

/// Converts a [`Stat`] to its ABI form.
pub fn stat_to_raw(s: &Stat) -> RawStat {
    RawStat {
        struct_size: std::mem::size_of::<RawStat>() as u32,
        kind: s.kind as u32,
        ino: s.ino,
        perm: s.perm & 0o7777,
        uid: s.uid,
        gid: s.gid,
        _pad: 0,
        nlink: s.nlink,
        size: s.size,
        rdev: s.rdev,
        atime: raw_time(s.atime),
        mtime: raw_time(s.mtime),
        ctime: raw_time(s.ctime),
    }
}

/// Converts an ABI stat back (fields past `struct_size` stay zero).
pub fn stat_from_raw(r: &RawStat) -> Stat {
    let t = |t: RawTimespec| Timespec {
        sec: t.sec,
        nsec: t.nsec.min(999_999_999),
    };
    Stat {
        ino: r.ino,
        kind: FileKind::from_u8(u8::try_from(r.kind).unwrap_or(0)),
        perm: r.perm & 0o7777,
        uid: r.uid,
        gid: r.gid,
        nlink: r.nlink,
        size: r.size,
        atime: t(r.atime),
        mtime: t(r.mtime),
        ctime: t(r.ctime),
        rdev: r.rdev,
    }
}

unsafe extern "C" fn stat_glue<F: Filesystem>(
    fs: raw::FsHandle,
    id: u64,
    out: *mut RawStat,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            if out.is_null() {
                return Err(Error::invalid("null out-pointer"));
            }
            let st = stat_to_raw(&fs_ref::<F>(fs)?.stat(id)?);
            // Write no byte past what the caller says its struct holds.
            let caller = (*out).struct_size as usize;
            let n = caller.min(std::mem::size_of::<RawStat>());
            let src = std::slice::from_raw_parts((&st as *const RawStat).cast::<u8>(), n);
            let dst = std::slice::from_raw_parts_mut(out.cast::<u8>(), n);
            // Keep the caller's struct_size as it was.
            let keep = 4.min(n);
            dst[keep..].copy_from_slice(&src[keep..]);
            Ok(())
        })
    }
}

unsafe extern "C" fn read_glue<F: Filesystem>(
    fs: raw::FsHandle,
    id: u64,
    offset: u64,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let buf = out_slice(buf, len)?;
            let n = fs_ref::<F>(fs)?.read(id, offset, buf)?;
            put(out_len, n.min(len))
        })
    }
}

/// Packs directory records into a caller's buffer (the ABI's `read_dir`).
pub struct BufferDirSink<'a> {
    buf: &'a mut [u8],
    used: usize,
    /// Cookie of the first entry that did not fit.
    pub next: Option<u64>,
    /// Size the first entry needed when even it did not fit.
    pub too_small: Option<usize>,
}

impl<'a> BufferDirSink<'a> {
    /// A sink over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        BufferDirSink {
            buf,
            used: 0,
            next: None,
            too_small: None,
        }
    }
    /// Bytes written.
    pub fn used(&self) -> usize {
        self.used
    }
}

impl DirSink for BufferDirSink<'_> {
    fn push(&mut self, cookie: u64, id: u64, kind: FileKind, name: &[u8]) -> bool {
        if self.next.is_some() {
            return false;
        }
        let Ok(name_len) = u16::try_from(name.len()) else {
            // A name longer than any filesystem allows: refuse the listing.
            self.next = Some(cookie);
            self.too_small = Some(usize::MAX);
            return false;
        };
        let need = raw::DIRENT_HEADER_LEN + name.len();
        if self.buf.len() - self.used < need {
            self.next = Some(cookie);
            if self.used == 0 {
                self.too_small = Some(need);
            }
            return false;
        }
        let rec = &mut self.buf[self.used..self.used + need];
        rec[0..8].copy_from_slice(&id.to_le_bytes());
        rec[8] = kind as u8;
        rec[9] = 0;
        rec[10..12].copy_from_slice(&name_len.to_le_bytes());
        rec[12..].copy_from_slice(name);
        self.used += need;
        true
    }
}

/// Decodes records packed by [`BufferDirSink`]; stops at the first malformed
/// one (reported as an error so a hostile peer cannot hide it).
pub fn decode_dir_records(mut buf: &[u8]) -> Result<Vec<DirEntry>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some((head, rest)) = buf.split_at_checked(raw::DIRENT_HEADER_LEN) else {
            return Err(Error::corrupt("directory record header truncated"));
        };
        let id = u64::from_le_bytes(head[0..8].try_into().unwrap_or_default());
        let kind = FileKind::from_u8(head[8]);
        let name_len = u16::from_le_bytes([head[10], head[11]]) as usize;
        let Some((name, rest)) = rest.split_at_checked(name_len) else {
            return Err(Error::corrupt("directory record name truncated"));
        };
        if !crate::is_component(name) {
            return Err(Error::corrupt("directory record with an invalid name"));
        }
        out.push(DirEntry {
            name: name.to_vec(),
            id,
            kind,
        });
        buf = rest;
    }
    Ok(out)
}

unsafe extern "C" fn read_dir_glue<F: Filesystem>(
    fs: raw::FsHandle,
    dir: u64,
    cookie: u64,
    buf: *mut u8,
    len: usize,
    out_used: *mut usize,
    next_cookie: *mut u64,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let buf = out_slice(buf, len)?;
            let mut sink = BufferDirSink::new(buf);
            fs_ref::<F>(fs)?.read_dir(dir, cookie, &mut sink)?;
            if let Some(needed) = sink.too_small {
                return Err(Error::BufferTooSmall {
                    needed: needed as u64,
                });
            }
            put(out_used, sink.used())?;
            put(next_cookie, sink.next.unwrap_or(raw::COOKIE_EOF))
        })
    }
}

/// Copies `data` into a caller buffer, reporting the full length.
///
/// # Safety
/// As [`out_slice`] and [`put`].
unsafe fn copy_out(data: &[u8], buf: *mut u8, len: usize, out_len: *mut usize) -> Result<()> {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        let dst = out_slice(buf, len)?;
        let n = data.len().min(dst.len());
        dst[..n].copy_from_slice(&data[..n]);
        put(out_len, data.len())
    }
}

unsafe extern "C" fn read_link_glue<F: Filesystem>(
    fs: raw::FsHandle,
    id: u64,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let target = fs_ref::<F>(fs)?.read_link(id)?;
            copy_out(&target, buf, len, out_len)
        })
    }
}

struct BufferExtentSink<'a> {
    out: &'a mut [RawExtent],
    n: usize,
}

impl ExtentSink for BufferExtentSink<'_> {
    fn push(&mut self, e: Extent) -> bool {
        let Some(slot) = self.out.get_mut(self.n) else {
            return false;
        };
        *slot = RawExtent {
            file_offset: e.file_offset,
            length: e.length,
            device_offset: e.device_offset,
            device: e.device,
            kind: e.kind as u32,
        };
        self.n += 1;
        true
    }
}

unsafe extern "C" fn extents_glue<F: Filesystem>(
    fs: raw::FsHandle,
    id: u64,
    from: u64,
    out: *mut RawExtent,
    max: usize,
    out_n: *mut usize,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let slots: &mut [RawExtent] = if max == 0 {
                &mut []
            } else if out.is_null() {
                return Err(Error::invalid("null buffer"));
            } else {
                std::slice::from_raw_parts_mut(out, max)
            };
            let mut sink = BufferExtentSink { out: slots, n: 0 };
            fs_ref::<F>(fs)?.extents(id, from, &mut sink)?;
            put(out_n, sink.n)
        })
    }
}

unsafe extern "C" fn bootstring_glue<F: Filesystem>(
    fs: raw::FsHandle,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let s = fs_ref::<F>(fs)?.bootstring()?.unwrap_or_default();
            copy_out(&s, buf, len, out_len)
        })
    }
}

unsafe extern "C" fn label_glue<F: Filesystem>(
    fs: raw::FsHandle,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    err: *mut RawError,
) -> u32 {
    // SAFETY: pointers as documented in raw.rs, checked for null inside.
    unsafe {
        guard(err, || {
            let s = fs_ref::<F>(fs)?.label().unwrap_or_default();
            copy_out(&s, buf, len, out_len)
        })
    }
}

/// The vtable for `F`; used by [`export_plugin!`](crate::export_plugin).
pub const fn vtable<F: Filesystem>() -> raw::PluginVtable {
    raw::PluginVtable {
        magic: raw::PLUGIN_MAGIC,
        abi_major: raw::ABI_MAJOR,
        abi_minor: raw::ABI_MINOR,
        vtable_size: std::mem::size_of::<raw::PluginVtable>() as u32,
        _reserved: 0,
        name: F::NAME.as_ptr(),
        version: F::VERSION.as_ptr(),
        probe: Some(probe_glue::<F>),
        mount: Some(mount_glue::<F>),
        unmount: Some(unmount_glue::<F>),
        root: Some(root_glue::<F>),
        lookup: Some(lookup_glue::<F>),
        stat: Some(stat_glue::<F>),
        read: Some(read_glue::<F>),
        read_dir: Some(read_dir_glue::<F>),
        read_link: Some(read_link_glue::<F>),
        extents: Some(extents_glue::<F>),
        bootstring: Some(bootstring_glue::<F>),
        label: Some(label_glue::<F>),
        magics: if F::MAGICS.is_empty() {
            std::ptr::null()
        } else {
            F::MAGICS.as_ptr()
        },
        nmagics: F::MAGICS.len(),
    }
}

/// Exports a [`Filesystem`] implementation as an fsimage plugin: defines the
/// one entry symbol the core looks for.
#[macro_export]
macro_rules! export_plugin {
    ($fs:ty) => {
        /// The fsimage plugin entry point.
        #[unsafe(no_mangle)]
        pub extern "C" fn fsimage_plugin_entry() -> *const $crate::raw::PluginVtable {
            static VTABLE: $crate::raw::PluginVtable = $crate::sdk::vtable::<$fs>();
            &VTABLE
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most `cap` extents.
    struct Capped(Vec<Extent>, usize);
    impl ExtentSink for Capped {
        fn push(&mut self, e: Extent) -> bool {
            if self.0.len() >= self.1 {
                return false;
            }
            self.0.push(e);
            true
        }
    }

    #[test]
    fn coalesce_merges_only_what_follows_on() {
        let mut sink = Capped(Vec::new(), 10);
        let mut c = Coalesce::new(&mut sink);
        assert!(c.push(Extent::data(0, 4096, 8192)));
        assert!(c.push(Extent::data(4096, 4096, 12288))); // contiguous: merged
        assert!(c.push(Extent::data(8192, 4096, 0))); // elsewhere on disk
        assert!(c.push(Extent::zero(12288, 100)));
        assert!(c.push(Extent::zero(12388, 100))); // merged
        assert!(c.push(Extent::opaque(12488, 5)));
        c.finish();
        assert_eq!(
            sink.0,
            [
                Extent::data(0, 8192, 8192),
                Extent::data(8192, 4096, 0),
                Extent::zero(12288, 200),
                Extent::opaque(12488, 5),
            ]
        );
    }

    #[test]
    fn coalesce_stops_when_the_sink_is_full() {
        let mut sink = Capped(Vec::new(), 1);
        let mut c = Coalesce::new(&mut sink);
        assert!(c.push(Extent::zero(0, 1)));
        assert!(c.push(Extent::opaque(1, 1)));
        assert!(!c.push(Extent::zero(2, 1))); // the opaque one did not fit
        assert!(!c.push(Extent::zero(3, 1)));
        c.finish();
        assert_eq!(sink.0, [Extent::zero(0, 1)]);
        let mut sink = Capped(Vec::new(), 4);
        opaque_tail(7, 7, &mut sink);
        opaque_tail(3, 7, &mut sink);
        assert_eq!(sink.0, [Extent::opaque(3, 4)]);
    }
}
