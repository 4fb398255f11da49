//! The wire protocol between the host and a sandbox worker.
//!
//! One `SOCK_STREAM` Unix socket, strictly request/reply: the host sends one
//! request and reads messages until the reply to it arrives. While the host
//! waits, the worker may ask it for bytes of a device (the worker holds no
//! image descriptor: every byte a plugin reads comes through the host, which
//! checks it against the device's window).
//!
//! # Framing
//! ```text
//! frame = len:u32le  kind:u8  payload[len-1]        1 <= len <= MAX_FRAME
//! ```
//! All integers are little-endian. `dev` entries below are
//! `slot:u32 size:u64`: a host-side device id and its size in bytes.
//!
//! # Host → worker
//! | kind | name        | payload |
//! |------|-------------|---------|
//! | 0x20 | LOAD        | nplugins:u16 (len:u16 path)*nplugins (first frame, once) |
//! | 1    | PROBE       | plugin:u16 ndev:u16 dev*ndev |
//! | 2    | MOUNT       | plugin:u16 ndev:u16 dev*ndev options.. |
//! | 3    | UNMOUNT     | handle:u32 |
//! | 4    | ROOT        | handle:u32 |
//! | 5    | LOOKUP      | handle:u32 dir:u64 name.. |
//! | 6    | STAT        | handle:u32 id:u64 |
//! | 7    | READ        | handle:u32 id:u64 offset:u64 len:u32 (len <= MAX_READ) |
//! | 8    | READ_DIR    | handle:u32 dir:u64 cookie:u64 |
//! | 9    | READ_LINK   | handle:u32 id:u64 |
//! | 10   | EXTENTS     | handle:u32 id:u64 from:u64 max:u32 (max <= MAX_EXTENTS) |
//! | 11   | BOOTSTRING  | handle:u32 |
//! | 12   | LABEL       | handle:u32 |
//! | 0x40 | SOURCE_DATA | the bytes asked for by SOURCE_READ |
//! | 0x41 | SOURCE_ERR  | error |
//! | 0x42 | SOURCE_DATA_SHM | empty: the bytes are at the start of the shared window's first half |
//!
//! # Worker → host
//! | kind | name        | payload |
//! |------|-------------|---------|
//! | 0x80 | READY       | nplugins:u16 (len:u8 name)*nplugins notes.. (len 0: failed to load) |
//! | 0x81 | OK          | the reply to the request, by request kind (below) |
//! | 0x82 | ERR         | error = code:u32 message.. (UTF-8, <= MAX_MESSAGE) |
//! | 0x83 | OK_SHM      | n:u32: a READ's n bytes are at the start of the shared window's second half |
//! | 0x90 | SOURCE_READ | slot:u32 offset:u64 len:u32 (len <= MAX_SOURCE_READ) |
//!
//! OK payloads: PROBE `confidence:u32` (<= 100); MOUNT `handle:u32`, then
//! the root's `id:u64` if the plugin gave it; UNMOUNT empty; ROOT `id:u64`;
//! LOOKUP `id:u64`, then the object's stat if the plugin gave it (each
//! saves the host a round trip); STAT [`STAT_LEN`] bytes (see
//! [`encode_stat`]); READ the bytes (no more than asked); READ_DIR
//! `next_cookie:u64` then directory records as the ABI packs them; READ_LINK
//! the target; EXTENTS `n * 32` bytes of `file_offset:u64 length:u64
//! device_offset:u64 device:u32 kind:u32` (n <= max asked); BOOTSTRING and
//! LABEL `present:u8` then the bytes.
//!
//! The decoders here are pure functions over byte slices: they never panic
//! and never allocate more than the frame they are given (which the reader
//! bounds by [`MAX_FRAME`] before allocating), so a hostile worker can do no
//! more than be reported and killed. They are the fuzzing surface.

use fsimage_abi::sdk::decode_dir_records;
use fsimage_abi::{DirEntry, Error as AbiError, ErrorCode, Extent, ExtentKind, FileKind, Stat};
use fsimage_abi::{Timespec, raw::COOKIE_EOF};

/// Largest frame either side accepts (length field value).
pub const MAX_FRAME: u32 = 16 << 20;
/// Largest READ the host asks for at once.
pub const MAX_READ: u32 = 8 << 20;
/// Largest device read a worker may ask for at once.
pub const MAX_SOURCE_READ: u32 = 8 << 20;
/// Most extents asked for at once.
pub const MAX_EXTENTS: u32 = 4096;
/// Longest error message carried.
pub const MAX_MESSAGE: usize = 4096;
/// Most devices in a PROBE or MOUNT.
pub const MAX_DEVICES: usize = 256;
/// Bytes of an encoded [`Stat`].
pub const STAT_LEN: usize = 84;
/// Bytes of an encoded extent.
pub const EXTENT_LEN: usize = 32;

