//! The C API from C: the header is current and compiles as C and C++, the
//! library exports exactly its symbols under Xen's version node, and the C
//! programs in `examples/c/` — compiled with the system `cc` against
//! `include/` and the built `libfsimage.so` — read the fixtures as their
//! manifests say, also under valgrind when it is installed.
//!
//! Needs `cargo build --workspace` first (the README's test command does
//! it): the C programs load the real plugins from the target directory.

#![cfg(target_os = "linux")]

use fsimage_testkit::{EntryKind, image, manifest, sha256_hex, workspace_root};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// `target/debug` (or release): where cargo put libfsimage.so and the
/// plugins; the test binary runs from its `deps/` folder.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("target profile dir").to_path_buf()
}

fn lib_so() -> PathBuf {
    let so = target_dir().join("libfsimage.so");
    assert!(
        so.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        so.display()
    );
    so
}

/// A fresh scratch directory under the target dir (per process, so
/// concurrent runs do not collide; earlier runs' directories are removed
/// first).
fn scratch(name: &str) -> PathBuf {
    static CLEANED: OnceLock<()> = OnceLock::new();
    let base = target_dir().join("capi-tests");
    CLEANED.get_or_init(|| {
        for old in ["capi-tests", "capi-examples"] {
            let Ok(rd) = std::fs::read_dir(target_dir().join(old)) else {
                continue;
            };
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let pid = n.rsplit('-').next().unwrap_or(&n).to_owned();
                let alive = Path::new("/proc").join(&pid).exists();
                if !alive {
                    let _ = std::fs::remove_dir_all(e.path());
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    });
    let d = base.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// A lib dir laid out as the install does: the SONAME link and both link
/// names pointing at the built library.
fn link_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let so = lib_so();
        let d = scratch("lib");
        for name in ["libfsimage.so.1.0", "libfsimage.so", "libxenfsimage.so"] {
            std::os::unix::fs::symlink(&so, d.join(name)).expect("symlink");
        }
        d
    })
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compiles `examples/c/NAME.c` with `cc` and `-lLIB`, warnings as errors.
fn compile(name: &str, lib: &str) -> PathBuf {
    let root = workspace_root();
    let out_dir = target_dir()
        .join("capi-examples")
        .join(std::process::id().to_string());
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let exe = out_dir.join(format!("{name}-{lib}"));
    ok(Command::new("cc")
        .args([
            "-std=c99",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
        ])
        .arg("-I")
        .arg(root.join("include"))
        .arg("-o")
        .arg(&exe)
        .arg(root.join("examples/c").join(format!("{name}.c")))
        .arg("-L")
        .arg(link_dir())
        .arg(format!("-Wl,-rpath,{}", link_dir().display()))
        .arg(format!("-l{lib}"))
        .arg("-pthread"));
    exe
}

fn example(name: &str) -> &'static Path {
    static BUILT: OnceLock<std::sync::Mutex<BTreeMap<String, &'static Path>>> = OnceLock::new();
    let m = BUILT.get_or_init(Default::default);
    let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = m.get(name) {
        return p;
    }
    let lib = if name == "pygrub_like" {
        "xenfsimage"
    } else {
        "fsimage"
    };
    let p: &'static Path = Box::leak(compile(name, lib).into_boxed_path());
    m.insert(name.to_owned(), p);
    p
}

/// The command, run directly, or under valgrind when `valgrind` is set.
fn cmd(exe: &Path, valgrind: bool) -> Command {
    let mut c = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "-q",
            "--error-exitcode=99",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    // The programs find the plugins through the library's own directory.
    c.env_remove("FSIMAGE_PLUGIN_DIR");
    c
}

