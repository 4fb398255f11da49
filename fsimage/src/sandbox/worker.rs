//! The host's handle on one worker process: spawning it, one request at a
//! time under a deadline, serving its device reads, and killing and reaping
//! it when anything goes wrong.

use super::Config;
use super::protocol::{
    self, DevSpec, K_SOURCE_DATA, K_SOURCE_ERR, ProtocolError, Reply, Request, WorkerMsg,
};
use super::shm;
use crate::plugin::Plugin;
use fsimage_abi::io::check_range;
use fsimage_abi::{Error as AbiError, ReadAt, Result as AbiResult};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Probe slots kept for reuse.
const KEEP_PROBED: usize = 8;

/// Why an exchange with the worker failed.
enum Fail {
    Timeout,
    Closed,
    Io(String),
    Protocol(String),
}

impl From<ProtocolError> for Fail {
    fn from(e: ProtocolError) -> Self {
        Fail::Protocol(e.0)
    }
}

struct Io {
    child: Option<Child>,
    sock: Option<UnixStream>,
    /// Set once the worker failed: the message every later call returns.
    failed: Option<String>,
    /// Host-side devices the worker may read, by slot.
    slots: HashMap<u32, Arc<dyn ReadAt>>,
    next_slot: u32,
    /// Slots of recent probes, kept (at most [`KEEP_PROBED`]) so the mount
    /// that follows a probe names the same slot, and the worker's cached
    /// blocks of it serve again.
    probed: std::collections::VecDeque<u32>,
    /// Slots mounts read, with how many mounts read each.
    mounted: HashMap<u32, u32>,
    /// Last frame body read.
    buf: Vec<u8>,
    /// Device read scratch space.
    scratch: Vec<u8>,
    /// The shared window, if there is one.
    shm: Option<super::shm::Shm>,
}

/// One running worker process.
pub(crate) struct Worker {
    io: Mutex<Io>,
    timeout: Duration,
    /// Names of the plugins it was started with, in its order.
    plugins: Vec<String>,
}

/// `5 s`, `250 ms`.
pub(crate) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Name of a signal, for messages.
pub(crate) fn signal_name(sig: i32) -> String {
    #[cfg(target_os = "linux")]
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => "",
    };
    #[cfg(not(target_os = "linux"))]
    let name = match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGBUS",
        11 => "SIGSEGV",
        12 => "SIGSYS",
        24 => "SIGXCPU",
        _ => "",
    };
    if name.is_empty() {
        format!("signal {sig}")
    } else {
        name.to_owned()
    }
}

/// What an exit status says happened, as the end of "plugin ext2 ...".
fn describe_exit(st: ExitStatus) -> String {
    match (st.signal(), st.code()) {
        (Some(sig), _) => {
            let name = signal_name(sig);
            if name == "SIGSYS" {
                "was killed for a forbidden system call (SIGSYS)".to_owned()
            } else if name == "SIGXCPU" {
                "exceeded its CPU time limit (SIGXCPU)".to_owned()
            } else {
                format!("crashed ({name})")
            }
        }
        (None, Some(code)) => format!("exited unexpectedly with status {code}"),
        (None, None) => "exited unexpectedly".to_owned(),
    }
}

fn io_fail(e: std::io::Error) -> Fail {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Fail::Timeout,
        ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => {
            Fail::Closed
        }
        _ => Fail::Io(e.to_string()),
    }
}

fn remaining(deadline: Instant) -> Result<Duration, Fail> {
    let now = Instant::now();
    if now >= deadline {
        return Err(Fail::Timeout);
    }
    Ok((deadline - now).max(Duration::from_millis(1)))
}

/// Bytes a socket end may have in flight (capped by the kernel's
/// `net.core.wmem_max`). With the default (about 200 KiB) an 8 MiB READ
/// reply or device read stalls the writer a dozen times, and each stall
/// costs both sides a sleep and a wake-up.
const SEND_BUFFER: libc::c_int = 4 << 20;