/// Request kinds (host → worker).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Probe = 1,
    Mount = 2,
    Unmount = 3,
    Root = 4,
    Lookup = 5,
    Stat = 6,
    Read = 7,
    ReadDir = 8,
    ReadLink = 9,
    Extents = 10,
    Bootstring = 11,
    Label = 12,
}

/// Host → worker, first frame: the plugin files to load. The worker is
/// started before the host knows which plugins an image needs, so its
/// exec and namespaces overlap the host's own work.
pub const K_LOAD: u8 = 0x20;
/// Most plugins one worker loads.
pub const MAX_PLUGINS: usize = 256;
/// Longest plugin path in a LOAD.
pub const MAX_PATH: usize = 4096;
/// Host → worker: the bytes a SOURCE_READ asked for.
pub const K_SOURCE_DATA: u8 = 0x40;
/// Host → worker: a SOURCE_READ failed.
pub const K_SOURCE_ERR: u8 = 0x41;
/// Host → worker: the bytes a SOURCE_READ asked for are in the shared
/// window (see `sandbox::shm`).
pub const K_SOURCE_DATA_SHM: u8 = 0x42;
/// Worker → host: started, locked down, plugins loaded.
pub const K_READY: u8 = 0x80;
/// Worker → host: success reply.
pub const K_OK: u8 = 0x81;
/// Worker → host: error reply.
pub const K_ERR: u8 = 0x82;
/// Worker → host: a READ's bytes are in the shared window.
pub const K_OK_SHM: u8 = 0x83;
/// Worker → host: a plugin wants device bytes.
pub const K_SOURCE_READ: u8 = 0x90;

/// The peer broke the protocol; the connection cannot be trusted any more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

fn violation<T>(msg: impl Into<String>) -> Result<T, ProtocolError> {
    Err(ProtocolError(msg.into()))
}

/// Encodes LOAD for the plugin files `paths` (as bytes).
pub fn encode_load<'a>(
    paths: impl ExactSizeIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, ProtocolError> {
    if paths.len() > MAX_PLUGINS {
        return violation(format!("{} plugins (at most {MAX_PLUGINS})", paths.len()));
    }
    let mut f = Frame::new(K_LOAD).u16(paths.len() as u16);
    for p in paths {
        if p.len() > MAX_PATH {
            return violation(format!(
                "plugin path of {} bytes (at most {MAX_PATH})",
                p.len()
            ));
        }
        f = f.u16(p.len() as u16).bytes(p);
    }
    f.finish()
}

/// Decodes a LOAD frame body (kind byte included) into the plugin paths.
pub fn decode_load(body: &[u8]) -> Result<Vec<&[u8]>, ProtocolError> {
    let mut r = Reader::new(body);
    if r.u8()? != K_LOAD {
        return violation("expected LOAD");
    }
    let n = r.u16()? as usize;
    if n > MAX_PLUGINS {
        return violation(format!("{n} plugins (at most {MAX_PLUGINS})"));
    }
    let mut paths = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.u16()? as usize;
        if len > MAX_PATH {
            return violation(format!("plugin path of {len} bytes (at most {MAX_PATH})"));
        }
        paths.push(r.take(len)?);
    }
    r.end()?;
    Ok(paths)
}

/// Checks a frame header, returning the body length it announces.
pub fn decode_header(header: [u8; 4]) -> Result<usize, ProtocolError> {
    let len = u32::from_le_bytes(header);
    if len == 0 || len > MAX_FRAME {
        return violation(format!("frame of {len} bytes (allowed 1..={MAX_FRAME})"));
    }
    Ok(len as usize)
}

