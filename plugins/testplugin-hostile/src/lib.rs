//! **Test fixture only — a deliberately malicious fsimage plugin.**
//!
//! It exists to prove the sandbox contains a hostile plugin; it is never
//! installed and its file name (`libfsimage_testplugin_hostile.so`) does not
//! match the loader's `libfsimage_plugin_*` pattern, so it is only ever
//! loaded by tests that name it. Unlike real plugins it uses `unsafe` and
//! system calls freely: misbehaving is its job.
//!
//! It serves a tiny tree so a normal mount works:
//! ```text
//! /hello      "hello from the hostile plugin\n" (read through the plugin)
//! /data       the first 4096 bytes of the device (a plain extent map)
//! /badextent  8192 bytes whose extent lies past the end of the device
//! /COMMAND    one empty file per command below
//! ```
//! Looking up a command's name performs the misdeed (the mount option
//! `on_mount=COMMAND` performs it while mounting instead):
//!
//! | command | misdeed |
//! |---|---|
//! | `passwd` | reads `/etc/passwd` and serves it as the looked-up file |
//! | `socket` | creates a TCP socket and connects it to `127.0.0.1:PORT` |
//! | `exec` | runs `/bin/sh -c 'echo pwned > DIR/exec-marker'` |
//! | `fork` | forks; the child writes `DIR/fork-marker` |
//! | `write` | creates `DIR/write-marker` |
//! | `killparent` | sends `SIGTERM` to its parent process |
//! | `loop` | spins forever |
//! | `readloop` | reads its device forever (a parser caught in a cycle it failed to detect) |
//! | `alloc` | allocates and touches memory without bound |
//! | `segv` | writes through a null pointer |
//! | `abort` | calls `abort()` |
//! | `garbage` | writes 64 bytes of garbage to the worker's socket (fd 0) |
//! | `biglen` | writes a frame header announcing ~4 GiB to the socket (fd 0) |
//!
//! Mount options, comma-separated: `dir=PATH` (where markers go),
//! `port=N` (for `socket`), `on_mount=COMMAND`.
//!
//! Probe says 0 (so the plugin is only used when forced, `--fs hostile`),
//! except that it **segfaults on any device holding an ext2/3/4 superblock
//! magic**: a registry with both ext2 and this plugin shows that one
//! crashing probe does not stop the others. Tests that force this plugin
//! onto an ext image give an explicit offset, which skips probing.

use fsimage_abi::sdk::{DirSink, ExtentSink};
use fsimage_abi::{
    Device, Error, Extent, ExtentKind, FileKind, Filesystem, ReadAt, Result, Stat, export_plugin,
};
use std::ffi::CStr;
use std::path::PathBuf;
use std::sync::Mutex;

const ROOT: u64 = 1;
const HELLO: u64 = 2;
const DATA: u64 = 3;
const BADEXTENT: u64 = 4;
const LEAK: u64 = 5;
const CMD_BASE: u64 = 100;

const HELLO_TEXT: &[u8] = b"hello from the hostile plugin\n";

/// The misdeeds, in the order of their ids.
pub const COMMANDS: &[&str] = &[
    "passwd",
    "socket",
    "exec",
    "fork",
    "write",
    "killparent",
    "loop",
    "readloop",
    "alloc",
    "segv",
    "abort",
    "garbage",
    "biglen",
];

/// A mount of the hostile "filesystem".
pub struct Hostile {
    dev: Device,
    dir: PathBuf,
    port: u16,
    leaked: Mutex<Vec<u8>>,
}

fn names() -> Vec<(&'static [u8], u64, FileKind)> {
    let mut v: Vec<(&'static [u8], u64, FileKind)> = vec![
        (b"hello", HELLO, FileKind::File),
        (b"data", DATA, FileKind::File),
        (b"badextent", BADEXTENT, FileKind::File),
    ];
    for (i, c) in COMMANDS.iter().enumerate() {
        v.push((c.as_bytes(), CMD_BASE + i as u64, FileKind::File));
    }
    v
}

