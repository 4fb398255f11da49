//! fsimage-cat and fsimage-ls as a user runs them.

use fsimage_testkit::{EntryKind, image, manifest, sha256_hex};
use std::io::Read;
use std::process::{Command, Stdio};

fn cat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fsimage-cat"))
}
fn ls() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fsimage-ls"))
}

#[test]
fn cat_writes_files_in_order() {
    let img = image("ext/ext4");
    let out = cat()
        .arg(&img)
        .args(["/etc/hostname", "/bin/tool"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = manifest("ext/ext4");
    let mut want = b"fixture-5\n".to_vec();
    want.extend_from_slice(b"#!/bin/sh\necho tool\n");
    assert_eq!(out.stdout, want);
    let kernel = m
        .iter()
        .find(|e| e.path.starts_with("/boot/vmlinuz"))
        .unwrap();
    let out = cat().arg(&img).arg(&kernel.path).output().unwrap();
    assert_eq!(Some(sha256_hex(&out.stdout)), kernel.sha256);
}

#[test]
fn cat_errors_are_one_line_and_exit_1() {
    let img = image("ext/ext4");
    let out = cat().arg(&img).arg("/etc/nope").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&img.display().to_string())
            && err.contains("/etc/nope")
            && err.contains("no such file"),
        "{err}"
    );
    let out = cat().arg("/nonexistent.img").arg("/x").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.img"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(cat().output().unwrap().status.code(), Some(2));
    assert_eq!(ls().arg("--bogus").output().unwrap().status.code(), Some(2));
}

#[test]
fn broken_pipe_ends_quietly() {
    let img = image("ext/ext4-full");
    let mut child = cat()
        .arg(&img)
        .arg("/data/big.bin")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

/// Minimal reader for the flat JSON objects fsimage-ls prints.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let k = format!("\"{key}\": ");
    let start = line.find(&k)? + k.len();
    let rest = &line[start..];
    if let Some(s) = rest.strip_prefix('"') {
        let mut end = 0;
        let b = s.as_bytes();
        while end < b.len() && b[end] != b'"' {
            end += if b[end] == b'\\' { 2 } else { 1 };
        }
        Some(&s[..end])
    } else {
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(&rest[..end])
    }
}

#[test]
fn ls_json_recursive_matches_the_manifest() {
    for name in ["ext/ext4", "ext/ext2-1k"] {
        let img = image(name);
        let out = ls().args(["-R", "--json"]).arg(&img).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut got: Vec<(String, String, u64, u32, Option<String>)> = text
            .lines()
            .map(|l| {
                (
                    field(l, "path").unwrap().to_owned(),
                    field(l, "type").unwrap().to_owned(),
                    field(l, "size").unwrap().parse().unwrap(),
                    field(l, "mode").unwrap().parse().unwrap(),
                    field(l, "target").map(str::to_owned),
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String, u64, u32, Option<String>)> = manifest(name)
            .into_iter()
            .map(|e| {
                let (ty, size) = match e.kind {
                    EntryKind::File => ("file", e.size),
                    EntryKind::Symlink => ("symlink", e.size),
                    EntryKind::Dir => ("dir", u64::MAX),
                };
                let mode = e.mode.expect("ext manifests record modes");
                (e.path, ty.to_owned(), size, mode, e.target)
            })
            .collect();
        want.sort();
        assert_eq!(got.len(), want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.0, &g.1, g.3, &g.4), (&w.0, &w.1, w.3, &w.4), "{name}");
            if w.2 != u64::MAX {
                assert_eq!(g.2, w.2, "{name}: {}", g.0);
            }
        }
    }
}

#[test]
fn ls_long_and_plain() {
    let img = image("ext/ext4");
    let out = ls().arg(&img).arg("/etc").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l == "hostname"), "{text}");
    let out = ls().arg("-l").arg(&img).arg("/etc").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with(" short-link -> hostname"))
        .expect(&text);
    assert!(line.starts_with("lrwxrwxrwx"), "{line}");
    let line = text.lines().find(|l| l.ends_with(" secret")).expect(&text);
    assert!(line.starts_with("-rw-------"), "{line}");
    // A file lists itself.
    let out = ls().arg(&img).arg("/etc/hostname").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "hostname\n");
}

