//! Running plugins in a locked-down worker process (the default).
//!
//! The image belongs to the guest and may be hostile, so the process that
//! asks for files (pygrub, a toolstack, `fsimage-cat`) never runs filesystem
//! parsing code. Each opened image gets one worker process,
//! `fsimage-worker`, that loads the plugins, locks itself down, and answers
//! the probes of the root choice and then the calls of the mount, over a
//! socket ([`protocol`]). The worker is started first thing in an open, so
//! its exec and namespaces overlap the host loading plugins and reading the
//! partition table; it then loads only the plugins whose magic (ABI 1.1)
//! the image or one of its partitions holds. The host side is a second implementation of
//! [`crate::plugin::Mount`], so everything above it (path walking, symlinks,
//! the fast data path) is shared with in-process mounts.
//!
//! # What the worker gets
//! Only one end of a socket pair (as its standard input), on Linux a 16 MiB
//! shared memory window (a memfd, as its standard output, which it maps and
//! then points at `/dev/null`), standard error on `/dev/null` (inherited in
//! debug mode), an empty environment, and the plugin paths in its first
//! message (LOAD). It holds
//! **no image descriptor**: every byte a plugin reads is asked of the host
//! (`SOURCE_READ`), which reads it through the device's window, so a worker
//! can never see past its partition. It enters its namespaces, loads the
//! plugins, then locks itself down before it asks for a single byte.
//!
//! Plain file data does not pass through the worker at all: the worker
//! returns the file's extent map, the host checks it against the window
//! ([`crate::plugin::check_extents`]) and reads the image itself, so
//! sandboxed bulk reads run at `pread` speed. Only data the plugin must
//! transform (compressed, inline, checksummed) comes back in READ replies,
//! up to [`protocol::MAX_READ`] bytes each, through the shared window
//! ([`shm`]) as device bytes go the other way. Round trips are what a
//! sandboxed call costs, so the host remembers a mount's lookups and stats
//! (bounded; the image is read-only, so they never change), the probes of
//! one open, and the worker fetches device bytes in cached 64 KiB blocks,
//! and 4 MiB ahead once large reads run in sequence.
//!
//! # Lock-down, per platform
//! | measure | Linux | other Unixes |
//! |---|---|---|
//! | separate process, no image descriptor, empty environment, host-enforced windows, deadlines | yes | yes |
//! | all inherited descriptors closed | yes | yes |
//! | parent-death signal (worker dies with the host) | yes | no |
//! | rlimits: address space (1 GiB), CPU (120 s), descriptors 0 new, core 0, processes 0, file size 0, memlock 0 | yes | yes |
//! | `PR_SET_NO_NEW_PRIVS`, not dumpable | yes | no |
//! | seccomp-bpf allowlist (denied call: the process is killed, `SIGSYS`) | yes | no |
//! | new user (when not root), mount, network, IPC, UTS namespaces | where the kernel allows | no |
//! | one empty network namespace shared by the workers of one host process | when the host is root | no |
//! | chroot to an empty read-only tmpfs | when root or in a user namespace | no |
//! | uid/gid 65534, no supplementary groups | when started as root | no (noted) |
//!
//! So on Linux a compromised plugin can compute and talk to its host over
//! the socket, and nothing else. On other Unixes it is still a separate,
//! resource-limited process that holds no image descriptor (only the
//! socket), but it keeps the user's file-system and network rights.
//!
//! The seccomp allowlist: `read`/`recvfrom`/`recvmsg` on the socket,
//! `write`/`writev`/`sendto`/`sendmsg` on the socket and on standard error,
//! `mmap`/`mprotect` without `PROT_EXEC`, `munmap`, `mremap`, `brk`,
//! `madvise`, `futex`, `sched_yield`, `getrandom`, the clocks, signal
//! masks/handlers/return (`rt_sig*`, `sigaltstack`), `getpid`/`gettid`,
//! `tgkill` of its own process only (so `abort` works), `close`, `exit`,
//! `exit_group`. Nothing that opens, creates, connects, executes, forks,
//! traces or signals another process. A denied call kills the worker with
//! `SIGSYS` rather than returning `EPERM`: a plugin that tries is hostile or
//! broken, and a dead worker is the one outcome that cannot be mistaken.
//! Whatever could not be applied is reported by the worker in its READY
//! message and printed to standard error when the sandbox's debug mode is on
//! ([`crate::OpenOptions::sandbox_debug`], or `FSIMAGE_SANDBOX_DEBUG=1`).
//!
//! # What the host process keeps
//! Workers are killed when their filesystem is closed and reaped by one
//! thread, `fsimage-reaper`, started on first use, so a close does not wait
//! for the worker's exit. Run as root, the host keeps one descriptor for
//! good: the first worker's network namespace, which later workers enter
//! rather than each building (and the kernel tearing down) a new one; it
//! holds nothing but a loopback device that is down, and seccomp stops
//! workers from making sockets to meet in it.
//!
//! # The host treats the worker as hostile
//! Every frame is length-checked before anything is allocated (at most
//! [`protocol::MAX_FRAME`]), every reply is checked against its request,
//! every request has a deadline (default 5 s). On a crash, timeout,
//! over-limit reply or protocol violation the worker is killed and reaped,
//! the call fails with `plugin ext2 crashed (SIGSEGV)`, `plugin zfs timed out
//! after 5 s`, ..., and every later call on that mount fails the same way.
//! While probing, a worker that died is replaced by a fresh one (at most
//! [`MAX_SPAWNS`] per open), so one crashing plugin does not stop the others.
//!
//! # Finding the worker
//! [`crate::OpenOptions::worker_path`] if set; else `$FSIMAGE_WORKER`; else
//! `fsimage-worker` next to the running executable (and, for test binaries
//! in a Cargo `deps/` folder, the folder above); else next to each plugin;
//! else `$libexecdir/fsimage/fsimage-worker` (`FSIMAGE_LIBEXECDIR` at build
//! time, default `/usr/local/libexec`). No worker found is an error: the
//! core never falls back to in-process parsing by itself.