/// A cursor over a payload; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        match self.buf.split_at_checked(n) {
            Some((a, b)) => {
                self.buf = b;
                Ok(a)
            }
            None => violation(format!(
                "payload truncated ({} bytes left, {n} needed)",
                self.buf.len()
            )),
        }
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtocolError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    /// A byte.
    pub fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.array::<1>()?[0])
    }
    /// A `u16`.
    pub fn u16(&mut self) -> Result<u16, ProtocolError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// A `u32`.
    pub fn u32(&mut self) -> Result<u32, ProtocolError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// A `u64`.
    pub fn u64(&mut self) -> Result<u64, ProtocolError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// An `i64`.
    pub fn i64(&mut self) -> Result<i64, ProtocolError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    /// Everything left.
    /// Bytes left.
    pub fn rest_len(&self) -> usize {
        self.buf.len()
    }
    /// The bytes left, consumed.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
    /// Fails unless everything was consumed.
    pub fn end(&self) -> Result<(), ProtocolError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            violation(format!("{} unexpected trailing bytes", self.buf.len()))
        }
    }
}

/// Builds one frame: reserves the header, appends fields, then [`Frame::finish`].
#[derive(Debug, Default)]
pub struct Frame {
    buf: Vec<u8>,
}

impl Frame {
    /// A frame of `kind`.
    pub fn new(kind: u8) -> Frame {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0, 0, 0, 0, kind]);
        Frame { buf }
    }
    /// Appends a byte.
    pub fn u8(mut self, v: u8) -> Self {
        self.buf.push(v);
        self
    }
    /// Appends a `u16`.
    pub fn u16(mut self, v: u16) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a `u32`.
    pub fn u32(mut self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a `u64`.
    pub fn u64(mut self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends raw bytes.
    pub fn bytes(mut self, v: &[u8]) -> Self {
        self.buf.extend_from_slice(v);
        self
    }
    /// Fills in the length; fails if the frame is too big.
    pub fn finish(mut self) -> Result<Vec<u8>, ProtocolError> {
        let body = self.buf.len() - 4;
        match u32::try_from(body) {
            Ok(n) if n <= MAX_FRAME => {
                self.buf[..4].copy_from_slice(&n.to_le_bytes());
                Ok(self.buf)
            }
            _ => violation(format!("frame of {body} bytes is too big")),
        }
    }
}

/// A header for a frame of `kind` whose payload (`payload_len` bytes) is
/// written separately (large READ replies and SOURCE_DATA avoid a copy).
pub fn header_for(kind: u8, payload_len: usize) -> Result<[u8; 5], ProtocolError> {
    let n = payload_len
        .checked_add(1)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n <= MAX_FRAME);
    let Some(n) = n else {
        return violation(format!("payload of {payload_len} bytes is too big"));
    };
    let l = n.to_le_bytes();
    Ok([l[0], l[1], l[2], l[3], kind])
}

/// Appends an error payload (code, message cut to [`MAX_MESSAGE`] on a char boundary).
pub fn encode_error(f: Frame, e: &AbiError) -> Frame {
    let mut msg = e.detail();
    if msg.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
    }
    f.u32(e.code() as u32).bytes(msg.as_bytes())
}

/// Decodes an error payload.
pub fn decode_error(payload: &[u8]) -> Result<AbiError, ProtocolError> {
    let mut r = Reader::new(payload);
    let code = r.u32()?;
    let msg = r.rest();
    if msg.len() > MAX_MESSAGE {
        return violation(format!("error message of {} bytes", msg.len()));
    }
    if code == 0 {
        return violation("error reply with code 0");
    }
    let text = String::from_utf8_lossy(msg);
    Ok(AbiError::from_code(ErrorCode::from_u32(code), &text))
}

/// Appends an encoded [`Stat`] ([`STAT_LEN`] bytes).
pub fn encode_stat(f: Frame, s: &Stat) -> Frame {
    let t = |f: Frame, t: Timespec| f.u64(t.sec as u64).u32(t.nsec);
    let f = f
        .u64(s.ino)
        .u8(s.kind as u8)
        .bytes(&[0, 0, 0])
        .u32(s.perm)
        .u32(s.uid)
        .u32(s.gid)
        .u64(s.nlink)
        .u64(s.size)
        .u64(s.rdev);
    let f = t(f, s.atime);
    let f = t(f, s.mtime);
    t(f, s.ctime)
}