/// Asks for a [`SEND_BUFFER`]-sized send buffer; best effort (a smaller
/// one only costs speed).
fn enlarge_send_buffer(sock: &UnixStream) {
    use std::os::fd::AsRawFd;
    let v = SEND_BUFFER;
    // SAFETY: setsockopt on an open socket we own, with a pointer to a
    // c_int on our stack and its exact size.
    let _ = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&raw const v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

fn read_full(sock: &mut UnixStream, buf: &mut [u8], deadline: Instant) -> Result<(), Fail> {
    let mut done = 0;
    while done < buf.len() {
        sock.set_read_timeout(Some(remaining(deadline)?))
            .map_err(io_fail)?;
        match sock.read(&mut buf[done..]) {
            Ok(0) => return Err(Fail::Closed),
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                remaining(deadline)?;
            }
            Err(e) => return Err(io_fail(e)),
        }
    }
    Ok(())
}

fn write_full(sock: &mut UnixStream, mut buf: &[u8], deadline: Instant) -> Result<(), Fail> {
    while !buf.is_empty() {
        sock.set_write_timeout(Some(remaining(deadline)?))
            .map_err(io_fail)?;
        // std sends on Unix sockets with MSG_NOSIGNAL: a dead worker is EPIPE,
        // never SIGPIPE (which a C host may not ignore).
        match sock.write(buf) {
            Ok(0) => return Err(Fail::Closed),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                remaining(deadline)?;
            }
            Err(e) => return Err(io_fail(e)),
        }
    }
    Ok(())
}

impl Io {
    /// Reads one frame body into `self.buf`.
    fn read_frame(&mut self, deadline: Instant) -> Result<(), Fail> {
        let sock = self.sock.as_mut().ok_or(Fail::Closed)?;
        let mut h = [0u8; 4];
        read_full(sock, &mut h, deadline)?;
        let len = protocol::decode_header(h)?;
        self.buf.clear();
        self.buf.resize(len, 0);
        read_full(sock, &mut self.buf, deadline)
    }

    fn send(&mut self, parts: &[&[u8]], deadline: Instant) -> Result<(), Fail> {
        let sock = self.sock.as_mut().ok_or(Fail::Closed)?;
        for p in parts {
            write_full(sock, p, deadline)?;
        }
        Ok(())
    }

    /// Answers a worker's device read.
    fn serve_read(
        &mut self,
        slot: u32,
        offset: u64,
        len: u32,
        deadline: Instant,
    ) -> Result<(), Fail> {
        let len = len as usize;
        let dev = match self.slots.get(&slot) {
            None => Err(AbiError::invalid(format!("no device {slot}"))),
            Some(dev) => check_range(offset, len as u64, dev.size()).map(|()| dev.clone()),
        };
        // Straight into the shared window when there is one.
        let in_window = len <= shm::HALF && self.shm.is_some();
        let result = dev.and_then(|dev| match &self.shm {
            Some(s) if in_window => s.fill_in(len, |b| dev.read_exact_at(offset, b)),
            _ => {
                // Grown, never cleared: every byte asked is overwritten.
                if self.scratch.len() < len {
                    self.scratch.resize(len, 0);
                }
                dev.read_exact_at(offset, &mut self.scratch[..len])
            }
        });
        match result {
            Ok(()) if in_window => {
                let h = protocol::header_for(protocol::K_SOURCE_DATA_SHM, 0)?;
                self.send(&[&h], deadline)
            }
            Ok(()) => {
                let h = protocol::header_for(K_SOURCE_DATA, len)?;
                let data = std::mem::take(&mut self.scratch);
                let r = self.send(&[&h, &data[..len]], deadline);
                self.scratch = data;
                r
            }
            Err(e) => {
                let f = protocol::encode_error(protocol::Frame::new(K_SOURCE_ERR), &e).finish()?;
                self.send(&[&f], deadline)
            }
        }
    }

    /// Sends `frame` and reads messages, serving device reads, until the
    /// reply arrives (left in `self.buf`).
    fn exchange(&mut self, frame: &[u8], deadline: Instant) -> Result<(), Fail> {
        self.send(&[frame], deadline)?;
        loop {
            self.read_frame(deadline)?;
            match protocol::decode_worker_msg(&self.buf)? {
                WorkerMsg::SourceRead { slot, offset, len } => {
                    self.serve_read(slot, offset, len, deadline)?
                }
                WorkerMsg::Ready { .. } => {
                    return Err(Fail::Protocol("unexpected READY".into()));
                }
                WorkerMsg::Ok(_) | WorkerMsg::OkShm(_) | WorkerMsg::Err(_) => return Ok(()),
            }
        }
    }

