//! The worker's request loop: decode a request, call the plugin, reply.
//! Plugins read their devices through [`RemoteDevice`], which asks the host.

use fsimage::plugin::{InProcessMount, Mount, Plugin, probe_in_process};
use fsimage::sandbox::protocol::{
    self, DevSpec, Frame, K_ERR, K_OK, K_READY, K_SOURCE_DATA, K_SOURCE_DATA_SHM, K_SOURCE_ERR,
    K_SOURCE_READ, MAX_SOURCE_READ, Request,
};
use fsimage::sandbox::shm;
use fsimage_abi::io::check_range;
use fsimage_abi::{Error, ReadAt, Result};
use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::{Arc, Mutex};

/// Mounts one worker keeps at once.
const MAX_MOUNTS: usize = 16;

/// The socket to the host is standard input (descriptor 0).
fn sock() -> BorrowedFd<'static> {
    // SAFETY: descriptor 0 is the socket the host gave us; nothing in the
    // worker closes it, so it stays open for the life of the process.
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// One request/reply exchange at a time on the socket.
static CHAN: Mutex<()> = Mutex::new(());

fn read_full(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match rustix::io::read(sock(), &mut buf[done..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn write_full(mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match rustix::io::write(sock(), buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Reads one frame: its body length, then the body.
fn read_frame() -> std::io::Result<Vec<u8>> {
    let mut h = [0u8; 4];
    read_full(&mut h)?;
    let len = protocol::decode_header(h).map_err(std::io::Error::other)?;
    let mut body = vec![0u8; len];
    read_full(&mut body)?;
    Ok(body)
}

/// The shared memory window (`fsimage::sandbox::shm`): the host puts device
/// bytes in its first half, we put READ results in its second.
struct Window(NonNull<u8>);

// SAFETY: the mapping lives for the whole process; its halves are used in
// turn with the host, under `CHAN` (device bytes) or by the one serving
// thread (READ results).
unsafe impl Send for Window {}
// SAFETY: as above.
unsafe impl Sync for Window {}

static WINDOW: OnceLock<Window> = OnceLock::new();

/// Maps the window the host passed as standard output (before lock-down;
/// standard output is pointed at `/dev/null` next).
pub fn map_window() -> std::io::Result<()> {
    // SAFETY: descriptor 1 is the host's memfd of `shm::LEN` bytes; a new
    // shared mapping of it, checked below, kept for the life of the process.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            shm::LEN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    let p = NonNull::new(p.cast()).ok_or_else(|| std::io::Error::other("null mapping"))?;
    let _ = WINDOW.set(Window(p));
    Ok(())
}

/// Copies `dst.len()` bytes from the window at `at`.
fn window_read(at: usize, dst: &mut [u8]) -> bool {
    let Some(w) = WINDOW.get() else {
        return false;
    };
    if at.checked_add(dst.len()).is_none_or(|e| e > shm::LEN) {
        return false;
    }
    // SAFETY: inside the mapping (checked above); `dst` is our own memory.
    unsafe { std::ptr::copy_nonoverlapping(w.0.as_ptr().add(at), dst.as_mut_ptr(), dst.len()) };
    true
}

/// The window's second half, for a READ's bytes, if there is a window.
fn window_out(len: usize) -> Option<&'static mut [u8]> {
    let w = WINDOW.get()?;
    if len > shm::HALF {
        return None;
    }
    // SAFETY: the second half of the mapping (`OUT + len <= LEN`), used
    // only by the serving thread while it answers one READ, and read by the
    // host only after that answer: nothing else touches it meanwhile.
    Some(unsafe { std::slice::from_raw_parts_mut(w.0.as_ptr().add(shm::OUT), len) })
}

/// Waits for the host's LOAD: the plugin files to load.
pub fn read_load() -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let body = read_frame()?;
    let paths = protocol::decode_load(&body).map_err(std::io::Error::other)?;
    Ok(paths
        .into_iter()
        .map(|p| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p)))
        .collect())
}

/// Bytes fetched from the host per cached block.
const BLOCK: u64 = 64 * 1024;
/// Blocks cached per device (4 MiB).
const CACHE_BLOCKS: usize = 64;

/// A device the plugin reads: every read is a SOURCE_READ to the host, but
/// small reads fetch and keep whole 64 KiB blocks, since plugins read
/// metadata in many small neighbouring pieces and each fetch is a round
/// trip. The image is read-only, so the cache never goes stale.
struct RemoteDevice {
    spec: DevSpec,
    cache: Mutex<BlockCache>,
    ahead: Mutex<ReadAhead>,
}

/// Bytes fetched ahead once large reads run sequentially (a ZFS file's
/// records, read in order, mostly lie in order on the device).
const READ_AHEAD: u64 = 4 << 20;

/// Sequential large reads: where the last one ended, and the window
/// fetched ahead of it.
#[derive(Default)]
struct ReadAhead {
    next: Option<u64>,
    window: Option<(u64, Arc<Vec<u8>>)>,
}

#[derive(Default)]
struct BlockCache {
    blocks: HashMap<u64, (Arc<Vec<u8>>, u64)>,
    tick: u64,
}

/// The host broke the protocol while answering a device read: nothing
/// sensible can follow, so the worker leaves.
fn host_broke(why: impl std::fmt::Display) -> ! {
    let _ = why;
    std::process::exit(4)
}

impl RemoteDevice {
    fn read_chunk(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let _chan = CHAN.lock().unwrap_or_else(|p| p.into_inner());
        let req = Frame::new(K_SOURCE_READ)
            .u32(self.spec.slot)
            .u64(offset)
            .u32(buf.len() as u32)
            .finish()
            .map_err(|e| Error::Io(e.0))?;
        if write_full(&req).is_err() {
            host_broke("socket closed");
        }
        let mut h = [0u8; 5];
        if read_full(&mut h).is_err() {
            host_broke("socket closed");
        }
        let len = match protocol::decode_header([h[0], h[1], h[2], h[3]]) {
            Ok(l) => l - 1,
            Err(e) => host_broke(e),
        };
        match h[4] {
            K_SOURCE_DATA if len == buf.len() => {
                if read_full(buf).is_err() {
                    host_broke("socket closed");
                }
                Ok(())
            }
            K_SOURCE_DATA_SHM if len == 0 => {
                if !window_read(shm::IN, buf) {
                    host_broke("device bytes in a shared window we do not have");
                }
                Ok(())
            }
            K_SOURCE_ERR => {
                let mut body = vec![0u8; len];
                if read_full(&mut body).is_err() {
                    host_broke("socket closed");
                }
                match protocol::decode_error(&body) {
                    Ok(e) => Err(e),
                    Err(e) => host_broke(e),
                }
            }
            k => host_broke(format!(
                "kind {k:#x} of {len} bytes answering a device read"
            )),
        }
    }
}

impl RemoteDevice {
    fn new(spec: DevSpec) -> RemoteDevice {
        RemoteDevice {
            spec,
            cache: Mutex::new(BlockCache::default()),
            ahead: Mutex::new(ReadAhead::default()),
        }
    }

    /// Block `b` (index), from the cache or the host.
    fn block(&self, b: u64) -> Result<Arc<Vec<u8>>> {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.tick += 1;
        let tick = c.tick;
        if let Some((data, used)) = c.blocks.get_mut(&b) {
            *used = tick;
            return Ok(data.clone());
        }
        let start = b * BLOCK;
        let len = BLOCK.min(self.spec.size - start) as usize;
        let mut data = vec![0u8; len];
        self.read_chunk(start, &mut data)?;
        let data = Arc::new(data);
        if c.blocks.len() >= CACHE_BLOCKS {
            let oldest = c
                .blocks
                .iter()
                .min_by_key(|(_, (_, u))| *u)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                c.blocks.remove(&k);
            }
        }
        c.blocks.insert(b, (data.clone(), tick));
        Ok(data)
    }
}