/// Decodes a [`Stat`] (exactly [`STAT_LEN`] bytes).
pub fn decode_stat(payload: &[u8]) -> Result<Stat, ProtocolError> {
    if payload.len() != STAT_LEN {
        return violation(format!("stat of {} bytes, not {STAT_LEN}", payload.len()));
    }
    let mut r = Reader::new(payload);
    let ino = r.u64()?;
    let kind = FileKind::from_u8(r.u8()?);
    r.take(3)?;
    let perm = r.u32()? & 0o7777;
    let (uid, gid) = (r.u32()?, r.u32()?);
    let (nlink, size, rdev) = (r.u64()?, r.u64()?, r.u64()?);
    let mut t = || -> Result<Timespec, ProtocolError> {
        let sec = r.i64()?;
        let nsec = r.u32()?;
        if nsec > 999_999_999 {
            return violation(format!("timestamp nanoseconds {nsec}"));
        }
        Ok(Timespec { sec, nsec })
    };
    let (atime, mtime, ctime) = (t()?, t()?, t()?);
    Ok(Stat {
        ino,
        kind,
        perm,
        uid,
        gid,
        nlink,
        size,
        atime,
        mtime,
        ctime,
        rdev,
    })
}

/// Appends encoded extents.
pub fn encode_extents(mut f: Frame, extents: &[Extent]) -> Frame {
    for e in extents {
        f = f
            .u64(e.file_offset)
            .u64(e.length)
            .u64(e.device_offset)
            .u32(e.device)
            .u32(e.kind as u32);
    }
    f
}

/// Decodes extents; at most `max` are accepted.
pub fn decode_extents(payload: &[u8], max: usize) -> Result<Vec<Extent>, ProtocolError> {
    if payload.len() % EXTENT_LEN != 0 {
        return violation(format!(
            "extent list of {} bytes is not a multiple of {EXTENT_LEN}",
            payload.len()
        ));
    }
    let n = payload.len() / EXTENT_LEN;
    if n > max {
        return violation(format!("{n} extents returned, {max} asked for"));
    }
    let mut r = Reader::new(payload);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (file_offset, length, device_offset) = (r.u64()?, r.u64()?, r.u64()?);
        let device = r.u32()?;
        let kind = match r.u32()? {
            0 => ExtentKind::Data,
            1 => ExtentKind::Zero,
            2 => ExtentKind::Opaque,
            k => return violation(format!("extent kind {k}")),
        };
        out.push(Extent {
            file_offset,
            length,
            kind,
            device,
            device_offset,
        });
    }
    Ok(out)
}

/// A device as named in PROBE and MOUNT: the host's slot id and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevSpec {
    /// Host-side id used in SOURCE_READ.
    pub slot: u32,
    /// Size in bytes.
    pub size: u64,
}

/// A decoded request (the worker's side).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Request<'a> {
    Probe {
        plugin: u16,
        devices: Vec<DevSpec>,
    },
    Mount {
        plugin: u16,
        devices: Vec<DevSpec>,
        options: &'a [u8],
    },
    Unmount(u32),
    Root(u32),
    Lookup {
        handle: u32,
        dir: u64,
        name: &'a [u8],
    },
    Stat(u32, u64),
    Read {
        handle: u32,
        id: u64,
        offset: u64,
        len: u32,
    },
    ReadDir {
        handle: u32,
        dir: u64,
        cookie: u64,
    },
    ReadLink(u32, u64),
    Extents {
        handle: u32,
        id: u64,
        from: u64,
        max: u32,
    },
    Bootstring(u32),
    Label(u32),
}

fn encode_devs(mut f: Frame, plugin: u16, devices: &[DevSpec]) -> Frame {
    f = f.u16(plugin).u16(devices.len().min(MAX_DEVICES) as u16);
    for d in devices.iter().take(MAX_DEVICES) {
        f = f.u32(d.slot).u64(d.size);
    }
    f
}

fn decode_devs(r: &mut Reader<'_>) -> Result<(u16, Vec<DevSpec>), ProtocolError> {
    let plugin = r.u16()?;
    let n = r.u16()? as usize;
    if n > MAX_DEVICES {
        return violation(format!("{n} devices"));
    }
    let mut devs = Vec::with_capacity(n);
    for _ in 0..n {
        devs.push(DevSpec {
            slot: r.u32()?,
            size: r.u64()?,
        });
    }
    Ok((plugin, devs))
}

