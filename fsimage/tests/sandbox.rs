//! The sandbox contains a hostile plugin: every misdeed of the test plugin
//! `fsimage-testplugin-hostile` (built by `cargo build --workspace`) ends in
//! a clear error, the host stays healthy (the image opens again, no worker
//! process or descriptor is left behind), and the forbidden action did not
//! happen — checked by its effect (no marker file, no connection, the test
//! process itself not signalled), not only by the error.
//!
//! Tests in this file run one at a time (they count this process's children
//! and descriptors).

use fsimage::plugin::Registry;
use fsimage::{ErrorKind, Filesystem, OpenOptions, ReadAt};
use fsimage_testkit::image;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// target/debug, where `cargo build --workspace` left the cdylibs and the worker.
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    deps.parent().unwrap().to_path_buf()
}

fn hostile_registry() -> Arc<Registry> {
    let so = build_dir().join(format!(
        "libfsimage_testplugin_hostile.{}",
        if cfg!(target_os = "macos") {
            "dylib"
        } else {
            "so"
        }
    ));
    let mut reg = Registry::default();
    reg.load_file(&so)
        .unwrap_or_else(|| panic!("{}: {:?}", so.display(), reg.failures()));
    Arc::new(reg)
}

fn img() -> PathBuf {
    image("ext/ext2-1k")
}

/// A fresh directory for markers.
fn marker_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fsimage-sandbox-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn options(reg: &Arc<Registry>, opts: &str) -> OpenOptions {
    let mut o = OpenOptions::new();
    // An explicit offset skips probing (the hostile probe crashes on ext).
    o.registry(reg.clone())
        .fs("hostile")
        .offset(0)
        .options(opts)
        .sandbox_timeout(Duration::from_millis(3000))
        .sandbox_memory_limit(512 << 20);
    o
}

fn open(reg: &Arc<Registry>, opts: &str) -> Filesystem {
    options(reg, opts).open(img()).unwrap()
}

/// This process's children (workers), from /proc.
fn children() -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// No worker left, not even a zombie, once the reaper thread has waited
/// for the killed ones (their exit takes a moment).
fn assert_no_workers() {
    let until = Instant::now() + Duration::from_secs(5);
    while !children().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        children(),
        Vec::<u32>::new(),
        "worker processes left behind"
    );
}

/// This process's open descriptors. The first sandboxed open keeps one for
/// good (the shared network namespace, when run as root), so one is done
/// before the first count.
fn fd_count() -> usize {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        drop(open(&hostile_registry(), ""));
        assert_no_workers();
    });
    std::fs::read_dir("/proc/self/fd")
        .map(|r| r.count())
        .unwrap_or(0)
}

/// The host is healthy: no worker left (not even a zombie), no descriptor
/// leaked, and the image opens and reads again.
fn assert_healthy(reg: &Arc<Registry>, fds_before: usize) {
    assert_no_workers();
    assert_eq!(fd_count(), fds_before, "descriptors leaked");
    let fs = open(reg, "");
    assert_eq!(
        fs.read("/hello").unwrap(),
        b"hello from the hostile plugin\n"
    );
    drop(fs);
    assert_no_workers();
}

/// Triggers `cmd` by looking it up; returns the error text after checking
/// that later calls on the same filesystem fail with the same message.
fn trigger(reg: &Arc<Registry>, opts: &str, cmd: &str) -> String {
    let fs = open(reg, opts);
    assert_eq!(
        fs.read("/hello").unwrap(),
        b"hello from the hostile plugin\n"
    );
    let err = fs.read(format!("/{cmd}")).expect_err(cmd);
    assert_eq!(err.kind(), ErrorKind::Io, "{cmd}: {err}");
    let msg = err.to_string();
    assert!(msg.contains("plugin hostile "), "{cmd}: {msg}");
    // Every later call fails cleanly, the same way.
    let again = fs.read("/hello").expect_err("dead worker").to_string();
    let tail = msg.split("plugin hostile ").nth(1).unwrap();
    assert!(again.contains(tail), "{again} vs {msg}");
    assert!(fs.read_dir("/").is_err());
    msg
}