fn have_ext2_plugin() -> bool {
    let p = target_dir().join("libfsimage_plugin_ext2.so");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` before the tests",
        p.display()
    );
    true
}

fn valgrind_available() -> bool {
    let found = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: valgrind is not installed; skipping the valgrind runs");
    }
    found
}

// ---------------------------------------------------------------- header

fn generate_header() -> String {
    let root = workspace_root();
    let config = cbindgen::Config::from_file(root.join("include/cbindgen.toml"))
        .expect("read include/cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("fsimage/src/capi/mod.rs"))
        .generate()
        .expect("cbindgen")
        .write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn header_is_current() {
    let path = workspace_root().join("include/fsimage.h");
    let fresh = generate_header();
    if std::env::var_os("FSIMAGE_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/fsimage.h is stale: regenerate it with \
         `FSIMAGE_BLESS=1 cargo test -p fsimage --test capi header_is_current`"
    );
}

#[test]
fn header_declares_the_classic_api_exactly() {
    let h = std::fs::read_to_string(workspace_root().join("include/fsimage.h")).expect("header");
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let h = squash(&h);
    for decl in [
        "int fsi_init(void);",
        "fsi_t *fsi_open_fsimage(const char *path, uint64_t off, const char *options);",
        "void fsi_close_fsimage(fsi_t *fsi);",
        "int fsi_file_exists(fsi_t *fsi, const char *path);",
        "fsi_file_t *fsi_open_file(fsi_t *fsi, const char *path);",
        "int fsi_close_file(fsi_file_t *file);",
        "ssize_t fsi_read_file(fsi_file_t *file, void *buf, size_t nbytes);",
        "ssize_t fsi_pread_file(fsi_file_t *file, void *buf, size_t nbytes, uint64_t off);",
        "char *fsi_bootstring_alloc(fsi_t *fsi, size_t len);",
        "void fsi_bootstring_free(fsi_t *fsi);",
        "char *fsi_fs_bootstring(fsi_t *fsi);",
        "typedef struct fsi fsi;",
        "typedef struct fsi fsi_t;",
        "typedef struct fsi_file fsi_file;",
        "typedef struct fsi_file fsi_file_t;",
        "#ifdef __cplusplus extern \"C\" {",
    ] {
        assert!(h.contains(&squash(decl)), "fsimage.h lacks `{decl}`");
    }
}

/// The header, both names, included twice, is clean strict C89 and C99.
#[test]
fn header_compiles_as_strict_c() {
    let d = scratch("strict-c");
    let src = d.join("t.c");
    std::fs::write(
        &src,
        "#include <fsimage.h>\n#include <xenfsimage.h>\n#include <fsimage.h>\n\
         int main(void) { return fsi_init() == 0 ? 0 : 1; }\n",
    )
    .expect("write");
    for std in ["-std=c89", "-std=c99"] {
        ok(Command::new("cc")
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-Wpedantic",
                "-Werror",
                "-fsyntax-only",
            ])
            .arg("-I")
            .arg(workspace_root().join("include"))
            .arg(&src));
    }
}

/// The header, both names, compiles and links as C++ (`extern "C"`).
#[test]
fn header_compiles_as_cpp() {
    let d = scratch("cpp");
    let src = d.join("t.cpp");
    std::fs::write(
        &src,
        "#include <fsimage.h>\n#include <xenfsimage.h>\n#include <cstdio>\n\
         int main() {\n  fsi_t *fs = fsi_open_fsimage(\"/nonexistent\", 0, nullptr);\n\
         std::printf(\"%s\\n\", fsi_last_error());\n  fsi_close_fsimage(fs);\n  return fs ? 1 : 0;\n}\n",
    )
    .expect("write");
    let exe = d.join("t");
    ok(Command::new("c++")
        .args(["-std=c++11", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(workspace_root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(link_dir())
        .arg(format!("-Wl,-rpath,{}", link_dir().display()))
        .arg("-lfsimage"));
    let out = ok(&mut Command::new(&exe));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nonexistent"));
}

// --------------------------------------------------------------- symbols

const EXPORTS: &[&str] = &[
    "fsi_init",
    "fsi_open_fsimage",
    "fsi_close_fsimage",
    "fsi_file_exists",
    "fsi_open_file",
    "fsi_close_file",
    "fsi_read_file",
    "fsi_pread_file",
    "fsi_bootstring_alloc",
    "fsi_bootstring_free",
    "fsi_fs_bootstring",
    "fsi_version",
    "fsi_last_error",
    "fsi_open_image",
    "fsi_fs_type",
    "fsi_fs_label",
    "fsi_stat",
    "fsi_lstat",
    "fsi_readlink",
    "fsi_opendir",
    "fsi_readdir",
    "fsi_closedir",
    "fsi_list_partitions",
    "fsi_partitions_table",
    "fsi_partitions_count",
    "fsi_partitions_get",
    "fsi_partitions_free",
];

/// Every function the header declares is exported from the .so with the
/// version node Xen's libfsimage used, nothing else is, and the SONAME is
/// libfsimage's.
#[test]
fn library_exports_versioned_symbols() {
    let so = lib_so();
    let out = ok(Command::new("readelf").args(["--dyn-syms", "-W"]).arg(&so));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut exported = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // Num: Value Size Type Bind Vis Ndx Name
        if cols.len() >= 8 && cols[4] == "GLOBAL" && cols[6] != "UND" {
            let (name, ver) = cols[7].split_once('@').unwrap_or((cols[7], ""));
            exported.insert(name.to_owned(), ver.trim_start_matches('@').to_owned());
        }
    }
    let names: Vec<&str> = exported.keys().map(String::as_str).collect();
    let mut want: Vec<&str> = EXPORTS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "exported symbols");
    for (name, ver) in &exported {
        assert_eq!(ver, "libfsimage.so.1.0", "version of {name}");
    }
    let header = std::fs::read_to_string(workspace_root().join("include/fsimage.h")).unwrap();
    for name in EXPORTS {
        assert!(
            header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}(")),
            "header declares {name}"
        );
    }
    let dynamic = ok(Command::new("readelf").arg("-d").arg(&so));
    assert!(
        String::from_utf8_lossy(&dynamic.stdout).contains("Library soname: [libfsimage.so.1.0]"),
        "SONAME"
    );
}

// ----------------------------------------------------- programs, errors

#[test]
fn missing_image_is_enoent() {
    let out = run(cmd(example("fsicat"), false).args(["/nonexistent/disk.img", "/x"]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such file or directory"), "{err}");
}

fn junk_image() -> PathBuf {
    let d = scratch("junk");
    let p = d.join("junk.img");
    std::fs::write(&p, vec![0x5au8; 256 * 1024]).expect("write junk");
    p
}

#[test]
fn unrecognised_image_is_enotsup() {
    let junk = junk_image();
    let out = run(cmd(example("fsicat"), false).arg(&junk).arg("/x"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Operation not supported"), "{err}");
    assert!(err.contains("no filesystem recognised"), "{err}");
}

// ------------------------------------------------------ programs, ext

/// `fsils -R` lists what the manifest lists.
fn check_fsils(img: &Path, args: &[&str], manifest_name: &str, valgrind: bool) {
    let out = ok(cmd(example("fsils"), valgrind)
        .args(args)
        .arg("-R")
        .arg(img));
    let text = String::from_utf8(out.stdout).expect("UTF-8 names");
    let mut got: Vec<String> = text.lines().map(str::to_owned).collect();
    got.sort();
    let mut want: Vec<String> = manifest(manifest_name)
        .iter()
        .map(|e| {
            let t = match e.kind {
                EntryKind::File => 'f',
                EntryKind::Dir => 'd',
                EntryKind::Symlink => 'l',
            };
            let target = e.target.clone().unwrap_or_else(|| "-".into());
            let mode = e.mode.map_or_else(|| "-".to_owned(), |m| format!("{m:o}"));
            format!("{t}\t{}\t{}\t{target}\t{mode}", e.path, e.size)
        })
        .collect();
    want.sort();
    // Some manifests leave out lost+found (the recipe says so).
    if !want.iter().any(|l| l.contains("\t/lost+found\t")) {
        got.retain(|l| !l.contains("\t/lost+found\t"));
    }
    assert_eq!(got, want, "fsils -R {} vs {manifest_name}", img.display());
}

/// `fsicat` with every file of the manifest at once: the output, cut by
/// the manifest's sizes, hashes as the manifest says.
fn check_fsicat(img: &Path, offset: u64, manifest_name: &str, valgrind: bool) {
    let files: Vec<_> = manifest(manifest_name)
        .into_iter()
        .filter(|e| e.kind == EntryKind::File)
        .collect();
    assert!(!files.is_empty());
    let out = ok(cmd(example("fsicat"), valgrind)
        .arg("-o")
        .arg(offset.to_string())
        .arg(img)
        .args(files.iter().map(|e| &e.path)));
    let mut rest = &out.stdout[..];
    for e in &files {
        let n = usize::try_from(e.size).expect("size");
        assert!(rest.len() >= n, "{}: output too short", e.path);
        let (this, more) = rest.split_at(n);
        assert_eq!(
            Some(sha256_hex(this)),
            e.sha256,
            "{}: contents differ from the manifest",
            e.path
        );
        rest = more;
    }
    assert!(rest.is_empty(), "{} extra bytes", rest.len());
}

/// The kernel and ramdisk of a fixture tree (`/boot/vmlinuz-N`,
/// `/boot/initrd-N.img`; N is the tree's seed).
fn boot_files(manifest_name: &str) -> (String, String) {
    let m = manifest(manifest_name);
    let find = |prefix: &str| {
        m.iter()
            .find(|e| e.kind == EntryKind::File && e.path.starts_with(prefix))
            .map(|e| e.path.clone())
            .unwrap_or_else(|| panic!("{manifest_name} has no {prefix}*"))
    };
    (find("/boot/vmlinuz-"), find("/boot/initrd-"))
}

fn check_pygrub(img: &Path, offset: u64, manifest_name: &str, valgrind: bool) {
    let out_dir = scratch(&format!("pygrub-{}", manifest_name.replace('/', "-")));
    let (kernel, ramdisk) = boot_files(manifest_name);
    let out = ok(cmd(example("pygrub_like"), valgrind)
        .arg(img)
        .arg(offset.to_string())
        .arg(&out_dir)
        .args([&kernel, &ramdisk]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bootstring: (none)"), "{text}");
    assert!(
        text.contains("config: /boot/grub/grub.cfg"),
        "pygrub's first config: {text}"
    );
    for (file, path) in [
        ("config", "/boot/grub/grub.cfg"),
        ("kernel", kernel.as_str()),
        ("ramdisk", ramdisk.as_str()),
    ] {
        let data = std::fs::read(out_dir.join(file)).expect("output file");
        assert_eq!(
            sha256_hex(&data),
            fsimage_testkit::manifest_sha(manifest_name, path),
            "{path}"
        );
    }
}

/// pygrub on an OpenSolaris-style ZFS root pool (zfs/fuse-v14-osol): the
/// GRUB menu comes from the pool's root dataset (libfsimage's top-dataset
/// files), the kernel and boot archive from the bootfs, and the boot string
/// names the bootfs by the object number zdb gives it (recipe: ID 36).
fn check_pygrub_zfs_root_pool(valgrind: bool) {
    let zfs = target_dir().join("libfsimage_plugin_zfs.so");
    assert!(zfs.exists(), "{} is missing", zfs.display());
    let (bootfs, rootds) = ("zfs/fuse-v14-osol", "zfs/fuse-v14-osol.rootds");
    let out_dir = scratch(&format!("pygrub-osol-{valgrind}"));
    let kernel = "/platform/i86xpv/kernel/amd64/unix";
    let ramdisk = "/platform/i86pc/amd64/boot_archive";
    let out = ok(cmd(example("pygrub_like"), valgrind)
        .arg(image(bootfs))
        .arg("0")
        .arg(&out_dir)
        .args([kernel, ramdisk]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bootstring: zfs-bootfs=rpool/36,bootpath=''"),
        "{text}"
    );
    assert!(text.contains("config: /boot/grub/menu.lst"), "{text}");
    for (file, manifest_name, path) in [
        ("config", rootds, "/boot/grub/menu.lst"),
        ("kernel", bootfs, kernel),
        ("ramdisk", bootfs, ramdisk),
    ] {
        let data = std::fs::read(out_dir.join(file)).expect("output file");
        assert_eq!(
            sha256_hex(&data),
            fsimage_testkit::manifest_sha(manifest_name, path),
            "{path}"
        );
    }
    assert_ne!(
        fsimage_testkit::manifest_sha(rootds, "/boot/grub/menu.lst"),
        fsimage_testkit::manifest_sha(bootfs, "/boot/grub/menu.lst")
    );
}

#[test]
fn zfs_root_pool_through_the_classic_api() {
    check_pygrub_zfs_root_pool(false);
}

#[test]
fn ext4_through_the_classic_api() {
    have_ext2_plugin();
    let img = image("ext/ext4");
    check_pygrub(&img, 0, "ext/ext4", false);
    check_fsicat(&img, 0, "ext/ext4", false);
}

#[test]
fn ext4_through_the_extended_api() {
    have_ext2_plugin();
    let img = image("ext/ext4");
    check_fsils(&img, &[], "ext/ext4", false);
    check_fsils(&img, &["-S"], "ext/ext4", false);
    check_fsils(&image("ext/ext4-symlinks"), &[], "ext/ext4-symlinks", false);
}

/// The `## Partitions holding filesystems` rows of a `.parts` file:
/// (canonical id, start, size, filesystem, manifest name).
fn parts_table(disk: &str) -> Vec<(String, u64, u64, String, String)> {
    let text =
        std::fs::read_to_string(workspace_root().join(format!("fixtures/disk/{disk}.parts")))
            .expect("parts file");
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("## Partitions holding filesystems") {
            inside = true;
            continue;
        }
        if !inside || line.starts_with("part\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 8 {
            break;
        }
        let manifest = cols[7].trim_end_matches(".manifest").to_owned();
        rows.push((
            fsimage::disk::canonical_id(cols[0]),
            cols[1].parse().expect("start"),
            cols[2].parse().expect("size"),
            cols[5].to_owned(),
            manifest,
        ));
    }
    assert!(!rows.is_empty(), "{disk}.parts has a partition table");
    rows
}

