//! Locking the worker down before it reads a byte of any image, in two
//! steps: [`prepare`] (namespaces, building the seccomp program) runs while
//! the host still decides which plugins to send; [`finish`] (the chroot,
//! dropping root, rlimits, applying the filter) runs once they are loaded.
//! Every measure that cannot be applied is returned as a note (sent to the
//! host in READY), never silently assumed.
//!
//! Order matters: namespaces and the chroot need privileges that dropping
//! the uid removes; rlimits and the seccomp filter come last because they
//! forbid the very calls the earlier steps make (loading plugins too).

use crate::Args;

/// The unprivileged id a worker started as root switches to.
pub const NOBODY: u32 = 65534;

/// Asks the kernel to kill this process when its parent (the host) dies.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Signal, getppid, set_parent_process_death_signal};
        let _ = set_parent_process_death_signal(Some(Signal::KILL));
        // The host may have died before the call above took effect.
        if getppid().is_none() {
            std::process::exit(1);
        }
    }
}

/// Points standard output at `/dev/null` (it may have carried the shared
/// window, mapped by then).
pub fn stdout_to_null(notes: &mut Vec<String>) {
    let null = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    );
    match null {
        Ok(n) => {
            if let Err(e) = rustix::stdio::dup2_stdout(&n) {
                notes.push(format!("standard output to /dev/null: {e}"));
            }
        }
        Err(e) => notes.push(format!("opening /dev/null: {e}")),
    }
}

/// Closes every descriptor but 0 (the socket), 1 and 2 (`/dev/null`, or the
/// host's stderr in debug mode): a host embedding fsimage may have leaked
/// non-close-on-exec descriptors into us.
pub fn close_inherited_fds() {
    let dir = if cfg!(target_os = "linux") {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    let fds: Vec<i32> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd > 2)
            .collect(),
        // No fd listing: close a generous fixed range instead.
        Err(_) => (3..1024).collect(),
    };
    for fd in fds {
        // SAFETY: this runs first thing in `main`, before this program opens
        // anything, so no Rust object owns these descriptors; the listing's
        // own descriptor is already closed (closing it again is EBADF,
        // which try_close reports and we ignore).
        let _ = unsafe { rustix::io::try_close(fd) };
    }
}

/// What [`prepare`] set up for [`finish`].
pub struct Prepared {
    was_root: bool,
    /// A private mount namespace to build the empty root in.
    #[cfg(target_os = "linux")]
    can_mount: bool,
    /// The compiled seccomp program.
    #[cfg(target_os = "linux")]
    filter: Option<seccompiler::BpfProgram>,
}

/// The first half: namespaces and the seccomp program. Files can still be
/// opened afterwards (the plugins are loaded next).
pub fn prepare(join_net: Option<i32>, notes: &mut Vec<String>) -> Prepared {
    let was_root = rustix::process::geteuid().is_root();
    #[cfg(target_os = "linux")]
    {
        let joined = join_net.is_some_and(|fd| linux::join_net(fd, notes));
        let can_mount = linux::namespaces(was_root, !joined, notes);
        let filter = linux::compile_seccomp(notes);
        Prepared {
            was_root,
            can_mount,
            filter,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = join_net;
        notes.push("namespaces and chroot: not available on this platform".to_owned());
        Prepared { was_root }
    }
}

/// The second half, once the plugins are loaded: the chroot, dropping
/// root, rlimits and the seccomp filter.
pub fn finish(args: &Args, prepared: Prepared, notes: &mut Vec<String>) {
    #[cfg(target_os = "linux")]
    if prepared.can_mount {
        linux::chroot_empty(notes);
    }
    if prepared.was_root {
        drop_root(notes);
    }
    set_rlimits(args, notes);
    #[cfg(target_os = "linux")]
    linux::apply_seccomp(prepared.filter, notes);
    #[cfg(not(target_os = "linux"))]
    notes.push("no-new-privs and seccomp: not available on this platform".to_owned());
}

fn drop_root(notes: &mut Vec<String>) {
    // These are per-thread system calls (rustix's `thread` module); the
    // worker is still single-threaded here, so they change the whole
    // process, as setuid(2) would.
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Gid, Uid};
        use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
        if let Err(e) = set_thread_groups(&[]) {
            notes.push(format!("setgroups([]): {e}"));
        }
        // 65534 is "nobody" on every Linux.
        let (gid, uid) = (Gid::from_raw(NOBODY), Uid::from_raw(NOBODY));
        if let Err(e) = set_thread_res_gid(gid, gid, gid) {
            notes.push(format!("setresgid({NOBODY}): {e}"));
        }
        if let Err(e) = set_thread_res_uid(uid, uid, uid) {
            notes.push(format!("setresuid({NOBODY}): {e}"));
        }
    }
    #[cfg(not(target_os = "linux"))]
    notes.push("dropping root: not implemented on this platform".to_owned());
}