pub mod protocol;
pub mod shm;
mod worker;

use crate::error::{Error, Result};
use crate::plugin::{InProcessMount, Mount, Plugin, Registry, probe_in_process};
use fsimage_abi::{DirEntry, Error as AbiError, Extent, ReadAt, Result as AbiResult, Stat};
use protocol::{Reply, Request};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
pub(crate) use worker::{Starting, Worker};

/// Workers one open may start (the first, plus replacements for workers
/// that crashed or timed out while probing).
pub const MAX_SPAWNS: u32 = 8;
/// Name of the worker executable.
pub const WORKER_NAME: &str = "fsimage-worker";

/// Sandbox settings of an [`crate::OpenOptions`].
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) enabled: bool,
    pub(crate) worker: Option<PathBuf>,
    pub(crate) timeout: Duration,
    pub(crate) memory_limit: u64,
    pub(crate) cpu_limit: u64,
    pub(crate) debug: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            worker: None,
            timeout: Duration::from_secs(5),
            memory_limit: 1 << 30,
            cpu_limit: 120,
            debug: std::env::var_os("FSIMAGE_SANDBOX_DEBUG").is_some_and(|v| v != "0"),
        }
    }
}

impl crate::OpenOptions {
    /// Runs plugins in a locked-down worker process (`true`, the default),
    /// or in this process (`false`).
    ///
    /// **In-process parsing is unsafe for untrusted images**: a bug in a
    /// plugin then runs with all of this process's rights. Use `false` only
    /// for trusted images or for debugging.
    pub fn sandbox(&mut self, enabled: bool) -> &mut Self {
        self.sandbox.enabled = enabled;
        self
    }

    /// The worker executable to use (default: searched, see [`crate::sandbox`]).
    pub fn worker_path(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.sandbox.worker = Some(path.into());
        self
    }

    /// How long one call into the worker may take (default 5 s).
    pub fn sandbox_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.sandbox.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The worker's address-space limit in bytes (default 1 GiB).
    pub fn sandbox_memory_limit(&mut self, bytes: u64) -> &mut Self {
        self.sandbox.memory_limit = bytes;
        self
    }