/// Encodes a request as a full frame.
pub fn encode_request(req: &Request<'_>) -> Result<Vec<u8>, ProtocolError> {
    let f = match req {
        Request::Probe { plugin, devices } => {
            encode_devs(Frame::new(Op::Probe as u8), *plugin, devices)
        }
        Request::Mount {
            plugin,
            devices,
            options,
        } => encode_devs(Frame::new(Op::Mount as u8), *plugin, devices).bytes(options),
        Request::Unmount(h) => Frame::new(Op::Unmount as u8).u32(*h),
        Request::Root(h) => Frame::new(Op::Root as u8).u32(*h),
        Request::Lookup { handle, dir, name } => Frame::new(Op::Lookup as u8)
            .u32(*handle)
            .u64(*dir)
            .bytes(name),
        Request::Stat(h, id) => Frame::new(Op::Stat as u8).u32(*h).u64(*id),
        Request::Read {
            handle,
            id,
            offset,
            len,
        } => Frame::new(Op::Read as u8)
            .u32(*handle)
            .u64(*id)
            .u64(*offset)
            .u32(*len),
        Request::ReadDir {
            handle,
            dir,
            cookie,
        } => Frame::new(Op::ReadDir as u8)
            .u32(*handle)
            .u64(*dir)
            .u64(*cookie),
        Request::ReadLink(h, id) => Frame::new(Op::ReadLink as u8).u32(*h).u64(*id),
        Request::Extents {
            handle,
            id,
            from,
            max,
        } => Frame::new(Op::Extents as u8)
            .u32(*handle)
            .u64(*id)
            .u64(*from)
            .u32(*max),
        Request::Bootstring(h) => Frame::new(Op::Bootstring as u8).u32(*h),
        Request::Label(h) => Frame::new(Op::Label as u8).u32(*h),
    };
    f.finish()
}

/// Decodes a request body (kind byte first).
pub fn decode_request(body: &[u8]) -> Result<Request<'_>, ProtocolError> {
    let Some((&kind, payload)) = body.split_first() else {
        return violation("empty frame");
    };
    let mut r = Reader::new(payload);
    let req = match kind {
        1 => {
            let (plugin, devices) = decode_devs(&mut r)?;
            Request::Probe { plugin, devices }
        }
        2 => {
            let (plugin, devices) = decode_devs(&mut r)?;
            Request::Mount {
                plugin,
                devices,
                options: r.rest(),
            }
        }
        3 => Request::Unmount(r.u32()?),
        4 => Request::Root(r.u32()?),
        5 => Request::Lookup {
            handle: r.u32()?,
            dir: r.u64()?,
            name: r.rest(),
        },
        6 => Request::Stat(r.u32()?, r.u64()?),
        7 => {
            let (handle, id, offset, len) = (r.u32()?, r.u64()?, r.u64()?, r.u32()?);
            if len > MAX_READ {
                return violation(format!("read of {len} bytes"));
            }
            Request::Read {
                handle,
                id,
                offset,
                len,
            }
        }
        8 => Request::ReadDir {
            handle: r.u32()?,
            dir: r.u64()?,
            cookie: r.u64()?,
        },
        9 => Request::ReadLink(r.u32()?, r.u64()?),
        10 => {
            let (handle, id, from, max) = (r.u32()?, r.u64()?, r.u64()?, r.u32()?);
            if max > MAX_EXTENTS {
                return violation(format!("{max} extents asked for"));
            }
            Request::Extents {
                handle,
                id,
                from,
                max,
            }
        }
        11 => Request::Bootstring(r.u32()?),
        12 => Request::Label(r.u32()?),
        k => return violation(format!("unknown request kind {k:#x}")),
    };
    r.end()?;
    Ok(req)
}

/// A message from the worker, as the host reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerMsg<'a> {
    /// The worker is up: names of the plugins it loaded (`None`: failed),
    /// and what it could not lock down.
    Ready {
        /// Plugin names, in the order given on its command line.
        plugins: Vec<Option<String>>,
        /// One line per measure that could not be applied.
        notes: String,
    },
    /// A success reply; the payload depends on the request.
    Ok(&'a [u8]),
    /// A READ reply whose bytes (this many) are in the shared window.
    OkShm(u32),
    /// An error reply.
    Err(AbiError),
    /// The worker's plugin wants `len` bytes at `offset` of device `slot`.
    SourceRead {
        /// Device slot.
        slot: u32,
        /// Byte offset.
        offset: u64,
        /// Byte count (<= [`MAX_SOURCE_READ`]).
        len: u32,
    },
}