impl ReadAt for RemoteDevice {
    fn size(&self) -> u64 {
        self.spec.size
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.spec.size)?;
        if buf.len() as u64 <= BLOCK {
            // At most two blocks; in range, so no overflow below.
            let mut done = 0usize;
            while done < buf.len() {
                let pos = offset + done as u64;
                let block = self.block(pos / BLOCK)?;
                let within = (pos % BLOCK) as usize;
                let avail = block.get(within..).unwrap_or_default();
                let n = avail.len().min(buf.len() - done);
                if n == 0 {
                    return Err(Error::Io("device block shorter than its size".into()));
                }
                buf[done..done + n].copy_from_slice(&avail[..n]);
                done += n;
            }
            return Ok(());
        }
        self.read_large(offset, buf)
    }
}

impl RemoteDevice {
    /// A read larger than a cached block: from the read-ahead window when
    /// it holds it, else straight from the host; a read that starts where
    /// the last ended (re)fills the window from there first.
    fn read_large(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let len = buf.len() as u64;
        let mut ra = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
        let in_window = |ra: &ReadAhead| {
            ra.window.as_ref().and_then(|(start, data)| {
                let from = usize::try_from(offset.checked_sub(*start)?).ok()?;
                data.get(from..from.checked_add(buf.len())?).map(|_| from)
            })
        };
        if in_window(&ra).is_none() && ra.next == Some(offset) && len < READ_AHEAD {
            // In range (checked by the caller): no overflow.
            let want = READ_AHEAD.min(self.spec.size - offset) as usize;
            // The old window's buffer, if no reader holds it: every byte is
            // overwritten, so it is not cleared.
            let mut data = ra
                .window
                .take()
                .and_then(|(_, a)| Arc::try_unwrap(a).ok())
                .unwrap_or_default();
            data.resize(want, 0);
            self.read_chunk(offset, &mut data)?;
            ra.window = Some((offset, Arc::new(data)));
        }
        ra.next = Some(offset + len);
        if let (Some(from), Some((_, data))) = (in_window(&ra), ra.window.as_ref()) {
            buf.copy_from_slice(&data[from..from + buf.len()]);
            return Ok(());
        }
        drop(ra);
        let mut off = offset;
        for chunk in buf.chunks_mut(MAX_SOURCE_READ as usize) {
            self.read_chunk(off, chunk)?;
            off += chunk.len() as u64;
        }
        Ok(())
    }
}