/// With no offset or partition, `fsi_open_image` mounts the filesystem the
/// core's root choice picks (the one the Rust API opens by default).
#[test]
fn root_choice_from_c() {
    have_ext2_plugin();
    for disk in ["dev-gpt", "dev-mbr-logical", "dev-mbr-primaries"] {
        let img = image(&format!("disk/{disk}"));
        let fs = fsimage::OpenOptions::new()
            .open(&img)
            .unwrap_or_else(|e| panic!("{disk}: {e}"));
        let id = fs.partition().unwrap_or("0").to_owned();
        let (.., manifest_name) = parts_table(disk)
            .into_iter()
            .find(|row| row.0 == id)
            .unwrap_or_else(|| panic!("{disk}: root partition {id} not in the parts file"));
        check_fsils(&img, &[], &format!("disk/{manifest_name}"), false);
    }
}

/// The plugin that reads a `.parts` file's filesystem column, if built.
fn plugin_for(fs: &str) -> Option<&'static str> {
    let name = match fs {
        f if f.starts_with("ext") => "ext2",
        f if f.starts_with("ufs") => "ufs",
        "iso9660" => "iso9660",
        _ => return None,
    };
    target_dir()
        .join(format!("libfsimage_plugin_{name}.so"))
        .exists()
        .then_some(name)
}