    /// Kills and reaps the worker; returns (and remembers) the message.
    fn fail(&mut self, who: &str, why: Fail, timeout: Duration) -> String {
        self.sock = None;
        let what = match why {
            Fail::Timeout => format!("timed out after {}", human(timeout)),
            Fail::Protocol(m) => format!("broke the sandbox protocol ({m})"),
            Fail::Closed | Fail::Io(_) => {
                // It probably died by itself: give it a moment to be reaped
                // so the message says how.
                let mut status = None;
                if let Some(c) = self.child.as_mut() {
                    let until = Instant::now() + Duration::from_millis(500);
                    while Instant::now() < until {
                        match c.try_wait() {
                            Ok(Some(st)) => {
                                status = Some(st);
                                break;
                            }
                            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                            Err(_) => break,
                        }
                    }
                }
                match (status, why) {
                    (Some(st), _) => describe_exit(st),
                    (None, Fail::Io(e)) => format!("failed: {e}"),
                    (None, _) => "closed its channel".to_owned(),
                }
            }
        };
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.slots.clear();
        self.probed.clear();
        self.mounted.clear();
        let msg = format!("plugin {who} {what}");
        self.failed = Some(msg.clone());
        msg
    }
}

/// A worker process started but not yet told which plugins to load: its
/// exec, namespaces and seccomp program get under way while the host still
/// loads plugins and reads the partition table. Dropping it kills it.
pub(crate) struct Starting {
    io: Io,
    exe: std::path::PathBuf,
}

impl Starting {
    /// The executable it runs.
    pub(crate) fn exe(&self) -> &Path {
        &self.exe
    }

    /// Sends LOAD for `plugins` and waits for READY.
    pub(crate) fn load(self, plugins: &[Arc<Plugin>], cfg: &Config) -> AbiResult<Worker> {
        let who = plugins
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",");
        let mut io = self.io;
        let deadline = Instant::now() + cfg.timeout;
        let ready = protocol::encode_load(
            plugins
                .iter()
                .map(|p| p.path().as_os_str().as_encoded_bytes()),
        )
        .map_err(Fail::from)
        .and_then(|f| io.send(&[&f], deadline))
        .and_then(|()| io.read_frame(deadline))
        .and_then(|()| match protocol::decode_worker_msg(&io.buf)? {
            WorkerMsg::Ready { plugins, notes } => Ok((plugins, notes)),
            _ => Err(Fail::Protocol("expected READY".into())),
        });
        let (names, notes) = match ready {
            Ok(r) => r,
            Err(f) => {
                let who = format!("worker for {who}");
                return Err(AbiError::Io(io.fail(&who, f, cfg.timeout)));
            }
        };
        if names.len() != plugins.len() {
            let f = Fail::Protocol(format!(
                "{} plugins loaded, {} asked",
                names.len(),
                plugins.len()
            ));
            return Err(AbiError::Io(io.fail(&who, f, cfg.timeout)));
        }
        if cfg.debug && !notes.is_empty() {
            for line in notes.lines() {
                eprintln!("fsimage sandbox: not applied: {line}");
            }
        }
        for (p, n) in plugins.iter().zip(&names) {
            if n.as_deref() != Some(p.name()) && cfg.debug {
                eprintln!(
                    "fsimage sandbox: worker could not load plugin {} ({})",
                    p.name(),
                    p.path().display()
                );
            }
        }
        if let Some(c) = &io.child {
            shared_net::keep_from(c.id());
        }
        Ok(Worker {
            io: Mutex::new(io),
            timeout: cfg.timeout,
            plugins: plugins.iter().map(|p| p.name().to_owned()).collect(),
        })
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        self.sock = None;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            reaper::reap(c);
        }
    }
}

/// Reaps killed workers off the caller's path: a killed process takes a
/// few hundred microseconds to finish dying (its memory, its namespaces),
/// and closing a filesystem need not wait for that. One thread per process,
/// started on first use, waits for each; no worker is left a zombie for
/// longer than its own exit takes. Where no thread can be started, the
/// caller waits.
mod reaper {
    use std::process::Child;
    use std::sync::Mutex;
    use std::sync::mpsc::{Sender, channel};