/// Devices remembered between requests, so a mount reads through the
/// blocks its probe already fetched (the host names the same device by the
/// same slot). Each holds at most [`CACHE_BLOCKS`] blocks.
const KEEP_DEVICES: usize = 16;

struct State {
    plugins: Vec<Option<Arc<Plugin>>>,
    mounts: HashMap<u32, InProcessMount>,
    next: u32,
    devices: HashMap<u32, Arc<RemoteDevice>>,
}

impl State {
    /// The devices `specs` name: the remembered ones, or new ones.
    fn devices(&mut self, specs: &[DevSpec]) -> Vec<Arc<dyn ReadAt>> {
        let out: Vec<Arc<RemoteDevice>> = specs
            .iter()
            .map(|&spec| match self.devices.get(&spec.slot) {
                Some(d) if d.spec == spec => d.clone(),
                _ => Arc::new(RemoteDevice::new(spec)),
            })
            .collect();
        for d in &out {
            self.devices.insert(d.spec.slot, d.clone());
        }
        if self.devices.len() > KEEP_DEVICES {
            let keep: Vec<u32> = specs.iter().map(|s| s.slot).collect();
            self.devices.retain(|k, _| keep.contains(k));
        }
        out.into_iter().map(|d| d as Arc<dyn ReadAt>).collect()
    }

    fn plugin(&self, i: u16) -> Result<Arc<Plugin>> {
        self.plugins
            .get(i as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| Error::invalid(format!("plugin {i} is not loaded in the worker")))
    }

    fn mount(&self, h: u32) -> Result<&InProcessMount> {
        self.mounts
            .get(&h)
            .ok_or_else(|| Error::invalid(format!("no mount {h}")))
    }