    /// The worker's CPU time limit in seconds (default 120).
    pub fn sandbox_cpu_limit(&mut self, seconds: u64) -> &mut Self {
        self.sandbox.cpu_limit = seconds.max(1);
        self
    }

    /// Prints what the worker could not lock down, and lets it write to
    /// standard error (default: off, or on with `FSIMAGE_SANDBOX_DEBUG=1`).
    pub fn sandbox_debug(&mut self, debug: bool) -> &mut Self {
        self.sandbox.debug = debug;
        self
    }
}

/// Where the worker executable is looked for, in order (see the module docs).
pub fn worker_candidates(explicit: Option<&Path>, plugins: &[Arc<Plugin>]) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let mut c = Vec::new();
    if let Some(v) = std::env::var_os("FSIMAGE_WORKER").filter(|v| !v.is_empty()) {
        c.push(PathBuf::from(v));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        c.push(dir.join(WORKER_NAME));
        if dir.file_name().is_some_and(|n| n == "deps") {
            if let Some(up) = dir.parent() {
                c.push(up.join(WORKER_NAME));
            }
        }
    }
    for p in plugins {
        if let Some(dir) = p.path().parent() {
            let cand = dir.join(WORKER_NAME);
            if !c.contains(&cand) {
                c.push(cand);
            }
        }
    }
    let libexec = option_env!("FSIMAGE_LIBEXECDIR").unwrap_or("/usr/local/libexec");
    c.push(Path::new(libexec).join("fsimage").join(WORKER_NAME));
    c
}

/// The worker executable to start, or why there is none.
pub fn find_worker(explicit: Option<&Path>, plugins: &[Arc<Plugin>]) -> Result<PathBuf, String> {
    let cands = worker_candidates(explicit, plugins);
    if let Some(p) = cands.iter().find(|p| p.is_file()) {
        return Ok(p.clone());
    }
    let list: Vec<String> = cands.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "cannot be sandboxed: worker executable {WORKER_NAME} not found (looked for {})",
        list.join(", ")
    ))
}

/// Starts a worker before the open knows which plugins it needs (see
/// [`Starting`]), if the sandbox is on and a worker is found without
/// looking next to the plugins. Any failure is left for [`Runner::new`]
/// to find again and report.
pub(crate) fn prestart(cfg: &Config) -> Option<Starting> {
    if !cfg.enabled {
        return None;
    }
    let exe = find_worker(cfg.worker.as_deref(), &[]).ok()?;
    Worker::start(&exe, cfg).ok()
}

/// How an open runs plugins: in this process, or in sandbox workers.
pub(crate) enum Runner {
    InProcess,
    Sandbox(Box<Session>),
}