    /// The reaper's channel, and the process that started it (a forked
    /// child of the host has no reaper thread and needs its own).
    static REAPER: Mutex<Option<(u32, Sender<Child>)>> = Mutex::new(None);

    pub(super) fn reap(mut child: Child) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let me = std::process::id();
        let mut g = REAPER.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_ref().is_none_or(|(pid, _)| *pid != me) {
            let (tx, rx) = channel::<Child>();
            let started = std::thread::Builder::new()
                .name("fsimage-reaper".into())
                .spawn(move || {
                    for mut c in rx {
                        let _ = c.wait();
                    }
                });
            *g = started.is_ok().then_some((me, tx));
        }
        let child = match g.as_ref() {
            Some((_, tx)) => match tx.send(child) {
                Ok(()) => return,
                Err(e) => e.0,
            },
            None => child,
        };
        drop(g);
        let mut child = child;
        let _ = child.wait();
    }
}

impl Worker {
    /// Starts a worker process; see [`Starting`].
    pub(crate) fn start(exe: &Path, cfg: &Config) -> AbiResult<Starting> {
        let (host, theirs) =
            UnixStream::pair().map_err(|e| AbiError::Io(format!("sandbox: socketpair: {e}")))?;
        for end in [&host, &theirs] {
            enlarge_send_buffer(end);
        }
        let mut cmd = Command::new(exe);
        cmd.arg("--memory")
            .arg(cfg.memory_limit.to_string())
            .arg("--cpu")
            .arg(cfg.cpu_limit.to_string());
        if cfg.debug {
            cmd.arg("--debug");
        }
        // Standard output carries the network namespace to join, if any.
        // Standard output carries the shared window, if there is one.
        let mut window = shm::Shm::new();
        let out = window
            .as_ref()
            .and_then(|s| s.fd().try_clone_to_owned().ok());
        if out.is_some() {
            cmd.arg("--shm");
        } else {
            window = None;
        }
        if let Some(fd) = shared_net::raw() {
            cmd.arg("--join-net").arg(fd.to_string());
        }
        cmd.stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(out.map_or_else(Stdio::null, Stdio::from))
            .stderr(if cfg.debug {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .env_clear()
            .current_dir("/");
        let child = cmd
            .spawn()
            .map_err(|e| AbiError::Io(format!("sandbox: cannot start {}: {e}", exe.display())));
        // Close our copy of the worker's end now, so its death reads as EOF.
        drop(cmd);
        let child = child?;
        Ok(Starting {
            io: Io {
                child: Some(child),
                sock: Some(host),
                failed: None,
                slots: HashMap::new(),
                next_slot: 0,
                probed: Default::default(),
                mounted: HashMap::new(),
                buf: Vec::new(),
                scratch: Vec::new(),
                shm: window,
            },
            exe: exe.to_path_buf(),
        })
    }

    /// Starts a worker loading `plugins` and waits for it to say it is ready.
    pub(crate) fn spawn(exe: &Path, plugins: &[Arc<Plugin>], cfg: &Config) -> AbiResult<Worker> {
        Self::start(exe, cfg)?.load(plugins, cfg)
    }

    /// The index of plugin `name` in this worker, if it was started with it.
    pub(crate) fn index_of(&self, name: &str) -> Option<u16> {
        self.plugins
            .iter()
            .position(|n| n == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Whether the worker has failed (is dead).
    pub(crate) fn has_failed(&self) -> bool {
        self.io
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failed
            .is_some()
    }

    /// One request: sends it, serves device reads until the reply, decodes
    /// the reply and hands it to `f`. Any failure of the worker kills it.
    pub(crate) fn call<T>(
        &self,
        who: &str,
        req: &Request<'_>,
        f: impl FnOnce(Reply<'_>) -> AbiResult<T>,
    ) -> AbiResult<T> {
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        self.call_locked(&mut io, who, req, f)
    }

    /// READ into `buf` (as long as the request asks): the bytes come in
    /// the reply, or in the shared window, copied out while the worker
    /// waits for its next request.
    pub(crate) fn read(&self, who: &str, req: &Request<'_>, buf: &mut [u8]) -> AbiResult<usize> {
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        let mut in_window = None;
        let n = self.call_locked(&mut io, who, req, |r| match r {
            Reply::Data(d) => {
                // decode_reply checked d.len() <= the length asked.
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Ok(n)
            }
            Reply::Shm(n) => {
                in_window = Some(n as usize);
                Ok(0)
            }
            _ => Err(AbiError::Io("sandbox: unexpected reply to read".into())),
        })?;
        let Some(n) = in_window else {
            return Ok(n);
        };
        let n = n.min(buf.len());
        if io
            .shm
            .as_ref()
            .is_some_and(|s| s.copy_out(shm::OUT, &mut buf[..n]))
        {
            return Ok(n);
        }
        let p = Fail::Protocol("a shared-window reply without a window".into());
        Err(AbiError::Io(io.fail(who, p, self.timeout)))
    }

    fn call_locked<T>(
        &self,
        io: &mut Io,
        who: &str,
        req: &Request<'_>,
        f: impl FnOnce(Reply<'_>) -> AbiResult<T>,
    ) -> AbiResult<T> {
        if let Some(m) = &io.failed {
            return Err(AbiError::Io(m.clone()));
        }
        let frame = protocol::encode_request(req)
            .map_err(|e| AbiError::limit(format!("sandbox request: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        if let Err(fail) = io.exchange(&frame, deadline) {
            return Err(AbiError::Io(io.fail(who, fail, self.timeout)));
        }
        let body = std::mem::take(&mut io.buf);
        let r = match protocol::decode_reply(req, &body) {
            Ok(Ok(reply)) => f(reply),
            Ok(Err(e)) => Err(e),
            Err(p) => Err(AbiError::Io(io.fail(who, p.into(), self.timeout))),
        };
        io.buf = body;
        r
    }

    /// A slot for each device: the one it already has, or a new one.
    fn add_slots(io: &mut Io, devices: &[Arc<dyn ReadAt>]) -> Vec<DevSpec> {
        devices
            .iter()
            .map(|d| {
                let known = io
                    .slots
                    .iter()
                    .find(|(_, s)| std::ptr::addr_eq(Arc::as_ptr(s), Arc::as_ptr(d)))
                    .map(|(&k, _)| k);
                let slot = known.unwrap_or_else(|| {
                    let slot = io.next_slot;
                    io.next_slot = io.next_slot.wrapping_add(1);
                    io.slots.insert(slot, d.clone());
                    slot
                });
                DevSpec {
                    slot,
                    size: d.size(),
                }
            })
            .collect()
    }

    /// Forgets the slots no mount reads and no kept probe names.
    fn drop_unused(io: &mut Io, slots: &[u32]) {
        for s in slots {
            if !io.mounted.contains_key(s) && !io.probed.contains(s) {
                io.slots.remove(s);
            }
        }
    }

    /// PROBE: the plugin's confidence that `devices` hold its filesystem.
    pub(crate) fn probe(
        &self,
        who: &str,
        plugin: u16,
        devices: &[Arc<dyn ReadAt>],
    ) -> AbiResult<u32> {
        if devices.len() > protocol::MAX_DEVICES {
            return Err(AbiError::limit("too many devices"));
        }
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        let devs = Self::add_slots(&mut io, devices);
        let slots: Vec<u32> = devs.iter().map(|d| d.slot).collect();
        let req = Request::Probe {
            plugin,
            devices: devs,
        };
        let r = self.call_locked(&mut io, who, &req, |r| match r {
            Reply::Confidence(c) => Ok(c),
            _ => Err(AbiError::Io("sandbox: unexpected reply to probe".into())),
        });
        let mut old = Vec::new();
        for &s in &slots {
            if !io.probed.contains(&s) {
                io.probed.push_back(s);
            }
        }
        while io.probed.len() > KEEP_PROBED {
            old.extend(io.probed.pop_front());
        }
        Self::drop_unused(&mut io, &old);
        r
    }

    /// MOUNT: the mount handle, the root id if the worker sent it, and the
    /// device slots the mount keeps reading.
    pub(crate) fn mount(
        &self,
        who: &str,
        plugin: u16,
        devices: &[Arc<dyn ReadAt>],
        options: &[u8],
    ) -> AbiResult<(u32, Option<u64>, Vec<u32>)> {
        if devices.len() > protocol::MAX_DEVICES {
            return Err(AbiError::limit("too many devices"));
        }
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        let devs = Self::add_slots(&mut io, devices);
        let slots: Vec<u32> = devs.iter().map(|d| d.slot).collect();
        let req = Request::Mount {
            plugin,
            devices: devs,
            options,
        };
        let r = self.call_locked(&mut io, who, &req, |r| match r {
            Reply::Mounted { handle, root } => Ok((handle, root)),
            _ => Err(AbiError::Io("sandbox: unexpected reply to mount".into())),
        });
        match r {
            Ok((h, root)) => {
                for &s in &slots {
                    *io.mounted.entry(s).or_insert(0) += 1;
                }
                Ok((h, root, slots))
            }
            Err(e) => {
                Self::drop_unused(&mut io, &slots);
                Err(e)
            }
        }
    }

    /// UNMOUNT, best effort, and forgets the mount's devices. Skipped when
    /// the worker is about to be killed anyway (`last`: no one else uses
    /// it): one round trip less to close a filesystem.
    pub(crate) fn unmount(&self, who: &str, handle: u32, slots: &[u32], last: bool) {
        let mut io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        if io.failed.is_none() && !last {
            let _ = self.call_locked(&mut io, who, &Request::Unmount(handle), |_| Ok(()));
        }
        for s in slots {
            if let Some(n) = io.mounted.get_mut(s) {
                *n -= 1;
                if *n == 0 {
                    io.mounted.remove(s);
                }
            }
        }
        Self::drop_unused(&mut io, slots);
    }
}

/// One empty network namespace for all the workers of this process.
///
/// Creating a network namespace is the dearest part of a worker's start
/// (the kernel sets up a loopback device, sysctl tables and IPv6 state, and
/// tears them down again afterwards), so the first worker's namespace is
/// kept (one descriptor, for the life of the process) and later workers
/// enter it instead. It holds nothing but a loopback device that is down,
/// and seccomp stops workers from making sockets, so they cannot meet in
/// it. Only when the worker shares the host's user namespace (the host is
/// root): elsewhere a worker could not enter it, and each makes its own.
mod shared_net {
    use std::os::fd::OwnedFd;
    use std::sync::Mutex;

    static NET: Mutex<Option<OwnedFd>> = Mutex::new(None);

    /// The kept namespace's descriptor number in this process: a new
    /// worker (root, as we are) opens it as `/proc/PPID/fd/N`.
    pub(super) fn raw() -> Option<std::os::fd::RawFd> {
        let g = NET.lock().unwrap_or_else(|p| p.into_inner());
        g.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
    }

    /// Keeps worker `pid`'s network namespace, if none is kept yet and it
    /// is a namespace of its own (a worker that could not make one is in
    /// ours) in our user namespace.
    #[cfg(target_os = "linux")]
    pub(super) fn keep_from(pid: u32) {
        use std::os::unix::fs::MetadataExt;
        let mut g = NET.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_some() {
            return;
        }
        let ino = |p: &str| std::fs::metadata(p).map(|m| m.ino()).ok();
        let theirs = |ns: &str| format!("/proc/{pid}/ns/{ns}");
        let Some(own_user) = ino("/proc/self/ns/user") else {
            return;
        };
        let Some(own_net) = ino("/proc/self/ns/net") else {
            return;
        };
        if ino(&theirs("user")) != Some(own_user) {
            return;
        }
        let Ok(f) = std::fs::File::open(theirs("net")) else {
            return;
        };
        if f.metadata().is_ok_and(|m| m.ino() != own_net) {
            *g = Some(OwnedFd::from(f));
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn keep_from(_pid: u32) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn messages_name_what_happened() {
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        let sig = |s: i32| ExitStatus::from_raw(s);
        assert_eq!(describe_exit(sig(11)), "crashed (SIGSEGV)");
        assert_eq!(
            describe_exit(sig(31)),
            "was killed for a forbidden system call (SIGSYS)"
        );
        assert_eq!(
            describe_exit(sig(24)),
            "exceeded its CPU time limit (SIGXCPU)"
        );
        assert_eq!(
            describe_exit(sig(3 << 8)),
            "exited unexpectedly with status 3"
        );
        assert_eq!(signal_name(64), "signal 64");
    }
}