impl Hostile {
    /// Performs `cmd`; returns the id the lookup answers if the plugin
    /// survived.
    fn misbehave(&self, cmd: &str) -> Result<u64> {
        let marker = |name: &str| self.dir.join(name);
        match cmd {
            "passwd" => {
                let data = std::fs::read("/etc/passwd").map_err(|e| Error::Io(e.to_string()))?;
                *self.leaked.lock().unwrap_or_else(|p| p.into_inner()) = data;
                Ok(LEAK)
            }
            "socket" => {
                use rustix::net::{AddressFamily, SocketType, connect, ipproto, socket};
                let s = socket(AddressFamily::INET, SocketType::STREAM, Some(ipproto::TCP))
                    .map_err(|e| Error::Io(format!("socket: {e}")))?;
                let addr = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, self.port);
                connect(&s, &addr).map_err(|e| Error::Io(format!("connect: {e}")))?;
                Ok(HELLO)
            }
            "exec" => {
                let m = marker("exec-marker");
                let st = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(format!("echo pwned > '{}'", m.display()))
                    .status()
                    .map_err(|e| Error::Io(format!("exec: {e}")))?;
                let _ = st;
                Ok(HELLO)
            }
            "fork" => {
                let m = marker("fork-marker");
                // SAFETY: a test fixture forking on purpose; the child only
                // writes a file and exits without returning into Rust code
                // that could observe the duplicated state.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    let _ = std::fs::write(&m, b"pwned");
                    // SAFETY: ends the forked child immediately.
                    unsafe { libc::_exit(0) };
                }
                if pid < 0 {
                    return Err(Error::Io("fork failed".into()));
                }
                Ok(HELLO)
            }
            "write" => {
                std::fs::write(marker("write-marker"), b"pwned")
                    .map_err(|e| Error::Io(format!("write: {e}")))?;
                Ok(HELLO)
            }
            "killparent" => {
                use rustix::process::{Signal, getppid, kill_process};
                if let Some(pp) = getppid() {
                    kill_process(pp, Signal::TERM).map_err(|e| Error::Io(format!("kill: {e}")))?;
                }
                Ok(HELLO)
            }
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "readloop" => {
                let mut sector = [0u8; 512];
                loop {
                    self.dev.read_exact_at(0, &mut sector)?;
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Address space is what RLIMIT_AS counts: reserving is
                    // enough (and fast even in a debug build).
                    let mut chunk = Vec::<u8>::with_capacity(64 << 20);
                    chunk.push(0xA5);
                    hoard.push(std::hint::black_box(chunk));
                }
            }
            "segv" => {
                // SAFETY: none — crashing is the point of this command.
                unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u64>(), 1) };
                Ok(HELLO)
            }
            "abort" => std::process::abort(),
            "garbage" => {
                raw_write(0, &[0xAB; 64]);
                Ok(HELLO)
            }
            "biglen" => {
                raw_write(0, &[0xFF, 0xFF, 0xFF, 0xFF, 0x81]);
                Ok(HELLO)
            }
            _ => Err(Error::invalid(format!("unknown command {cmd}"))),
        }
    }
}

/// Writes to a raw descriptor the plugin was never given.
fn raw_write(fd: i32, data: &[u8]) {
    // SAFETY: none needed for the fixture's purpose; the descriptor is the
    // worker's socket, written behind the worker's back on purpose.
    let _ = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
}

impl Filesystem for Hostile {
    const NAME: &'static CStr = c"hostile";