fn check_forbidden(cmd: &str, marker: &str) {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let dir = marker_dir(cmd);
    let msg = trigger(&reg, &format!("dir={}", dir.display()), cmd);
    assert!(
        msg.contains("forbidden system call (SIGSYS)"),
        "{cmd}: {msg}"
    );
    if !marker.is_empty() {
        // Give a (hypothetical) escaped child time to act.
        std::thread::sleep(Duration::from_millis(100));
        assert!(!dir.join(marker).exists(), "{cmd}: {marker} was written");
    }
    assert_healthy(&reg, fds);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_normal_mount_works_and_plain_data_bypasses_the_worker() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let fs = open(&reg, "");
    assert_eq!(fs.fs_type(), "hostile");
    let names: Vec<Vec<u8>> = fs
        .read_dir("/")
        .unwrap()
        .map(|e| e.unwrap().name().to_vec())
        .collect();
    assert!(names.contains(&b"hello".to_vec()) && names.contains(&b"segv".to_vec()));
    // /data is a plain extent: the host reads the image itself.
    let file = fsimage::FileImage::open(img()).unwrap();
    let mut want = vec![0u8; 4096];
    file.read_exact_at(0, &mut want).unwrap();
    drop(file);
    assert_eq!(fs.read("/data").unwrap(), want);
    // An extent past the device is refused before anything is read, and
    // the worker stays usable.
    let err = fs.read("/badextent").unwrap_err().to_string();
    assert!(err.contains("outside the device"), "{err}");
    assert_eq!(
        fs.read("/hello").unwrap(),
        b"hello from the hostile plugin\n"
    );
    drop(fs);
    assert_healthy(&reg, fds);
}

#[test]
fn reading_etc_passwd_is_forbidden() {
    check_forbidden("passwd", "");
}

#[test]
fn creating_a_file_is_forbidden() {
    check_forbidden("write", "write-marker");
}

#[test]
fn executing_a_shell_is_forbidden() {
    check_forbidden("exec", "exec-marker");
}

#[test]
fn forking_is_forbidden() {
    check_forbidden("fork", "fork-marker");
}

#[test]
fn signalling_the_parent_is_forbidden() {
    // Had SIGTERM reached us, this test process would have died.
    check_forbidden("killparent", "");
}

#[test]
fn sockets_are_forbidden() {
    let _g = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let reg = hostile_registry();
    let fds = fd_count();
    let msg = trigger(&reg, &format!("port={port}"), "socket");
    assert!(msg.contains("SIGSYS"), "{msg}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the worker connected"
    );
    drop(listener);
    assert_healthy(&reg, fds - 1);
}

#[test]
fn an_endless_loop_times_out() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let t = Instant::now();
    let msg = trigger(&reg, "", "loop");
    assert!(msg.contains("timed out after 3 s"), "{msg}");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_healthy(&reg, fds);
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let msg = trigger(&reg, "", "alloc");
    assert!(msg.contains("crashed (SIGABRT)"), "{msg}");
    assert_healthy(&reg, fds);
}

#[test]
fn a_segfault_is_reported() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let msg = trigger(&reg, "", "segv");
    assert!(msg.contains("plugin hostile crashed (SIGSEGV)"), "{msg}");
    assert_healthy(&reg, fds);
}

#[test]
fn an_abort_is_reported() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let msg = trigger(&reg, "", "abort");
    assert!(msg.contains("plugin hostile crashed (SIGABRT)"), "{msg}");
    assert_healthy(&reg, fds);
}

#[test]
fn garbage_on_the_channel_is_a_protocol_violation() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let msg = trigger(&reg, "", "garbage");
    assert!(msg.contains("broke the sandbox protocol"), "{msg}");
    assert_healthy(&reg, fds);
}

#[test]
fn a_4_gib_length_is_refused_before_allocating() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let msg = trigger(&reg, "", "biglen");
    assert!(
        msg.contains("broke the sandbox protocol (frame of 4294967295 bytes"),
        "{msg}"
    );
    assert_healthy(&reg, fds);
}

#[test]
fn a_crash_while_mounting_fails_the_open() {
    let _g = serial();
    let reg = hostile_registry();
    let fds = fd_count();
    let err = options(&reg, "on_mount=segv").open(img()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("plugin hostile crashed (SIGSEGV)"), "{msg}");
    assert_healthy(&reg, fds);
}