impl Runner {
    /// Sets up plugin execution for one open. `windows` are the places the
    /// open will probe, as far as the host can tell (the whole image and
    /// each partition): the worker loads only the plugins whose magic one
    /// of them holds, and starts right away, so a missing or broken worker
    /// is reported as such. A plugin found wanted later starts a new one.
    /// `pre` is a worker [`prestart`]ed for this open.
    pub(crate) fn new(
        cfg: &Config,
        reg: &Registry,
        image: &Path,
        forced: Option<&str>,
        windows: &[Arc<dyn ReadAt>],
        pre: Option<Starting>,
    ) -> Result<Runner> {
        if !cfg.enabled {
            return Ok(Runner::InProcess);
        }
        let plugins: Vec<Arc<Plugin>> = match forced {
            Some(name) => reg.get(name).into_iter().collect(),
            None => reg.plugins().to_vec(),
        };
        // A forced plugin is wanted whatever its magic says (its probe is
        // skipped, not its mount).
        let wanted: Vec<bool> = plugins
            .iter()
            .map(|p| forced.is_some() || windows.iter().any(|w| p.may_hold(&**w)))
            .collect();
        let names = plugins
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",");
        let fail = |what: String| Error::Sandbox {
            image: image.to_path_buf(),
            fs: names.clone(),
            what,
        };
        let exe = find_worker(cfg.worker.as_deref(), &plugins).map_err(fail)?;
        let first = wanted.iter().position(|&w| w);
        // Unused (nothing to load) or another executable: killed here.
        let pre = pre.filter(|s| first.is_some() && s.exe() == exe);
        let session = Session {
            cfg: cfg.clone(),
            exe,
            plugins,
            workers: Mutex::new(Workers {
                pre,
                wanted,
                current: None,
                spawns: 0,
            }),
            probes: Mutex::new(Vec::new()),
        };
        if let Some(i) = first {
            session
                .worker_for(i)
                .map_err(|e| fail(format!("cannot be sandboxed: {}", e.detail())))?;
        }
        Ok(Runner::Sandbox(Box::new(session)))
    }

    /// Probes `devices` with `plugin` (0-100). A plugin whose magic the
    /// first device does not hold answers 0 without being asked (it
    /// promised to).
    pub(crate) fn probe(
        &self,
        plugin: &Arc<Plugin>,
        devices: &[Arc<dyn ReadAt>],
    ) -> AbiResult<u32> {
        if !devices.first().is_some_and(|d| plugin.may_hold(&**d)) {
            return Ok(0);
        }
        match self {
            Runner::InProcess => probe_in_process(plugin, devices),
            Runner::Sandbox(s) => s.probe(plugin, devices),
        }
    }

    /// Mounts `devices` with `plugin`.
    pub(crate) fn mount(
        &self,
        plugin: Arc<Plugin>,
        devices: &[Arc<dyn ReadAt>],
        options: &[u8],
    ) -> AbiResult<Box<dyn Mount>> {
        match self {
            Runner::InProcess => Ok(Box::new(InProcessMount::mount(plugin, devices, options)?)),
            Runner::Sandbox(s) => Ok(Box::new(s.mount(&plugin, devices, options)?)),
        }
    }
}

/// The workers of one open: the current one serves probes and the mount.
pub(crate) struct Session {
    cfg: Config,
    exe: PathBuf,
    plugins: Vec<Arc<Plugin>>,
    workers: Mutex<Workers>,
    /// Probe answers so far: the root choice and the mount probe the same
    /// window, and each probe costs round trips. Holding the devices keeps
    /// their addresses from being reused while compared.
    probes: Mutex<Vec<ProbeMemo>>,
}

/// Which worker serves a session, and what the next one loads.
struct Workers {
    /// A started worker waiting for its plugins, used by the first spawn.
    pre: Option<Starting>,
    /// Which of the session's plugins a new worker loads.
    wanted: Vec<bool>,
    current: Option<Arc<Worker>>,
    /// Workers started so far (at most [`MAX_SPAWNS`]).
    spawns: u32,
}

/// One remembered probe: plugin index, devices, answer.
type ProbeMemo = (usize, Vec<Arc<dyn ReadAt>>, AbiResult<u32>);

fn same_devices(a: &[Arc<dyn ReadAt>], b: &[Arc<dyn ReadAt>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| std::ptr::addr_eq(Arc::as_ptr(x), Arc::as_ptr(y)))
}