#[test]
fn partitions_json_matches_the_disk() {
    let img = image("disk/dev-mbr-logical");
    let out = ls()
        .args(["--partitions", "--json"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<(String, String, u64, u64, String, String, String)> = text
        .lines()
        .map(|l| {
            (
                field(l, "id").unwrap().to_owned(),
                field(l, "scheme").unwrap().to_owned(),
                field(l, "start").unwrap().parse().unwrap(),
                field(l, "size").unwrap().parse().unwrap(),
                field(l, "type").unwrap().to_owned(),
                field(l, "fs").unwrap().to_owned(),
                field(l, "root").unwrap().to_owned(),
            )
        })
        .collect();
    // As sfdisk/mmls read dev-mbr-logical (see its .parts file).
    let s = 512u64;
    let want = [
        ("1", "mbr", 2048 * s, 16384 * s, "0x83"),
        ("2", "mbr", 18432 * s, 112640 * s, "0x05"),
        ("5", "ebr", 20480 * s, 16384 * s, "0x82"),
        ("6", "ebr", 38912 * s, 24576 * s, "0x83"),
        ("7", "ebr", 65536 * s, 16384 * s, "0x83"),
    ];
    assert_eq!(rows.len(), want.len(), "{text}");
    for (r, w) in rows.iter().zip(want) {
        assert_eq!(
            (r.0.as_str(), r.1.as_str(), r.2, r.3, r.4.as_str()),
            w,
            "{text}"
        );
    }
    assert_eq!(rows.iter().filter(|r| r.6 == "true").count(), 1, "{text}");
    assert_eq!(rows[0].6, "true");
    assert_eq!(rows[0].5, "ext2");
    assert_eq!(rows[2].5, "null", "swap holds no filesystem");
}

#[test]
fn the_readme_sample_reads_through_root_choice() {
    let img = fsimage_testkit::workspace_root().join("samples/sample-disk.img");
    let out = cat()
        .arg("-v")
        .arg(&img)
        .arg("/boot/vmlinuz-link")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sha256_hex(&out.stdout),
        "b77353f7cbe6f845f9b915502f0ce1f2f45fbc3c4d377a21fe6ba796ad26d295"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("partition 1") && err.contains("rule 5"),
        "{err}"
    );
}

#[test]
fn partition_ids_select_filesystems() {
    let img = image("disk/dev-mbr-logical");
    for id in ["1", "6", "7"] {
        let out = cat()
            .args(["--partition", id])
            .arg(&img)
            .arg("/etc/hostname")
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let want = fsimage_testkit::manifest(&format!("disk/dev-mbr-logical.p{id}"))
            .into_iter()
            .find(|e| e.path == "/etc/hostname")
            .unwrap();
        assert_eq!(
            Some(sha256_hex(&out.stdout)),
            want.sha256,
            "partition {id}: {got}"
        );
    }
    let out = cat()
        .args(["--partition", "9"])
        .arg(&img)
        .arg("/etc/hostname")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no partition"));
}

/// Run as root, the sandbox also works for an unprivileged user: the worker
/// then makes its own user namespace to build the others and the chroot in.
/// Every measure must apply (the debug output lists any that did not), and
/// the data read through the shared window must be right.
#[test]
#[cfg(target_os = "linux")]
fn an_unprivileged_user_gets_the_whole_sandbox() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    if !root || !setpriv.exists() {
        eprintln!("needs root and setpriv: skipped");
        return;
    }
    let name = "zfs/ozfs-lz4";
    let e = manifest(name)
        .into_iter()
        .find(|e| e.kind == EntryKind::File && e.size > 100_000)
        .unwrap();
    // A copy the unprivileged user can read.
    let dir = std::env::temp_dir().join(format!("fsimage-nobody-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("image");
    std::fs::copy(image(name), &img).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o644)).unwrap();
    let nobody = |cmd: &std::ffi::OsStr| {
        let mut c = Command::new(setpriv);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(cmd);
        c
    };
    // The build tree and the copy must be open to that user (they are not
    // under a private home directory, say).
    let cat_bin = std::path::Path::new(env!("CARGO_BIN_EXE_fsimage-cat"));
    let bin_dir = cat_bin.parent().unwrap();
    let reachable = nobody("/bin/sh".as_ref())
        .arg("-c")
        .arg(r#"test -x "$0" && test -x "$1/fsimage-worker" && test -r "$1/libfsimage_plugin_zfs.so" && test -r "$2""#)
        .arg(cat_bin)
        .arg(bin_dir)
        .arg(&img)
        .status()
        .is_ok_and(|s| s.success());
    if !reachable {
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!(
            "{} or {} not open to an unprivileged user: skipped",
            bin_dir.display(),
            img.display()
        );
        return;
    }
    let out = nobody(cat_bin.as_os_str())
        .arg("-v")
        .arg(&img)
        .arg(&e.path)
        .env("FSIMAGE_SANDBOX_DEBUG", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("not applied"), "{err}");
    assert_eq!(Some(sha256_hex(&out.stdout)), e.sha256, "{err}");
}