/// Decodes one worker message body (kind byte first).
pub fn decode_worker_msg(body: &[u8]) -> Result<WorkerMsg<'_>, ProtocolError> {
    let Some((&kind, payload)) = body.split_first() else {
        return violation("empty frame");
    };
    let mut r = Reader::new(payload);
    match kind {
        K_READY => {
            let n = r.u16()? as usize;
            let mut plugins = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let len = r.u8()? as usize;
                let name = r.take(len)?;
                plugins.push(if len == 0 {
                    None
                } else {
                    Some(String::from_utf8_lossy(name).into_owned())
                });
            }
            let notes = r.rest();
            if notes.len() > MAX_MESSAGE {
                return violation(format!("ready notes of {} bytes", notes.len()));
            }
            Ok(WorkerMsg::Ready {
                plugins,
                notes: String::from_utf8_lossy(notes).into_owned(),
            })
        }
        K_OK => Ok(WorkerMsg::Ok(r.rest())),
        K_OK_SHM => {
            let n = r.u32()?;
            r.end()?;
            Ok(WorkerMsg::OkShm(n))
        }
        K_ERR => Ok(WorkerMsg::Err(decode_error(r.rest())?)),
        K_SOURCE_READ => {
            let (slot, offset, len) = (r.u32()?, r.u64()?, r.u32()?);
            r.end()?;
            if len > MAX_SOURCE_READ {
                return violation(format!(
                    "device read of {len} bytes (at most {MAX_SOURCE_READ})"
                ));
            }
            Ok(WorkerMsg::SourceRead { slot, offset, len })
        }
        k => violation(format!("unknown message kind {k:#x}")),
    }
}