#[test]
fn without_the_sandbox_the_misdeeds_do_happen() {
    // The same plugin in-process really writes its marker and reads
    // /etc/passwd: the tests above can fail.
    let _g = serial();
    let reg = hostile_registry();
    let dir = marker_dir("inproc");
    let fs = options(&reg, &format!("dir={}", dir.display()))
        .sandbox(false)
        .open(img())
        .unwrap();
    assert!(fs.read("/write").is_ok());
    assert!(dir.join("write-marker").exists());
    let passwd = fs.read("/passwd").unwrap();
    assert_eq!(passwd, std::fs::read("/etc/passwd").unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_worker_is_an_error_not_a_fallback() {
    let _g = serial();
    let reg = hostile_registry();
    let err = options(&reg, "")
        .worker_path(Path::new("/nonexistent/fsimage-worker"))
        .open(img())
        .unwrap_err();
    assert!(matches!(err, fsimage::Error::Sandbox { .. }), "{err:?}");
    assert!(err.to_string().contains("not found"), "{err}");
}

/// What a walk of a whole filesystem sees: one line per object.
fn walk(fs: &Filesystem) -> Vec<String> {
    const CONTENT_LIMIT: u64 = 32 << 20;
    let mut out = vec![format!(
        "type={} label={:?} boot={:?}",
        fs.fs_type(),
        fs.label().ok().flatten(),
        fs.bootstring().ok().flatten()
    )];
    let mut todo: Vec<Vec<u8>> = vec![b"/".to_vec()];
    while let Some(dir) = todo.pop() {
        let entries = match fs.read_dir(&dir) {
            Ok(rd) => rd
                .map(|e| e.map(|e| e.name().to_vec()))
                .collect::<Result<Vec<_>, _>>(),
            Err(e) => Err(e),
        };
        let mut names = match entries {
            Ok(n) => n,
            Err(e) => {
                out.push(format!("{}: {e}", String::from_utf8_lossy(&dir)));
                continue;
            }
        };
        names.sort();
        for name in names {
            let mut path = dir.clone();
            if !path.ends_with(b"/") {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            let p = String::from_utf8_lossy(&path).into_owned();
            let line = match fs.symlink_metadata(&path) {
                Err(e) => format!("{p}: {e}"),
                Ok(m) if m.is_dir() => {
                    todo.push(path.clone());
                    format!("{p} dir {:o}", m.permissions())
                }
                Ok(m) if m.is_symlink() => {
                    format!(
                        "{p} -> {:?}",
                        fs.read_link(&path).map_err(|e| e.to_string())
                    )
                }
                Ok(m) if m.is_file() && m.len() <= CONTENT_LIMIT => {
                    let data = fs.read(&path).map_err(|e| e.to_string());
                    let h = data.map(|d| fsimage_testkit::sha256_hex(&d));
                    format!("{p} file {:o} {} {h:?}", m.permissions(), m.len())
                }
                Ok(m) => {
                    // Big (often sparse) files: the last MiB.
                    let tail = fs.open(&path).and_then(|f| {
                        let off = m.len().saturating_sub(1 << 20);
                        let mut b = vec![0u8; (m.len() - off) as usize];
                        f.read_at(off, &mut b).map(|_| b)
                    });
                    let h = tail
                        .map(|d| fsimage_testkit::sha256_hex(&d))
                        .map_err(|e| e.to_string());
                    format!(
                        "{p} {:?} {:o} {} tail {h:?}",
                        m.kind(),
                        m.permissions(),
                        m.len()
                    )
                }
            };
            out.push(line);
        }
    }
    out
}

/// Every fixture image (repository set) by its testkit name.
fn fixture_names() -> Vec<String> {
    let mut names = Vec::new();
    for group in std::fs::read_dir(fsimage_testkit::fixtures_dir())
        .unwrap()
        .flatten()
    {
        let group = group.file_name().to_string_lossy().into_owned();
        // Fuzz regressions are broken on purpose; their own tests run them.
        if group == "regressions" {
            continue;
        }
        let dir = fsimage_testkit::fixtures_dir().join(&group);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = f.strip_suffix(".img.zst") {
                names.push(format!("{group}/{stem}"));
            }
        }
    }
    names.sort();
    names
}

#[test]
fn every_real_plugin_reads_every_fixture_the_same_sandboxed() {
    let _g = serial();
    // The real plugins, as the default search finds them.
    let reg = Arc::new(Registry::discover(None));
    assert!(reg.get("ext2").is_some(), "ext2 plugin not built");
    let mut types = std::collections::BTreeSet::new();
    let mut compared = 0;
    for name in fixture_names() {
        let path = image(&name);
        let open = |sandbox: bool| {
            OpenOptions::new()
                .registry(reg.clone())
                .sandbox(sandbox)
                .open(&path)
        };
        match (open(false), open(true)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.fs_type(), b.fs_type(), "{name}");
                types.insert(a.fs_type().to_owned());
                assert_eq!(walk(&a), walk(&b), "{name}: sandboxed walk differs");
                compared += 1;
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
            (a, b) => panic!(
                "{name}: in-process {:?} vs sandboxed {:?}",
                a.err(),
                b.err()
            ),
        }
    }
    assert!(compared >= 10, "only {compared} fixtures mounted");
    // Which plugins were exercised (shown with --nocapture).
    eprintln!("compared {compared} fixtures, filesystems {types:?}");
    assert_no_workers();
}

#[test]
fn a_crashing_probe_does_not_stop_the_other_plugins() {
    let _g = serial();
    let dir = build_dir();
    let mut reg = Registry::default();
    // ext2 first, then the plugin whose probe segfaults on ext images: the
    // worker dies while probing, a fresh one mounts with ext2.
    for so in [
        "libfsimage_plugin_ext2.so",
        "libfsimage_testplugin_hostile.so",
    ] {
        reg.load_file(&dir.join(so)).expect(so);
    }
    let reg = Arc::new(reg);
    let fds = fd_count();
    let name = "ext/ext2-1k";
    let fs = OpenOptions::new()
        .registry(reg.clone())
        .open(image(name))
        .unwrap();
    assert_eq!(fs.fs_type(), "ext2");
    let e = fsimage_testkit::manifest(name)
        .into_iter()
        .find(|e| e.kind == fsimage_testkit::EntryKind::File && e.size > 0)
        .unwrap();
    let data = fs.read(&e.path).unwrap();
    assert_eq!(Some(fsimage_testkit::sha256_hex(&data)), e.sha256);
    drop(fs);
    assert_no_workers();
    assert_eq!(fd_count(), fds);
}

#[test]
fn a_worker_killed_between_calls_fails_the_next_call_without_sigpipe() {
    let _g = serial();
    // A C program using the C API may leave SIGPIPE at its default (death):
    // behave like one while the host writes to a dead worker.
    // SAFETY: plain signal disposition changes, restored below.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let reg = hostile_registry();
    let fds = fd_count();
    let fs = open(&reg, "");
    let kids = children();
    assert_eq!(kids.len(), 1, "one worker");
    // SAFETY: SIGKILL to our own child, the worker.
    unsafe { libc::kill(kids[0] as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(100));
    let err = fs.read("/hello").unwrap_err().to_string();
    assert!(err.contains("plugin hostile crashed (SIGKILL)"), "{err}");
    drop(fs);
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    assert_healthy(&reg, fds);
}

#[test]
fn an_extent_outside_the_partition_is_refused() {
    let _g = serial();
    let reg = hostile_registry();
    let disk = image("disk/dev-gpt");
    // Partition 3 (linux-root): 16 MiB at 10 MiB, with more partitions
    // after it, so an extent past its end still lies inside the image.
    let fs = OpenOptions::new()
        .registry(reg.clone())
        .fs("hostile")
        .partition("3")
        .open(&disk)
        .unwrap();
    assert_eq!(fs.offset(), 20480 * 512);
    let file = fsimage::FileImage::open(&disk).unwrap();
    let mut want = vec![0u8; 4096];
    file.read_exact_at(fs.offset(), &mut want).unwrap();
    drop(file);
    // /data's extent is relative to the partition.
    assert_eq!(fs.read("/data").unwrap(), want);
    let err = fs.read("/badextent").unwrap_err().to_string();
    assert!(
        err.contains("lies outside the device (16777216 bytes)"),
        "{err}"
    );
    assert_eq!(
        fs.read("/hello").unwrap(),
        b"hello from the hostile plugin\n"
    );
}

/// A plugin that keeps reading its device (a parser led round a cycle it
/// did not detect) is stopped by the per-operation budget with an error
/// naming it, in-process too, where no sandbox deadline would save the
/// caller; the mount itself stays usable.
#[test]
fn endless_device_reads_hit_the_operation_budget() {
    let _g = serial();
    let reg = hostile_registry();
    let mut o = options(&reg, "");
    o.sandbox(false);
    let fs = o.open(img()).unwrap();
    let err = fs.read("/readloop").expect_err("readloop");
    assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("per-operation budget: more than 1048576 device reads"),
        "{msg}"
    );
    assert_eq!(
        fs.read("/hello").unwrap(),
        b"hello from the hostile plugin\n"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn workers_share_one_empty_network_namespace_not_the_hosts() {
    use std::os::unix::fs::MetadataExt;
    let _g = serial();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // A worker in its own user namespace is not readable from here, and
        // each makes its own network namespace.
        eprintln!("not root: skipped");
        return;
    }
    let reg = hostile_registry();
    let fds = fd_count();
    let net = |pid: u32| {
        std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .unwrap()
            .ino()
    };
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let a = open(&reg, "");
    let first = children();
    let b = open(&reg, "");
    let second: Vec<u32> = children()
        .into_iter()
        .filter(|p| !first.contains(p))
        .collect();
    assert_eq!((first.len(), second.len()), (1, 1));
    let (na, nb) = (net(first[0]), net(second[0]));
    assert_ne!(na, own, "a worker in the host's network namespace");
    assert_eq!(na, nb, "workers in different network namespaces");
    // Empty: a loopback device and nothing else.
    let dev = std::fs::read_to_string(format!("/proc/{}/net/dev", second[0])).unwrap();
    let ifaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"]);
    assert_eq!(b.read("/hello").unwrap(), a.read("/hello").unwrap());
    drop((a, b));
    assert_no_workers();
    assert_eq!(fd_count(), fds);
}