impl Session {
    /// A live worker that has plugin `idx` loaded, and the plugin's index
    /// in it: the current one, or a new one (if there is none, it died, or
    /// it lacks the plugin; mounts keep the worker they were made in).
    fn worker_for(&self, idx: usize) -> AbiResult<(Arc<Worker>, u16)> {
        let plugin = self
            .plugins
            .get(idx)
            .ok_or_else(|| AbiError::invalid("plugin not in the sandbox"))?;
        let mut w = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cur) = w.current.as_ref().filter(|c| !c.has_failed())
            && let Some(local) = cur.index_of(plugin.name())
        {
            return Ok((cur.clone(), local));
        }
        w.current = None;
        if w.spawns >= MAX_SPAWNS {
            return Err(AbiError::Io(format!(
                "sandbox: {MAX_SPAWNS} workers failed for this image; giving up"
            )));
        }
        w.spawns += 1;
        if let Some(x) = w.wanted.get_mut(idx) {
            *x = true;
        }
        let load: Vec<Arc<Plugin>> = self
            .plugins
            .iter()
            .zip(&w.wanted)
            .filter(|(_, x)| **x)
            .map(|(p, _)| p.clone())
            .collect();
        let worker = Arc::new(match w.pre.take() {
            Some(s) => s.load(&load, &self.cfg)?,
            None => Worker::spawn(&self.exe, &load, &self.cfg)?,
        });
        let local = worker
            .index_of(plugin.name())
            .ok_or_else(|| AbiError::invalid("plugin not in the sandbox"))?;
        w.current = Some(worker.clone());
        Ok((worker, local))
    }

    fn index(&self, plugin: &Plugin) -> AbiResult<usize> {
        self.plugins
            .iter()
            .position(|p| p.name() == plugin.name())
            .ok_or_else(|| {
                AbiError::invalid(format!("plugin {} not in the sandbox", plugin.name()))
            })
    }

    fn probe(&self, plugin: &Plugin, devices: &[Arc<dyn ReadAt>]) -> AbiResult<u32> {
        let idx = self.index(plugin)?;
        let memo = |probes: &[ProbeMemo]| {
            probes
                .iter()
                .find(|(i, d, _)| *i == idx && same_devices(d, devices))
                .map(|(_, _, r)| r.clone())
        };
        if let Some(r) = memo(&self.probes.lock().unwrap_or_else(|p| p.into_inner())) {
            return r;
        }
        let (w, local) = self.worker_for(idx)?;
        let r = w.probe(plugin.name(), local, devices);
        let mut probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
        if probes.len() < 4096 {
            probes.push((idx, devices.to_vec(), r.clone()));
        }
        r
    }

    fn mount(
        &self,
        plugin: &Plugin,
        devices: &[Arc<dyn ReadAt>],
        options: &[u8],
    ) -> AbiResult<SandboxMount> {
        let (w, local) = self.worker_for(self.index(plugin)?)?;
        let (handle, root, slots) = w.mount(plugin.name(), local, devices, options)?;
        Ok(SandboxMount {
            worker: w,
            handle,
            root,
            slots,
            name: plugin.name().to_owned(),
            cache: Mutex::new(MetaCache::default()),
            ahead: Mutex::new(ReadAhead::default()),
        })
    }
}

/// A filesystem mounted by a plugin in a worker process.
pub struct SandboxMount {
    worker: Arc<Worker>,
    handle: u32,
    /// The root id, when the MOUNT reply carried it.
    root: Option<u64>,
    slots: Vec<u32>,
    name: String,
    cache: Mutex<MetaCache>,
    ahead: Mutex<ReadAhead>,
}

/// File bytes a plugin decoded (READ), fetched ahead once a file is read
/// in order in pieces smaller than a READ: a caller reading 64 KiB at a
/// time then costs one round trip per [`protocol::MAX_READ`], not per piece.
#[derive(Default)]
struct ReadAhead {
    id: u64,
    /// Where the last read of `id` ended.
    next: u64,
    /// The bytes held, from file offset `start`.
    start: u64,
    data: Vec<u8>,
    /// `data` runs to the end of the file.
    eof: bool,
}

impl ReadAhead {
    /// Copies what is held of `[offset, offset + buf.len())`, if all of it
    /// is (or all up to the end of the file).
    fn take(&mut self, id: u64, offset: u64, buf: &mut [u8]) -> Option<usize> {
        if self.id != id {
            return None;
        }
        let from = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        let held = self.data.get(from..)?;
        if held.len() < buf.len() && !self.eof {
            return None;
        }
        let n = held.len().min(buf.len());
        buf[..n].copy_from_slice(&held[..n]);
        self.next = offset + n as u64;
        Some(n)
    }
}

/// Entries kept in each of the lookup and stat caches.
const META_CACHE: usize = 4096;
/// Longest name whose lookup is cached.
const META_NAME: usize = 255;

/// Answers already had from the worker: the image is read-only, so a
/// lookup or stat answers the same every time, and path walking repeats
/// them a lot (each costs a round trip). Bounded: cleared when full.
#[derive(Default)]
struct MetaCache {
    /// Per directory, name to id (keyed so a hit needs no owned key).
    lookups: std::collections::HashMap<u64, std::collections::HashMap<Vec<u8>, u64>>,
    /// Names held in `lookups`.
    names: usize,
    stats: std::collections::HashMap<u64, Stat>,
}