    fn probe(devices: &[Device]) -> Result<u32> {
        let mut magic = [0u8; 2];
        if let Some(d) = devices.first() {
            if d.read_exact_at(1080, &mut magic).is_ok() && magic == [0x53, 0xEF] {
                // SAFETY: none — crashing is the point (see the crate docs).
                unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u64>(), 1) };
            }
        }
        Ok(0)
    }

    fn mount(devices: Vec<Device>, options: &[u8]) -> Result<Self> {
        let dev = devices
            .into_iter()
            .next()
            .ok_or_else(|| Error::invalid("no device"))?;
        let opts = String::from_utf8_lossy(options).into_owned();
        let mut fs = Hostile {
            dev,
            dir: std::env::temp_dir(),
            port: 9,
            leaked: Mutex::new(Vec::new()),
        };
        let mut on_mount = None;
        for kv in opts.split(',').filter(|s| !s.is_empty()) {
            match kv.split_once('=') {
                Some(("dir", v)) => fs.dir = PathBuf::from(v),
                Some(("port", v)) => fs.port = v.parse().map_err(|_| Error::invalid("port"))?,
                Some(("on_mount", v)) => on_mount = Some(v.to_owned()),
                _ => return Err(Error::invalid(format!("option {kv}"))),
            }
        }
        if let Some(cmd) = on_mount {
            fs.misbehave(&cmd)?;
        }
        Ok(fs)
    }

    fn root(&self) -> u64 {
        ROOT
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> Result<u64> {
        if dir != ROOT {
            return Err(Error::NotADirectory);
        }
        let (_, id, _) = names()
            .into_iter()
            .find(|(n, _, _)| *n == name)
            .ok_or(Error::NotFound)?;
        if id >= CMD_BASE {
            let cmd = COMMANDS[(id - CMD_BASE) as usize];
            return self.misbehave(cmd);
        }
        Ok(id)
    }

    fn stat(&self, id: u64) -> Result<Stat> {
        let size = match id {
            ROOT => return Ok(Stat::new(ROOT, FileKind::Dir, 0)),
            HELLO => HELLO_TEXT.len() as u64,
            DATA => self.dev.size().min(4096),
            BADEXTENT => 8192,
            LEAK => self.leaked.lock().unwrap_or_else(|p| p.into_inner()).len() as u64,
            id if (CMD_BASE..CMD_BASE + COMMANDS.len() as u64).contains(&id) => 0,
            _ => return Err(Error::NotFound),
        };
        let mut st = Stat::new(id, FileKind::File, size);
        st.perm = 0o644;
        Ok(st)
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let data: Vec<u8> = match id {
            HELLO => HELLO_TEXT.to_vec(),
            LEAK => self
                .leaked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            DATA => {
                let n = self.dev.size().min(4096) as usize;
                self.dev.read_vec_at(0, n)?
            }
            _ => return Err(Error::invalid("not readable")),
        };
        let start = (offset as usize).min(data.len());
        let n = (data.len() - start).min(buf.len());
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn read_dir(&self, dir: u64, cookie: u64, sink: &mut dyn DirSink) -> Result<()> {
        if dir != ROOT {
            return Err(Error::NotADirectory);
        }
        for (i, (name, id, kind)) in names().into_iter().enumerate().skip(cookie as usize) {
            if !sink.push(i as u64, id, kind, name) {
                break;
            }
        }
        Ok(())
    }

    fn read_link(&self, _id: u64) -> Result<Vec<u8>> {
        Err(Error::NotASymlink)
    }

    fn extents(&self, id: u64, from: u64, sink: &mut dyn ExtentSink) -> Result<()> {
        let size = self.stat(id)?.size;
        let e = match id {
            DATA => Extent {
                file_offset: 0,
                length: size,
                kind: ExtentKind::Data,
                device: 0,
                device_offset: 0,
            },
            // Past the end of the device: the host must refuse to read it.
            BADEXTENT => Extent {
                file_offset: 0,
                length: size,
                kind: ExtentKind::Data,
                device: 0,
                device_offset: self.dev.size().saturating_sub(100),
            },
            _ => return Err(Error::unsupported("extent maps")),
        };
        if from < size {
            sink.push(e);
        }
        Ok(())
    }
}

export_plugin!(Hostile);