/// `fsi_list_partitions` finds every partition the `.parts` file lists,
/// where it says; each one a built plugin reads opens by id and lists as
/// its manifest says.
#[test]
fn partitions_from_c() {
    have_ext2_plugin();
    let mut checked = 0;
    for disk in [
        "dev-gpt",
        "dev-mbr-logical",
        "dev-mbr-primaries",
        "dev-mbr-ebr-unsorted",
        "dev-isohybrid",
        "dev-solaris-x86",
        "dev-sun-sparc",
        "dev-whole-disk-ext4",
    ] {
        let img = image(&format!("disk/{disk}"));
        let out = ok(cmd(example("fsils"), false).arg("-L").arg(&img));
        let text = String::from_utf8_lossy(&out.stdout);
        for (id, start, size, fs, manifest_name) in parts_table(disk) {
            // "0", the whole disk, opens by id without being a table entry.
            if id != "0" {
                let line = text
                    .lines()
                    .find(|l| l.split('\t').next() == Some(id.as_str()))
                    .unwrap_or_else(|| panic!("{disk}: no partition {id} in\n{text}"));
                let cols: Vec<&str> = line.split('\t').collect();
                assert_eq!(cols[2], start.to_string(), "{disk} {id} start");
                assert_eq!(cols[3], size.to_string(), "{disk} {id} size");
            }
            if plugin_for(&fs).is_some() {
                check_fsils(&img, &["-p", &id], &format!("disk/{manifest_name}"), false);
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "only {checked} partitions had a plugin");
}

/// A filesystem inside a partition, at the byte offset pygrub computes.
#[test]
fn gpt_partition_by_offset() {
    have_ext2_plugin();
    let img = image("disk/dev-gpt");
    check_pygrub(&img, 10485760, "disk/dev-gpt.p3", false);
    check_fsils(&img, &["-o", "10485760"], "disk/dev-gpt.p3", false);
    // The UFS partition beside it, once its plugin is built.
    if plugin_for("ufs1-le").is_some() {
        check_pygrub(&img, 27262976, "disk/dev-gpt.p4", false);
    }
}

/// Symlinks are followed inside the image; a loop is ELOOP.
#[test]
fn symlinks_from_c() {
    have_ext2_plugin();
    let img = image("ext/ext4-symlinks");
    let want = fsimage_testkit::manifest_sha("ext/ext4-symlinks", "/etc/hostname");
    for link in ["/abs", "/chain0", "/chain23"] {
        let out = ok(cmd(example("fsicat"), false).arg(&img).arg(link));
        assert_eq!(sha256_hex(&out.stdout), want, "{link}");
    }
    let out = run(cmd(example("fsicat"), false).arg(&img).arg("/a"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Too many levels of symbolic links"), "{err}");
}

/// Image path with spaces, file name with a space.
#[test]
fn names_with_spaces() {
    have_ext2_plugin();
    let img = image("ext/ext4");
    let d = scratch("spaces").join("my images");
    std::fs::create_dir_all(&d).unwrap();
    let spaced = d.join("guest disk 1.img");
    std::os::unix::fs::symlink(&img, &spaced).unwrap();
    let out = ok(cmd(example("fsicat"), false)
        .arg(&spaced)
        .arg("/names/with space"));
    assert_eq!(
        sha256_hex(&out.stdout),
        fsimage_testkit::manifest_sha("ext/ext4", "/names/with space")
    );
}

#[test]
fn c_api_promises() {
    have_ext2_plugin();
    let img = image("ext/ext4");
    let junk = junk_image();
    let out = run(cmd(example("checks"), false)
        .arg(&img)
        .arg("0")
        .arg("/boot/vmlinuz-5")
        .arg("/boot")
        .arg(&junk));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "checks failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("0 failed"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
}

/// All the programs again under valgrind: no invalid access, no leak.
#[test]
fn under_valgrind() {
    have_ext2_plugin();
    if !valgrind_available() {
        return;
    }
    let img = image("ext/ext4");
    check_pygrub(&img, 0, "ext/ext4", true);
    check_pygrub_zfs_root_pool(true);
    check_fsils(&img, &[], "ext/ext4", true);
    check_fsicat(&img, 0, "ext/ext4", true);
    let junk = junk_image();
    ok(cmd(example("checks"), true)
        .arg(&img)
        .arg("0")
        .arg("/boot/vmlinuz-5")
        .arg("/boot")
        .arg(&junk));
}

/// A program linked against a stand-in for Xen's libfsimage (same SONAME,
/// same version node, built here from stubs) runs unchanged on ours.
#[test]
fn binary_built_against_xens_library_loads_ours() {
    have_ext2_plugin();
    let d = scratch("xen");
    let xen = d.join("xenlib");
    std::fs::create_dir_all(&xen).unwrap();
    let stub = d.join("stub.c");
    std::fs::write(
        &stub,
        "#include <fsimage.h>\n\
         int fsi_init(void) { return -1; }\n\
         fsi_t *fsi_open_fsimage(const char *p, uint64_t o, const char *s) { (void)p; (void)o; (void)s; return 0; }\n\
         void fsi_close_fsimage(fsi_t *f) { (void)f; }\n\
         int fsi_file_exists(fsi_t *f, const char *p) { (void)f; (void)p; return 0; }\n\
         fsi_file_t *fsi_open_file(fsi_t *f, const char *p) { (void)f; (void)p; return 0; }\n\
         int fsi_close_file(fsi_file_t *f) { (void)f; return -1; }\n\
         ssize_t fsi_read_file(fsi_file_t *f, void *b, size_t n) { (void)f; (void)b; (void)n; return -1; }\n\
         ssize_t fsi_pread_file(fsi_file_t *f, void *b, size_t n, uint64_t o) { (void)f; (void)b; (void)n; (void)o; return -1; }\n\
         char *fsi_bootstring_alloc(fsi_t *f, size_t n) { (void)f; (void)n; return 0; }\n\
         void fsi_bootstring_free(fsi_t *f) { (void)f; }\n\
         char *fsi_fs_bootstring(fsi_t *f) { (void)f; return 0; }\n\
         const char *fsi_last_error(void) { return \"stub\"; }\n",
    )
    .unwrap();
    let map = d.join("map");
    std::fs::write(
        &map,
        "libfsimage.so.1.0 {\n global:\n  fsi_*;\n local:\n  *;\n};\n",
    )
    .unwrap();
    let include = workspace_root().join("include");
    ok(Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(xen.join("libfsimage.so.1.0"))
        .arg("-I")
        .arg(&include)
        .arg(&stub)
        .arg("-Wl,-soname,libfsimage.so.1.0")
        .arg(format!("-Wl,--version-script={}", map.display())));
    std::os::unix::fs::symlink("libfsimage.so.1.0", xen.join("libfsimage.so")).unwrap();
    let exe = d.join("pygrub_like");
    ok(Command::new("cc")
        .args(["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(&include)
        .arg(workspace_root().join("examples/c/pygrub_like.c"))
        .arg("-L")
        .arg(&xen)
        .arg("-lfsimage"));
    // Linked against the stand-in: it needs libfsimage.so.1.0 and the node.
    let dynamic = ok(Command::new("readelf").args(["-d", "-V"]).arg(&exe));
    let text = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        text.contains("Shared library: [libfsimage.so.1.0]"),
        "{text}"
    );
    assert!(text.contains("Name: libfsimage.so.1.0"), "{text}");
    // Run on ours.
    let img = image("ext/ext4");
    let out_dir = d.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let (kernel, _) = boot_files("ext/ext4");
    ok(cmd(&exe, false)
        .env("LD_LIBRARY_PATH", link_dir())
        .arg(&img)
        .arg("0")
        .arg(&out_dir)
        .arg(&kernel));
    let data = std::fs::read(out_dir.join("kernel")).unwrap();
    assert_eq!(
        sha256_hex(&data),
        fsimage_testkit::manifest_sha("ext/ext4", &kernel)
    );
}

/// `libfsimage.a`: a statically linked program reads the fixture too
/// (plugins from `$FSIMAGE_PLUGIN_DIR`, as its own directory has none).
#[test]
fn static_library_links_and_reads() {
    have_ext2_plugin();
    let a = target_dir().join("libfsimage.a");
    assert!(a.exists(), "{} missing", a.display());
    let d = scratch("static");
    let exe = d.join("fsicat-static");
    ok(Command::new("cc")
        .args(["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-o"])
        .arg(&exe)
        .arg("-I")
        .arg(workspace_root().join("include"))
        .arg(workspace_root().join("examples/c/fsicat.c"))
        .arg(&a)
        .args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]));
    let img = image("ext/ext4");
    let out = ok(cmd(&exe, false)
        .env("FSIMAGE_PLUGIN_DIR", target_dir())
        .arg(&img)
        .arg("/etc/hostname"));
    assert_eq!(
        sha256_hex(&out.stdout),
        fsimage_testkit::manifest_sha("ext/ext4", "/etc/hostname")
    );
}

/// `scripts/install.sh` (on the debug build, to spare a release build here)
/// lays out a prefix where `cc $(pkg-config --cflags --libs fsimage)` builds
/// a program that reads the fixture, finding plugins and worker by itself;
/// with DESTDIR it stages the same tree.
#[test]
fn install_script_lays_out_a_usable_prefix() {
    have_ext2_plugin();
    let root = workspace_root();
    let target = target_dir().parent().expect("target dir").to_path_buf();
    let d = scratch("install");
    let prefix = d.join("prefix");
    let install = |extra: &[&str], destdir: Option<&Path>| {
        let mut c = Command::new("sh");
        c.arg(root.join("scripts/install.sh"))
            .args(["--no-build", "--profile", "dev"])
            .args(extra)
            .env("CARGO_TARGET_DIR", &target);
        match destdir {
            Some(dd) => c.env("DESTDIR", dd),
            None => c.env_remove("DESTDIR"),
        };
        ok(&mut c);
    };
    install(&["--prefix", prefix.to_str().expect("UTF-8 path")], None);
    let lib = prefix.join("lib");
    for (link, to) in [
        ("libfsimage.so.1.0", "libfsimage.so.1.0.0"),
        ("libfsimage.so", "libfsimage.so.1.0"),
        ("libxenfsimage.so", "libfsimage.so.1.0"),
    ] {
        assert_eq!(
            std::fs::read_link(lib.join(link)).expect(link),
            Path::new(to),
            "{link}"
        );
    }
    for f in [
        "lib/libfsimage.so.1.0.0",
        "lib/libfsimage.a",
        "lib/pkgconfig/fsimage.pc",
        "lib/pkgconfig/xenfsimage.pc",
        "lib/fsimage/libfsimage_plugin_ext2.so",
        "include/fsimage.h",
        "include/xenfsimage.h",
    ] {
        assert!(prefix.join(f).is_file(), "{f} installed");
    }
    if target_dir().join("fsimage-worker").exists() {
        assert!(
            lib.join("fsimage/fsimage-worker").is_file(),
            "worker installed"
        );
    }

    let pc = Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
        .args(["--cflags", "--libs", "fsimage"])
        .output();
    match pc {
        Ok(out) if out.status.success() => {
            let flags = String::from_utf8(out.stdout).expect("UTF-8 flags");
            let exe = d.join("fsicat");
            ok(Command::new("cc")
                .args(flags.split_whitespace())
                .arg("-o")
                .arg(&exe)
                .arg(root.join("examples/c/fsicat.c")));
            let img = image("ext/ext4");
            let out = ok(cmd(&exe, false)
                .env("LD_LIBRARY_PATH", &lib)
                .env_remove("FSIMAGE_WORKER")
                .arg(&img)
                .arg("/etc/hostname"));
            assert_eq!(
                sha256_hex(&out.stdout),
                fsimage_testkit::manifest_sha("ext/ext4", "/etc/hostname")
            );
            // Xen's name links the same library.
            let xen = ok(Command::new("pkg-config")
                .env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
                .args(["--libs", "xenfsimage"]));
            let xen = String::from_utf8(xen.stdout).expect("UTF-8 flags");
            assert!(xen.contains("-lxenfsimage"), "{xen}");
        }
        _ => eprintln!("note: pkg-config is not installed; skipping the pkg-config build"),
    }

    let stage = d.join("stage");
    install(&[], Some(&stage));
    assert!(stage.join("usr/local/lib/libfsimage.so.1.0.0").is_file());
    assert!(stage.join("usr/local/include/fsimage.h").is_file());
    let pc = std::fs::read_to_string(stage.join("usr/local/lib/pkgconfig/fsimage.pc")).unwrap();
    assert!(pc.contains("prefix=/usr/local\n"), "{pc}");
    // Two copies of the debug library are large: do not keep them.
    let _ = std::fs::remove_dir_all(&d);
}