impl Drop for SandboxMount {
    fn drop(&mut self) {
        // Only this mount holds the worker (the open's session is gone):
        // it is killed right after, so no UNMOUNT is needed.
        let last = Arc::strong_count(&self.worker) == 1;
        self.worker
            .unmount(&self.name, self.handle, &self.slots, last);
    }
}

fn unexpected(op: &str) -> AbiError {
    AbiError::Io(format!("sandbox: unexpected reply to {op}"))
}

impl SandboxMount {
    fn meta(&self) -> std::sync::MutexGuard<'_, MetaCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn call<T>(
        &self,
        req: &Request<'_>,
        f: impl FnOnce(Reply<'_>) -> AbiResult<T>,
    ) -> AbiResult<T> {
        self.worker.call(&self.name, req, f)
    }

    fn id(&self, req: &Request<'_>) -> AbiResult<u64> {
        self.call(req, |r| match r {
            Reply::Id(id) => Ok(id),
            _ => Err(unexpected("an id request")),
        })
    }

    fn opt_bytes(&self, req: &Request<'_>) -> AbiResult<Option<Vec<u8>>> {
        self.call(req, |r| match r {
            Reply::OptBytes(b) => Ok(b.filter(|b| !b.is_empty()).map(<[u8]>::to_vec)),
            _ => Err(unexpected("a string request")),
        })
    }
}

impl Mount for SandboxMount {
    fn fs_name(&self) -> &str {
        &self.name
    }

    fn root(&self) -> AbiResult<u64> {
        match self.root {
            Some(r) => Ok(r),
            None => self.id(&Request::Root(self.handle)),
        }
    }

    fn lookup(&self, dir: u64, name: &[u8]) -> AbiResult<u64> {
        if name.len() > 65536 {
            return Err(AbiError::limit("name longer than 64 KiB"));
        }
        if let Some(&id) = self.meta().lookups.get(&dir).and_then(|d| d.get(name)) {
            return Ok(id);
        }
        let req = Request::Lookup {
            handle: self.handle,
            dir,
            name,
        };
        let (id, stat) = self.call(&req, |r| match r {
            Reply::Entry { id, stat } => Ok((id, stat)),
            _ => Err(unexpected("lookup")),
        })?;
        let mut c = self.meta();
        if let Some(st) = stat {
            if c.stats.len() >= META_CACHE {
                c.stats.clear();
            }
            c.stats.insert(id, st);
        }
        if name.len() <= META_NAME {
            if c.names >= META_CACHE {
                c.lookups.clear();
                c.names = 0;
            }
            if c.lookups
                .entry(dir)
                .or_default()
                .insert(name.to_vec(), id)
                .is_none()
            {
                c.names += 1;
            }
        }
        Ok(id)
    }

    fn stat(&self, id: u64) -> AbiResult<Stat> {
        if let Some(s) = self.meta().stats.get(&id) {
            return Ok(s.clone());
        }
        let st = self.call(&Request::Stat(self.handle, id), |r| match r {
            Reply::Stat(s) => Ok(s),
            _ => Err(unexpected("stat")),
        })?;
        let mut c = self.meta();
        if c.stats.len() >= META_CACHE {
            c.stats.clear();
        }
        c.stats.insert(id, st.clone());
        Ok(st)
    }

    fn read(&self, id: u64, offset: u64, buf: &mut [u8]) -> AbiResult<usize> {
        let max = protocol::MAX_READ as usize;
        let len = buf.len().min(max);
        let req = |len: usize| Request::Read {
            handle: self.handle,
            id,
            offset,
            len: len as u32,
        };
        let mut a = self.ahead.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = a.take(id, offset, &mut buf[..len]) {
            return Ok(n);
        }
        if len < max && a.id == id && a.next == offset {
            // In order, in small pieces: fetch a whole READ.
            let mut data = std::mem::take(&mut a.data);
            data.resize(max, 0);
            let n = self.worker.read(&self.name, &req(max), &mut data)?;
            data.truncate(n);
            *a = ReadAhead {
                id,
                next: offset,
                start: offset,
                data,
                eof: n < max,
            };
            return Ok(a.take(id, offset, &mut buf[..len]).unwrap_or(0));
        }
        let n = self.worker.read(&self.name, &req(len), &mut buf[..len])?;
        if a.id != id {
            // What is held belongs to another file.
            *a = ReadAhead {
                id,
                ..ReadAhead::default()
            };
        }
        a.next = offset + n as u64;
        Ok(n)
    }