    /// Handles one request; the reply frame's parts.
    fn handle(&mut self, req: Request<'_>) -> Result<Vec<Vec<u8>>> {
        let ok = Frame::new(K_OK);
        let f = match req {
            Request::Probe { plugin, devices: d } => {
                let p = self.plugin(plugin)?;
                ok.u32(probe_in_process(&p, &self.devices(&d))?.min(100))
            }
            Request::Mount {
                plugin,
                devices: d,
                options,
            } => {
                let p = self.plugin(plugin)?;
                if self.mounts.len() >= MAX_MOUNTS {
                    return Err(Error::limit(format!("mounts per worker ({MAX_MOUNTS})")));
                }
                let m = InProcessMount::mount(p, &self.devices(&d), options)?;
                let root = m.root();
                let h = self.next;
                self.next = self.next.wrapping_add(1);
                self.mounts.insert(h, m);
                match root {
                    Ok(r) => ok.u32(h).u64(r),
                    Err(_) => ok.u32(h),
                }
            }
            Request::Unmount(h) => {
                self.mounts.remove(&h);
                ok
            }
            Request::Root(h) => ok.u64(self.mount(h)?.root()?),
            Request::Lookup { handle, dir, name } => {
                let m = self.mount(handle)?;
                let id = m.lookup(dir, name)?;
                // A path walk stats what it looked up: save it the trip.
                match m.stat(id) {
                    Ok(st) => protocol::encode_stat(ok.u64(id), &st),
                    Err(_) => ok.u64(id),
                }
            }
            Request::Stat(h, id) => protocol::encode_stat(ok, &self.mount(h)?.stat(id)?),
            Request::Read {
                handle,
                id,
                offset,
                len,
            } => {
                let m = self.mount(handle)?;
                if let Some(out) = window_out(len as usize) {
                    let n = m.read(id, offset, out)?.min(out.len());
                    return Ok(vec![ok_shm(n)?]);
                }
                let mut buf = vec![0u8; len as usize];
                let n = m.read(id, offset, &mut buf)?.min(buf.len());
                buf.truncate(n);
                let h = protocol::header_for(K_OK, n).map_err(|e| Error::Io(e.0))?;
                return Ok(vec![h.to_vec(), buf]);
            }
            Request::ReadDir {
                handle,
                dir,
                cookie,
            } => {
                let mut entries = Vec::new();
                let next = self.mount(handle)?.read_dir(dir, cookie, &mut entries)?;
                let mut f = ok.u64(next);
                for e in &entries {
                    let Ok(n) = u16::try_from(e.name.len()) else {
                        return Err(Error::corrupt("directory entry name longer than 64 KiB"));
                    };
                    f = f.u64(e.id).u8(e.kind as u8).u8(0).u16(n).bytes(&e.name);
                }
                f
            }
            Request::ReadLink(h, id) => ok.bytes(&self.mount(h)?.read_link(id)?),
            Request::Extents {
                handle,
                id,
                from,
                max,
            } => {
                let e = self.mount(handle)?.extents(id, from, max as usize)?;
                let n = e.len().min(max as usize);
                protocol::encode_extents(ok, &e[..n])
            }
            Request::Bootstring(h) => match self.mount(h)?.bootstring()? {
                Some(s) => ok.u8(1).bytes(&s),
                None => ok.u8(0),
            },
            Request::Label(h) => match self.mount(h)?.label()? {
                Some(s) => ok.u8(1).bytes(&s),
                None => ok.u8(0),
            },
        };
        Ok(vec![f.finish().map_err(|e| Error::limit(e.0))?])
    }
}

/// OK_SHM for `n` bytes.
fn ok_shm(n: usize) -> Result<Vec<u8>> {
    let n = u32::try_from(n).map_err(|_| Error::limit("read longer than 4 GiB"))?;
    Frame::new(protocol::K_OK_SHM)
        .u32(n)
        .finish()
        .map_err(|e| Error::Io(e.0))
}

fn send(parts: &[Vec<u8>]) -> std::io::Result<()> {
    let _chan = CHAN.lock().unwrap_or_else(|p| p.into_inner());
    for p in parts {
        write_full(p)?;
    }
    Ok(())
}

fn error_frame(e: &Error) -> Vec<u8> {
    // An error frame is at most a few KiB: it always fits.
    protocol::encode_error(Frame::new(K_ERR), e)
        .finish()
        .unwrap_or_default()
}

/// Says READY, then serves requests until the host closes the socket.
pub fn serve(plugins: Vec<Option<Arc<Plugin>>>, notes: &[String]) -> std::io::Result<()> {
    let mut ready = Frame::new(K_READY).u16(plugins.len() as u16);
    for p in &plugins {
        let name = p.as_ref().map(|p| p.name()).unwrap_or("");
        let name = &name.as_bytes()[..name.len().min(255)];
        ready = ready.u8(name.len() as u8).bytes(name);
    }
    let mut text = notes.join("\n");
    let mut cut = protocol::MAX_MESSAGE.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    let ready = ready.bytes(text.as_bytes());
    send(&[ready.finish().map_err(std::io::Error::other)?])?;

    let mut state = State {
        plugins,
        mounts: HashMap::new(),
        next: 1,
        devices: HashMap::new(),
    };
    loop {
        let body = {
            let _chan = CHAN.lock().unwrap_or_else(|p| p.into_inner());
            match read_frame() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
        };
        let req = protocol::decode_request(&body).map_err(std::io::Error::other)?;
        let reply = match state.handle(req) {
            Ok(parts) => parts,
            Err(e) => vec![error_frame(&e)],
        };
        send(&reply)?;
    }
}
