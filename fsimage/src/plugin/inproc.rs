//! Calling a plugin loaded into this process through its vtable. This is
//! the ABI edge on the core's side: all of its `unsafe` is here.

use super::{DIR_CHUNK_BYTES, Mount, Plugin};
use fsimage_abi::raw::{self, FsHandle, RawError, RawExtent, RawSource, RawStat};
use fsimage_abi::sdk::{decode_dir_records, error_from_raw, error_to_raw, stat_from_raw};
use fsimage_abi::{DirEntry, Error, Extent, ExtentKind, ReadAt, Result, Stat};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// Biggest symlink target, label or boot string accepted from a plugin.
const MAX_STRING: usize = 1 << 20;

/// What a [`RawSource`]'s `ctx` points at.
struct SourceCtx {
    dev: Arc<dyn ReadAt>,
}

/// The read callback the core hands plugins.
unsafe extern "C" fn source_read(
    ctx: *mut c_void,
    offset: u64,
    buf: *mut u8,
    len: usize,
    err: *mut RawError,
) -> u32 {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` is the address of a `SourceCtx` owned by the mount
        // (or probe) that handed this source out, alive for its whole use.
        let ctx = unsafe { &*(ctx as *const SourceCtx) };
        if len == 0 {
            return ctx.dev.read_exact_at(offset, &mut []);
        }
        if buf.is_null() {
            return Err(Error::invalid("null read buffer"));
        }
        // SAFETY: the plugin passes a writable buffer of `len` bytes.
        let slice = unsafe { std::slice::from_raw_parts_mut(buf, len) };
        ctx.dev.read_exact_at(offset, slice)
    }));
    let r = r.unwrap_or_else(|_| Err(Error::Io("panic while reading the image".into())));
    match r {
        Ok(()) => 0,
        Err(e) => {
            // SAFETY: `err` is the plugin's writable error record (or null).
            match unsafe { err.as_mut() } {
                Some(out) => error_to_raw(&e, out),
                None => e.code() as u32,
            }
        }
    }
}

/// Stable-address source contexts plus the raw array pointing at them.
struct Sources {
    _ctxs: Box<[SourceCtx]>,
    raws: Box<[RawSource]>,
}

impl Sources {
    fn new(devices: &[Arc<dyn ReadAt>]) -> Sources {
        let ctxs: Box<[SourceCtx]> = devices
            .iter()
            .map(|d| SourceCtx { dev: d.clone() })
            .collect();
        let raws = ctxs
            .iter()
            .map(|c| RawSource {
                ctx: c as *const SourceCtx as *mut c_void,
                size: c.dev.size(),
                read_at: Some(source_read),
            })
            .collect();
        Sources { _ctxs: ctxs, raws }
    }
    fn count(&self) -> u32 {
        u32::try_from(self.raws.len()).unwrap_or(u32::MAX)
    }
}

fn check(code: u32, err: &RawError) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(error_from_raw(code, err))
    }
}

/// Asks `plugin` whether `devices` hold its filesystem (0-100).
pub fn probe_in_process(plugin: &Plugin, devices: &[Arc<dyn ReadAt>]) -> Result<u32> {
    let sources = Sources::new(devices);
    let probe = plugin.vtable().probe.ok_or(Error::unsupported("probe"))?;
    let mut conf = 0u32;
    let mut err = RawError::new();
    // SAFETY: the sources array and its contexts live until the call returns;
    // the out-pointers are valid locals. The loader checked the entry exists.
    let code = unsafe { probe(sources.raws.as_ptr(), sources.count(), &mut conf, &mut err) };
    check(code, &err)?;
    Ok(conf.min(100))
}

/// A filesystem mounted by a plugin running in this process.
pub struct InProcessMount {
    plugin: Arc<Plugin>,
    handle: FsHandle,
    // Must outlive `handle`: the plugin keeps reading through them.
    _sources: Sources,
}

// SAFETY: the ABI requires mount handles to be usable from any thread at once
// (the SDK enforces `Filesystem: Send + Sync`); the source contexts hold
// `Arc<dyn ReadAt>`, which is Send + Sync.
unsafe impl Send for InProcessMount {}
// SAFETY: as above.
unsafe impl Sync for InProcessMount {}

impl Drop for InProcessMount {
    fn drop(&mut self) {
        if let Some(unmount) = self.plugin.vtable().unmount {
            // SAFETY: `handle` came from this plugin's mount and is unmounted
            // exactly once, here, after every borrow of `self` has ended.
            unsafe { unmount(self.handle) };
        }
    }
}

impl InProcessMount {
    /// Mounts `devices` with `plugin` and an options string.
    pub fn mount(plugin: Arc<Plugin>, devices: &[Arc<dyn ReadAt>], options: &[u8]) -> Result<Self> {
        let sources = Sources::new(devices);
        let mount = plugin.vtable().mount.ok_or(Error::unsupported("mount"))?;
        let mut handle: FsHandle = std::ptr::null_mut();
        let mut err = RawError::new();
        // SAFETY: sources and options are valid for the call; the sources'
        // contexts move into the returned mount and outlive the handle.
        let code = unsafe {
            mount(
                sources.raws.as_ptr(),
                sources.count(),
                options.as_ptr(),
                options.len(),
                &mut handle,
                &mut err,
            )
        };
        check(code, &err)?;
        if handle.is_null() {
            return Err(Error::Io(format!(
                "plugin {} mounted without a handle",
                plugin.name()
            )));
        }
        Ok(InProcessMount {
            plugin,
            handle,
            _sources: sources,
        })
    }

    /// Calls an entry taking (buf, len, out_len) until the buffer is big
    /// enough, up to [`MAX_STRING`].
    fn string_call(
        &self,
        f: impl Fn(*mut u8, usize, &mut usize, &mut RawError) -> u32,
    ) -> Result<Vec<u8>> {
        let mut cap = 1024usize;
        loop {
            let mut buf = vec![0u8; cap];
            let mut len = 0usize;
            let mut err = RawError::new();
            check(f(buf.as_mut_ptr(), cap, &mut len, &mut err), &err)?;
            if len <= cap {
                buf.truncate(len);
                return Ok(buf);
            }
            if len > MAX_STRING {
                return Err(Error::limit(format!(
                    "string of {len} bytes > {MAX_STRING}"
                )));
            }
            cap = len;
        }
    }
}

impl Mount for InProcessMount {
    fn fs_name(&self) -> &str {
        self.plugin.name()
    }

    fn root(&self) -> Result<u64> {
        let f = self
            .plugin
            .vtable()
            .root
            .ok_or(Error::unsupported("root"))?;
        let (mut id, mut err) = (0u64, RawError::new());
        // SAFETY: live handle, valid out-pointers.
        check(unsafe { f(self.handle, &mut id, &mut err) }, &err)?;
        Ok(id)
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        let f = self
            .plugin
            .vtable()
            .lookup
            .ok_or(Error::unsupported("lookup"))?;
        let (mut id, mut err) = (0u64, RawError::new());
        // SAFETY: live handle; `name` valid for its length; valid out-pointers.
        let code = unsafe {
            f(
                self.handle,
                dir,
                name.as_ptr(),
                name.len(),
                &mut id,
                &mut err,
            )
        };
        check(code, &err)?;
        Ok(id)
    }

    fn stat(&self, id: u64) -> Result<Stat> {
        let f = self
            .plugin
            .vtable()
            .stat
            .ok_or(Error::unsupported("stat"))?;
        let mut st = RawStat {
            struct_size: std::mem::size_of::<RawStat>() as u32,
            ..RawStat::default()
        };
        let mut err = RawError::new();
        // SAFETY: live handle; `st` is a full RawStat whose struct_size says so.
        check(unsafe { f(self.handle, id, &mut st, &mut err) }, &err)?;
        Ok(stat_from_raw(&st))
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let f = self
            .plugin
            .vtable()
            .read
            .ok_or(Error::unsupported("read"))?;
        let (mut n, mut err) = (0usize, RawError::new());
        // SAFETY: live handle; `buf` writable for its length.
        let code = unsafe {
            f(
                self.handle,
                id,
                offset,
                buf.as_mut_ptr(),
                buf.len(),
                &mut n,
                &mut err,
            )
        };
        check(code, &err)?;
        if n > buf.len() {
            return Err(Error::Io(format!(
                "plugin {} read more than asked",
                self.plugin.name()
            )));
        }
        Ok(n)
    }

    fn read_dir(&self, dir: u64, cookie: u64, out: &mut Vec<DirEntry>) -> Result<u64> {
        let f = self
            .plugin
            .vtable()
            .read_dir
            .ok_or(Error::unsupported("read_dir"))?;
        let mut cap = DIR_CHUNK_BYTES;
        loop {
            let mut buf = vec![0u8; cap];
            let (mut used, mut next, mut err) = (0usize, 0u64, RawError::new());
            // SAFETY: live handle; `buf` writable for `cap`; valid out-pointers.
            let code = unsafe {
                f(
                    self.handle,
                    dir,
                    cookie,
                    buf.as_mut_ptr(),
                    cap,
                    &mut used,
                    &mut next,
                    &mut err,
                )
            };
            match check(code, &err) {
                Err(Error::BufferTooSmall { needed })
                    if needed as usize > cap && needed <= 1 << 20 =>
                {
                    cap = needed as usize;
                    continue;
                }
                r => r?,
            }
            let Some(records) = buf.get(..used) else {
                return Err(Error::Io(
                    "plugin reported more directory bytes than its buffer".into(),
                ));
            };
            out.extend(decode_dir_records(records)?);
            if next == cookie && used == 0 {
                return Err(Error::corrupt("directory listing made no progress"));
            }
            return Ok(next);
        }
    }

    fn read_link(&self, id: u64) -> Result<Vec<u8>> {
        let f = self
            .plugin
            .vtable()
            .read_link
            .ok_or(Error::unsupported("read_link"))?;
        self.string_call(|buf, len, out, err| {
            // SAFETY: live handle; buffer and out-pointers from string_call.
            unsafe { f(self.handle, id, buf, len, out, err) }
        })
    }

    fn extents(&self, id: u64, from: u64, max: usize) -> Result<Vec<Extent>> {
        let f = self
            .plugin
            .vtable()
            .extents
            .ok_or(Error::unsupported("extent maps"))?;
        let mut raw_ext = vec![RawExtent::default(); max];
        let (mut n, mut err) = (0usize, RawError::new());
        // SAFETY: live handle; `raw_ext` holds `max` writable entries.
        let code = unsafe {
            f(
                self.handle,
                id,
                from,
                raw_ext.as_mut_ptr(),
                max,
                &mut n,
                &mut err,
            )
        };
        check(code, &err)?;
        let got = raw_ext
            .get(..n)
            .ok_or_else(|| Error::Io("plugin returned more extents than asked".into()))?;
        got.iter()
            .map(|r| {
                let kind = match r.kind {
                    0 => ExtentKind::Data,
                    1 => ExtentKind::Zero,
                    2 => ExtentKind::Opaque,
                    k => return Err(Error::corrupt(format!("plugin extent kind {k}"))),
                };
                Ok(Extent {
                    file_offset: r.file_offset,
                    length: r.length,
                    kind,
                    device: r.device,
                    device_offset: r.device_offset,
                })
            })
            .collect()
    }

    fn bootstring(&self) -> Result<Option<Vec<u8>>> {
        let Some(f) = self.plugin.vtable().bootstring else {
            return Ok(None);
        };
        let s = self.string_call(|buf, len, out, err| {
            // SAFETY: live handle; buffer and out-pointers from string_call.
            unsafe { f(self.handle, buf, len, out, err) }
        })?;
        Ok((!s.is_empty()).then_some(s))
    }

    fn label(&self) -> Result<Option<Vec<u8>>> {
        let Some(f) = self.plugin.vtable().label else {
            return Ok(None);
        };
        let s = self.string_call(|buf, len, out, err| {
            // SAFETY: live handle; buffer and out-pointers from string_call.
            unsafe { f(self.handle, buf, len, out, err) }
        })?;
        Ok((!s.is_empty()).then_some(s))
    }
}

#[allow(dead_code)]
const _: () = assert!(raw::DIRENT_HEADER_LEN == 12);