    fn read_dir(&self, dir: u64, cookie: u64, out: &mut Vec<DirEntry>) -> AbiResult<u64> {
        let req = Request::ReadDir {
            handle: self.handle,
            dir,
            cookie,
        };
        self.call(&req, |r| match r {
            Reply::Dir { next, entries } => {
                out.extend(entries);
                Ok(next)
            }
            _ => Err(unexpected("read_dir")),
        })
    }

    fn read_link(&self, id: u64) -> AbiResult<Vec<u8>> {
        self.call(&Request::ReadLink(self.handle, id), |r| match r {
            Reply::Bytes(b) => Ok(b.to_vec()),
            _ => Err(unexpected("read_link")),
        })
    }

    fn extents(&self, id: u64, from: u64, max: usize) -> AbiResult<Vec<Extent>> {
        let max = u32::try_from(max)
            .unwrap_or(u32::MAX)
            .min(protocol::MAX_EXTENTS);
        let req = Request::Extents {
            handle: self.handle,
            id,
            from,
            max,
        };
        self.call(&req, |r| match r {
            Reply::Extents(e) => Ok(e),
            _ => Err(unexpected("extents")),
        })
    }

    fn bootstring(&self) -> AbiResult<Option<Vec<u8>>> {
        self.opt_bytes(&Request::Bootstring(self.handle))
    }

    fn label(&self) -> AbiResult<Option<Vec<u8>>> {
        self.opt_bytes(&Request::Label(self.handle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::FileImage;

    /// target/debug, where the workspace build left the plugins and worker.
    fn build_dir() -> PathBuf {
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().to_path_buf()
    }

    fn dev(name: &str) -> Arc<dyn ReadAt> {
        Arc::new(FileImage::open(fsimage_testkit::image(name)).unwrap())
    }

    #[test]
    fn a_plugin_wanted_later_gets_a_worker_that_has_it() {
        let dir = build_dir();
        let mut reg = Registry::default();
        for so in ["libfsimage_plugin_ext2.so", "libfsimage_plugin_iso9660.so"] {
            if reg.load_file(&dir.join(so)).is_none() {
                eprintln!("{so} not built: skipped");
                return;
            }
        }
        let image = Path::new("test");
        // No window known up front: no worker yet.
        let runner = Runner::new(&Config::default(), &reg, image, None, &[], None).unwrap();
        let Runner::Sandbox(s) = &runner else {
            panic!("not sandboxed")
        };
        assert!(s.workers.lock().unwrap().current.is_none());
        let (ext2, iso) = (reg.get("ext2").unwrap(), reg.get("iso9660").unwrap());
        let ext = [dev("ext/ext2-1k")];
        let cd = [dev("iso9660/iso-l1")];
        // ISO 9660's magic is not on the ext image: answered without a worker.
        assert_eq!(runner.probe(&iso, &ext).unwrap(), 0);
        assert!(s.workers.lock().unwrap().current.is_none());
        assert!(runner.probe(&ext2, &ext).unwrap() > 0);
        let first = s.workers.lock().unwrap().current.clone().unwrap();
        assert_eq!(first.index_of("iso9660"), None);
        // Now ISO 9660 is wanted: a new worker with both.
        assert!(runner.probe(&iso, &cd).unwrap() > 0);
        let second = s.workers.lock().unwrap().current.clone().unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(second.index_of("ext2").is_some() && second.index_of("iso9660").is_some());
        assert_eq!(s.workers.lock().unwrap().spawns, 2);
    }
}