/// A decoded success reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Reply<'a> {
    Confidence(u32),
    Mounted {
        handle: u32,
        root: Option<u64>,
    },
    Unit,
    Id(u64),
    Entry {
        id: u64,
        stat: Option<Stat>,
    },
    Stat(Stat),
    Data(&'a [u8]),
    /// READ bytes in the shared window (no more than asked).
    Shm(u32),
    Dir {
        next: u64,
        entries: Vec<DirEntry>,
    },
    Bytes(&'a [u8]),
    OptBytes(Option<&'a [u8]>),
    Extents(Vec<Extent>),
}

/// Decodes the OK payload of a reply to `req`, checking it against what was
/// asked (a READ returns no more bytes than asked, EXTENTS no more than `max`).
pub fn decode_ok<'a>(req: &Request<'_>, payload: &'a [u8]) -> Result<Reply<'a>, ProtocolError> {
    let mut r = Reader::new(payload);
    let reply = match req {
        Request::Probe { .. } => {
            let c = r.u32()?;
            if c > 100 {
                return violation(format!("probe confidence {c}"));
            }
            Reply::Confidence(c)
        }
        Request::Mount { .. } => Reply::Mounted {
            handle: r.u32()?,
            root: if r.rest_len() == 0 {
                None
            } else {
                Some(r.u64()?)
            },
        },
        Request::Unmount(_) => Reply::Unit,
        Request::Root(_) => Reply::Id(r.u64()?),
        Request::Lookup { .. } => Reply::Entry {
            id: r.u64()?,
            stat: if r.rest_len() == 0 {
                None
            } else {
                Some(decode_stat(r.take(STAT_LEN)?)?)
            },
        },
        Request::Stat(..) => Reply::Stat(decode_stat(r.rest())?),
        Request::Read { len, .. } => {
            let data = r.rest();
            if data.len() > *len as usize {
                return violation(format!("read returned {} bytes, {len} asked", data.len()));
            }
            Reply::Data(data)
        }
        Request::ReadDir { cookie, .. } => {
            let next = r.u64()?;
            let recs = r.rest();
            let entries =
                decode_dir_records(recs).map_err(|e| ProtocolError(format!("read_dir: {e}")))?;
            if entries.is_empty() && next == *cookie && next != COOKIE_EOF {
                return violation("directory listing made no progress");
            }
            Reply::Dir { next, entries }
        }
        Request::ReadLink(..) => Reply::Bytes(r.rest()),
        Request::Extents { max, .. } => Reply::Extents(decode_extents(r.rest(), *max as usize)?),
        Request::Bootstring(_) | Request::Label(_) => match r.u8()? {
            0 => Reply::OptBytes(None),
            1 => Reply::OptBytes(Some(r.rest())),
            p => return violation(format!("presence flag {p}")),
        },
    };
    r.end()?;
    Ok(reply)
}

/// Decodes a whole reply body (kind byte first) to `req`: a success, a
/// plugin error, or a protocol violation. SOURCE_READ and READY are not
/// replies and are violations here.
pub fn decode_reply<'a>(
    req: &Request<'_>,
    body: &'a [u8],
) -> Result<Result<Reply<'a>, AbiError>, ProtocolError> {
    match decode_worker_msg(body)? {
        WorkerMsg::Ok(p) => decode_ok(req, p).map(Ok),
        WorkerMsg::OkShm(n) => match req {
            Request::Read { len, .. } if n <= *len => Ok(Ok(Reply::Shm(n))),
            Request::Read { len, .. } => violation(format!("read returned {n} bytes, {len} asked")),
            _ => violation("shared-window reply to a request other than READ"),
        },
        WorkerMsg::Err(e) => Ok(Err(e)),
        WorkerMsg::Ready { .. } => violation("unexpected READY"),
        WorkerMsg::SourceRead { .. } => violation("unexpected SOURCE_READ"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body(frame: &[u8]) -> &[u8] {
        let n = decode_header(frame[..4].try_into().unwrap()).unwrap();
        assert_eq!(n, frame.len() - 4);
        &frame[4..]
    }

    #[test]
    fn headers_are_bounded() {
        assert!(decode_header([0, 0, 0, 0]).is_err());
        assert!(decode_header(u32::MAX.to_le_bytes()).is_err());
        assert!(decode_header((MAX_FRAME + 1).to_le_bytes()).is_err());
        assert_eq!(
            decode_header(MAX_FRAME.to_le_bytes()),
            Ok(MAX_FRAME as usize)
        );
    }

    #[test]
    fn requests_round_trip() {
        let devs = vec![DevSpec {
            slot: 3,
            size: 1 << 40,
        }];
        let reqs = [
            Request::Probe {
                plugin: 2,
                devices: devs.clone(),
            },
            Request::Mount {
                plugin: 0,
                devices: devs,
                options: b"journal=replay",
            },
            Request::Unmount(7),
            Request::Root(1),
            Request::Lookup {
                handle: 1,
                dir: 2,
                name: b"boot",
            },
            Request::Stat(1, 99),
            Request::Read {
                handle: 1,
                id: 12,
                offset: 4096,
                len: MAX_READ,
            },
            Request::ReadDir {
                handle: 1,
                dir: 2,
                cookie: 77,
            },
            Request::ReadLink(1, 5),
            Request::Extents {
                handle: 1,
                id: 5,
                from: 0,
                max: 256,
            },
            Request::Bootstring(1),
            Request::Label(1),
        ];
        for req in reqs {
            let f = encode_request(&req).unwrap();
            assert_eq!(decode_request(body(&f)).unwrap(), req);
        }
    }

    #[test]
    fn replies_are_checked_against_the_request() {
        let read = Request::Read {
            handle: 1,
            id: 1,
            offset: 0,
            len: 4,
        };
        let ok = Frame::new(K_OK).bytes(b"abcd").finish().unwrap();
        assert_eq!(
            decode_reply(&read, body(&ok)).unwrap(),
            Ok(Reply::Data(b"abcd"))
        );
        let long = Frame::new(K_OK).bytes(b"abcde").finish().unwrap();
        assert!(decode_reply(&read, body(&long)).is_err());
        let ext = Request::Extents {
            handle: 1,
            id: 1,
            from: 0,
            max: 1,
        };
        let e = Extent {
            file_offset: 0,
            length: 1,
            kind: ExtentKind::Data,
            device: 0,
            device_offset: 9,
        };
        let two = encode_extents(Frame::new(K_OK), &[e, e]).finish().unwrap();
        assert!(decode_reply(&ext, body(&two)).is_err());
        let one = encode_extents(Frame::new(K_OK), &[e]).finish().unwrap();
        assert_eq!(
            decode_reply(&ext, body(&one)).unwrap(),
            Ok(Reply::Extents(vec![e]))
        );
        let err = encode_error(Frame::new(K_ERR), &AbiError::unsupported("encrypt"))
            .finish()
            .unwrap();
        assert_eq!(
            decode_reply(&read, body(&err)).unwrap(),
            Err(AbiError::unsupported("encrypt"))
        );
        let zero = Frame::new(K_ERR).u32(0).finish().unwrap();
        assert!(decode_reply(&read, body(&zero)).is_err());
        let sr = Frame::new(K_SOURCE_READ)
            .u32(0)
            .u64(0)
            .u32(MAX_SOURCE_READ + 1)
            .finish()
            .unwrap();
        assert!(decode_worker_msg(body(&sr)).is_err());
    }

    #[test]
    fn mount_and_lookup_replies_may_carry_more() {
        let mount = Request::Mount {
            plugin: 0,
            devices: vec![],
            options: b"",
        };
        let bare = Frame::new(K_OK).u32(7).finish().unwrap();
        let full = Frame::new(K_OK).u32(7).u64(2).finish().unwrap();
        let (h, r) = (7, Some(2));
        assert_eq!(
            decode_reply(&mount, body(&bare)).unwrap(),
            Ok(Reply::Mounted {
                handle: h,
                root: None
            })
        );
        assert_eq!(
            decode_reply(&mount, body(&full)).unwrap(),
            Ok(Reply::Mounted { handle: h, root: r })
        );
        let short = Frame::new(K_OK).u32(7).u32(2).finish().unwrap();
        assert!(decode_reply(&mount, body(&short)).is_err());
        let lookup = Request::Lookup {
            handle: 1,
            dir: 2,
            name: b"boot",
        };
        let s = Stat::new(12, FileKind::Dir, 4096);
        let with = encode_stat(Frame::new(K_OK).u64(12), &s).finish().unwrap();
        assert_eq!(
            decode_reply(&lookup, body(&with)).unwrap(),
            Ok(Reply::Entry {
                id: 12,
                stat: Some(s)
            })
        );
        let without = Frame::new(K_OK).u64(12).finish().unwrap();
        assert_eq!(
            decode_reply(&lookup, body(&without)).unwrap(),
            Ok(Reply::Entry { id: 12, stat: None })
        );
        let mut cut = with.clone();
        cut.truncate(with.len() - 1);
        let n = (cut.len() - 4) as u32;
        cut[..4].copy_from_slice(&n.to_le_bytes());
        assert!(decode_reply(&lookup, body(&cut)).is_err());
    }

    #[test]
    fn shared_window_replies_only_answer_reads_within_their_length() {
        let read = Request::Read {
            handle: 1,
            id: 1,
            offset: 0,
            len: 4,
        };
        let shm = |n: u32| Frame::new(K_OK_SHM).u32(n).finish().unwrap();
        assert_eq!(
            decode_reply(&read, body(&shm(4))).unwrap(),
            Ok(Reply::Shm(4))
        );
        assert!(decode_reply(&read, body(&shm(5))).is_err());
        assert!(decode_reply(&Request::Stat(1, 1), body(&shm(0))).is_err());
        let long = Frame::new(K_OK_SHM).u32(1).u8(0).finish().unwrap();
        assert!(decode_reply(&read, body(&long)).is_err());
    }

    #[test]
    fn load_round_trips_and_is_bounded() {
        let paths: [&[u8]; 2] = [b"/usr/lib/fsimage/libfsimage_plugin_ext2.so", b""];
        let f = encode_load(paths.iter().copied()).unwrap();
        assert_eq!(decode_load(body(&f)).unwrap(), paths);
        // Trailing bytes, a short path, another kind: refused.
        let mut long = body(&f).to_vec();
        long.push(0);
        assert!(decode_load(&long).is_err());
        assert!(decode_load(&body(&f)[..body(&f).len() - 1]).is_err());
        assert!(decode_load(&[1, 0, 0]).is_err());
        let huge = vec![0u8; MAX_PATH + 1];
        assert!(encode_load(std::iter::once(huge.as_slice())).is_err());
    }

    #[test]
    fn stats_round_trip() {
        let mut s = Stat::new(12, FileKind::Symlink, 33);
        s.perm = 0o4755;
        s.mtime = Timespec {
            sec: -5,
            nsec: 999_999_999,
        };
        let f = encode_stat(Frame::new(K_OK), &s).finish().unwrap();
        assert_eq!(f.len(), 5 + STAT_LEN);
        assert_eq!(
            decode_reply(&Request::Stat(1, 12), body(&f)).unwrap(),
            Ok(Reply::Stat(s))
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let reqs = [
                Request::Probe { plugin: 0, devices: vec![] },
                Request::Mount { plugin: 0, devices: vec![], options: b"" },
                Request::Lookup { handle: 1, dir: 2, name: b"x" },
                Request::Stat(1, 1),
                Request::Read { handle: 1, id: 1, offset: 0, len: 10 },
                Request::ReadDir { handle: 1, dir: 2, cookie: 0 },
                Request::Extents { handle: 1, id: 1, from: 0, max: 3 },
                Request::Label(1),
            ];
            for req in &reqs {
                let _ = decode_reply(req, &data);
            }
            let _ = decode_worker_msg(&data);
            let _ = decode_request(&data);
            let _ = decode_load(&data);
            if data.len() >= 4 {
                let _ = decode_header([data[0], data[1], data[2], data[3]]);
            }
        }
    }
}