fn set_rlimits(args: &Args, notes: &mut Vec<String>) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let lim = |v: u64| Rlimit {
        current: Some(v),
        maximum: Some(v),
    };
    let cpu = args.cpu.max(1);
    let limits = [
        (Resource::As, lim(args.memory), "RLIMIT_AS"),
        // SIGXCPU at the soft limit, SIGKILL a second later.
        (
            Resource::Cpu,
            Rlimit {
                current: Some(cpu),
                maximum: Some(cpu.saturating_add(1)),
            },
            "RLIMIT_CPU",
        ),
        // No new descriptor at all: the ones the worker has stay usable.
        (Resource::Nofile, lim(0), "RLIMIT_NOFILE"),
        (Resource::Core, lim(0), "RLIMIT_CORE"),
        (Resource::Nproc, lim(0), "RLIMIT_NPROC"),
        (Resource::Fsize, lim(0), "RLIMIT_FSIZE"),
        (Resource::Memlock, lim(0), "RLIMIT_MEMLOCK"),
        #[cfg(target_os = "linux")]
        (Resource::Msgqueue, lim(0), "RLIMIT_MSGQUEUE"),
    ];
    for (res, l, name) in limits {
        if let Err(e) = setrlimit(res, l) {
            notes.push(format!("{name}: {e}"));
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_change};
    use rustix::process::{chdir, chroot};
    use rustix::thread::{UnshareFlags, unshare_unsafe};
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition as Cond,
        SeccompFilter, SeccompRule,
    };
    use std::collections::BTreeMap;

    /// Directories an empty tmpfs is mounted over (in our own mount
    /// namespace only) to serve as the chroot; the first that works is used.
    const CHROOT_MOUNT_POINTS: &[&str] = &["/tmp", "/mnt", "/proc", "/dev"];

    /// Enters the network namespace the host keeps as its descriptor
    /// `fd` (we are root, as it is, so its `/proc` entry is open to us);
    /// false (and a note) if it could not.
    pub fn join_net(fd: i32, notes: &mut Vec<String>) -> bool {
        use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
        use std::os::fd::AsFd;
        let path = format!(
            "/proc/{}/fd/{fd}",
            rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get())
        );
        let joined = rustix::fs::open(
            path.as_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .and_then(|ns| move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)));
        match joined {
            Ok(()) => true,
            Err(e) => {
                notes.push(format!("joining the shared network namespace: {e}"));
                false
            }
        }
    }

    /// New user (when not root), mount, network (if `new_net`), IPC and
    /// UTS namespaces; says whether the mount namespace is private enough
    /// to mount in.
    pub fn namespaces(was_root: bool, new_net: bool, notes: &mut Vec<String>) -> bool {
        let mut can_mount = was_root;
        if !was_root {
            // SAFETY: no FILES flag: the descriptor table is not unshared,
            // and the worker is single-threaded here.
            match unsafe { unshare_unsafe(UnshareFlags::NEWUSER) } {
                Ok(()) => can_mount = true,
                Err(e) => notes.push(format!("user namespace: {e}")),
            }
        }
        let mut ns = UnshareFlags::NEWNS | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS;
        if new_net {
            ns |= UnshareFlags::NEWNET;
        }
        // SAFETY: as above.
        if let Err(e) = unsafe { unshare_unsafe(ns) } {
            notes.push(format!("mount/network/IPC/UTS namespaces: {e}"));
            // Try the network namespace alone: it matters most.
            // SAFETY: as above.
            if new_net && let Err(e) = unsafe { unshare_unsafe(UnshareFlags::NEWNET) } {
                notes.push(format!("network namespace: {e}"));
            }
            can_mount = false;
        }
        if !can_mount {
            notes.push("chroot: no private mount namespace to build an empty root in".to_owned());
            return false;
        }
        // Our mounts must not propagate back to the host's namespace.
        if let Err(e) = mount_change(
            "/",
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        ) {
            notes.push(format!("chroot: making mounts private: {e}"));
            return false;
        }
        true
    }

    /// Mounts an empty read-only tmpfs (in our own mount namespace) and
    /// makes it the root.
    pub fn chroot_empty(notes: &mut Vec<String>) {
        let flags =
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        let mut last = String::new();
        for dir in CHROOT_MOUNT_POINTS {
            match mount(
                "none",
                *dir,
                "tmpfs",
                flags,
                c"size=4k,nr_inodes=2,mode=555",
            ) {
                Ok(()) => {
                    let r = chdir(*dir)
                        .and_then(|()| chroot("."))
                        .and_then(|()| chdir("/"));
                    match r {
                        Ok(()) => return,
                        Err(e) => {
                            notes.push(format!("chroot into an empty tmpfs on {dir}: {e}"));
                            return;
                        }
                    }
                }
                Err(e) => last = format!("{dir}: {e}"),
            }
        }
        notes.push(format!("chroot: cannot mount an empty tmpfs ({last})"));
    }

    fn allow() -> Vec<SeccompRule> {
        Vec::new()
    }

    fn when(conds: Vec<(u8, Op, u64)>) -> Option<SeccompRule> {
        let conds: Option<Vec<Cond>> = conds
            .into_iter()
            .map(|(arg, op, v)| Cond::new(arg, Len::Qword, op, v).ok())
            .collect();
        SeccompRule::new(conds?).ok()
    }

    /// fd argument 0 is one of `fds`.
    fn on_fds(fds: &[u64]) -> Vec<SeccompRule> {
        fds.iter()
            .filter_map(|&fd| when(vec![(0, Op::Eq, fd)]))
            .collect()
    }

    /// The allowlist (see `fsimage::sandbox`'s docs for the reasons).
    fn rules() -> BTreeMap<i64, Vec<SeccompRule>> {
        const SOCKET: u64 = 0;
        const STDERR: u64 = 2;
        let no_exec = || {
            when(vec![(2, Op::MaskedEq(libc::PROT_EXEC as u64), 0)])
                .into_iter()
                .collect::<Vec<_>>()
        };
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
        let mut r = BTreeMap::new();
        r.insert(libc::SYS_read, on_fds(&[SOCKET]));
        r.insert(libc::SYS_recvfrom, on_fds(&[SOCKET]));
        r.insert(libc::SYS_recvmsg, on_fds(&[SOCKET]));
        r.insert(libc::SYS_write, on_fds(&[SOCKET, STDERR]));
        r.insert(libc::SYS_writev, on_fds(&[SOCKET, STDERR]));
        r.insert(libc::SYS_sendto, on_fds(&[SOCKET]));
        r.insert(libc::SYS_sendmsg, on_fds(&[SOCKET]));
        r.insert(libc::SYS_mmap, no_exec());
        r.insert(libc::SYS_mprotect, no_exec());
        for nr in [
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_brk,
            libc::SYS_madvise,
            libc::SYS_futex,
            libc::SYS_sched_yield,
            libc::SYS_getrandom,
            libc::SYS_clock_gettime,
            libc::SYS_clock_getres,
            libc::SYS_gettimeofday,
            libc::SYS_nanosleep,
            libc::SYS_clock_nanosleep,
            libc::SYS_rt_sigreturn,
            libc::SYS_rt_sigprocmask,
            libc::SYS_rt_sigaction,
            libc::SYS_sigaltstack,
            libc::SYS_getpid,
            libc::SYS_gettid,
            libc::SYS_close,
            libc::SYS_restart_syscall,
            libc::SYS_exit,
            libc::SYS_exit_group,
        ] {
            r.insert(nr, allow());
        }
        // abort() raises SIGABRT with tgkill on itself; nothing else.
        r.insert(
            libc::SYS_tgkill,
            when(vec![(0, Op::Eq, pid)]).into_iter().collect(),
        );
        r
    }

    /// Builds the allowlist program (its only input is our own pid).
    pub fn compile_seccomp(notes: &mut Vec<String>) -> Option<seccompiler::BpfProgram> {
        let arch = match std::env::consts::ARCH.try_into() {
            Ok(a) => a,
            Err(_) => {
                notes.push(format!(
                    "seccomp: architecture {} not supported",
                    std::env::consts::ARCH
                ));
                return None;
            }
        };
        let prog = SeccompFilter::new(
            rules(),
            SeccompAction::KillProcess,
            SeccompAction::Allow,
            arch,
        )
        .and_then(seccompiler::BpfProgram::try_from);
        match prog {
            Ok(p) => Some(p),
            Err(e) => {
                notes.push(format!("seccomp: cannot build the filter: {e}"));
                None
            }
        }
    }

    /// Not dumpable, then the filter (or, without one, no-new-privs alone).
    pub fn apply_seccomp(filter: Option<seccompiler::BpfProgram>, notes: &mut Vec<String>) {
        if let Err(e) =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        {
            notes.push(format!("PR_SET_DUMPABLE: {e}"));
        }
        match filter {
            // apply_filter sets PR_SET_NO_NEW_PRIVS first.
            Some(p) => {
                if let Err(e) = seccompiler::apply_filter(&p) {
                    notes.push(format!("seccomp: {e}"));
                    set_no_new_privs(notes);
                }
            }
            None => set_no_new_privs(notes),
        }
    }

    fn set_no_new_privs(notes: &mut Vec<String>) {
        if let Err(e) = rustix::thread::set_no_new_privs(true) {
            notes.push(format!("PR_SET_NO_NEW_PRIVS: {e}"));
        }
    }
}
