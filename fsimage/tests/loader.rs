//! The loader refuses wrongly built plugins with a clear reason, and one bad
//! file does not stop the others. The bad plugins are copies of the real ext2
//! plugin with their vtable header patched, as a plugin built against another
//! ABI would look.

use fsimage::plugin::{LoadError, Plugin, Registry};
use std::path::{Path, PathBuf};

/// The directory the workspace's plugins were built into (`target/debug`).
fn built_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn ext2_plugin() -> PathBuf {
    let p = built_dir().join("libfsimage_plugin_ext2.so");
    assert!(
        p.exists(),
        "{} missing: run `cargo build --workspace` first",
        p.display()
    );
    p
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fsimage-loader-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Copies the ext2 plugin to `dir/name`, patching the vtable header: the
/// 24 bytes magic, major, minor, size are found by their known values.
fn patched(dir: &Path, name: &str, patch: impl Fn(&mut [u8])) -> PathBuf {
    let mut bytes = std::fs::read(ext2_plugin()).unwrap();
    let mut header = Vec::new();
    header.extend_from_slice(b"FSIMGPLG");
    header.extend_from_slice(&fsimage::abi::raw::ABI_MAJOR.to_le_bytes());
    header.extend_from_slice(&fsimage::abi::raw::ABI_MINOR.to_le_bytes());
    let at: Vec<usize> = bytes
        .windows(header.len())
        .enumerate()
        .filter(|(_, w)| *w == header.as_slice())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "exactly one vtable header in the plugin");
    patch(&mut bytes[at[0]..at[0] + 24]);
    let out = dir.join(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

#[test]
fn the_real_plugin_loads() {
    let p = Plugin::load(&ext2_plugin()).unwrap();
    assert_eq!(p.name(), "ext2");
    assert_eq!(p.abi_minor(), fsimage::abi::raw::ABI_MINOR);
}

#[test]
fn wrong_abi_major_is_refused() {
    let d = tempdir("major");
    let f = patched(&d, "libfsimage_plugin_future.so", |h| {
        h[8..12].copy_from_slice(&2u32.to_le_bytes())
    });
    let e = Plugin::load(&f).unwrap_err();
    assert_eq!(
        e,
        LoadError::AbiMajor {
            found_major: 2,
            found_minor: fsimage::abi::raw::ABI_MINOR,
            supported: 1
        }
    );
    let shown = format!("ABI version 2.{}", fsimage::abi::raw::ABI_MINOR);
    assert!(e.to_string().contains(&shown), "{e}");
}

#[test]
fn bad_magic_is_refused() {
    let d = tempdir("magic");
    let f = patched(&d, "libfsimage_plugin_magic.so", |h| h[0] = b'X');
    assert!(matches!(Plugin::load(&f), Err(LoadError::BadMagic(_))));
}

#[test]
fn a_vtable_without_the_mandatory_entries_is_refused() {
    let d = tempdir("short");
    let f = patched(&d, "libfsimage_plugin_short.so", |h| {
        h[16..20].copy_from_slice(&40u32.to_le_bytes())
    });
    let e = Plugin::load(&f).unwrap_err();
    assert!(
        matches!(e, LoadError::VtableTooSmall { size: 40, .. }),
        "{e}"
    );
}

#[test]
fn a_newer_minor_with_a_bigger_vtable_loads() {
    // A plugin from a later minor version has entries we do not know: they are
    // ignored, never read.
    let d = tempdir("minor");
    let f = patched(&d, "libfsimage_plugin_newer.so", |h| {
        h[12..16].copy_from_slice(&7u32.to_le_bytes());
    });
    let p = Plugin::load(&f).unwrap();
    assert_eq!(p.abi_minor(), 7);
}

#[test]
fn non_plugins_are_refused_and_do_not_stop_the_others() {
    let d = tempdir("mixed");
    std::fs::write(
        d.join("libfsimage_plugin_garbage.so"),
        b"this is not an ELF file",
    )
    .unwrap();
    patched(&d, "libfsimage_plugin_zz_future.so", |h| {
        h[8..12].copy_from_slice(&9u32.to_le_bytes())
    });
    std::fs::copy(ext2_plugin(), d.join("libfsimage_plugin_ext2.so")).unwrap();
    // A real shared object that is not a plugin: the loader's own test binary
    // cannot be dlopened, so use the system's libc-adjacent libm.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists());
    if let Some(m) = libm {
        std::fs::copy(m, d.join("libfsimage_plugin_libm.so")).unwrap();
    }
    std::fs::write(d.join("unrelated.txt"), b"x").unwrap();

    let mut reg = Registry::default();
    reg.load_dir(&d);
    let names: Vec<&str> = reg.plugins().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["ext2"]);
    let fails: Vec<(String, &LoadError)> = reg
        .failures()
        .iter()
        .map(|(p, e)| (p.file_name().unwrap().to_string_lossy().into_owned(), e))
        .collect();
    assert!(
        fails
            .iter()
            .any(|(n, e)| n == "libfsimage_plugin_garbage.so" && matches!(e, LoadError::Open(_)))
    );
    assert!(
        fails
            .iter()
            .any(|(n, e)| n == "libfsimage_plugin_zz_future.so"
                && matches!(e, LoadError::AbiMajor { .. }))
    );
    if libm.is_some() {
        assert!(
            fails
                .iter()
                .any(|(n, e)| n == "libfsimage_plugin_libm.so" && **e == LoadError::NoEntry)
        );
    }
    // The image still opens with what did load.
    let fs = fsimage::OpenOptions::new()
        .registry(std::sync::Arc::new(reg))
        .open(fsimage_testkit::image("ext/ext4"))
        .unwrap();
    assert_eq!(fs.read("/etc/hostname").unwrap(), b"fixture-5\n");
}

#[test]
fn no_plugins_is_a_clear_error() {
    let d = tempdir("empty");
    let reg = Registry::default();
    let e = fsimage::OpenOptions::new()
        .registry(std::sync::Arc::new(reg))
        .open(fsimage_testkit::image("ext/ext4"))
        .unwrap_err();
    assert!(e.to_string().contains("no fsimage plugins found"), "{e}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_minor_0_plugin_has_no_magics_and_is_always_probed() {
    // A 1.0 vtable ends before `magics`: nothing past its size is read.
    let d = tempdir("minor0");
    let size = std::mem::offset_of!(fsimage::abi::raw::PluginVtable, magics) as u32;
    let f = patched(&d, "libfsimage_plugin_old.so", |h| {
        h[12..16].copy_from_slice(&0u32.to_le_bytes());
        h[16..20].copy_from_slice(&size.to_le_bytes());
    });
    let p = Plugin::load(&f).unwrap();
    assert_eq!(p.abi_minor(), 0);
    assert!(p.magics().is_none());
    assert!(p.may_hold(&vec![0u8; 4096]));
    // The same plugin as built declares its magic, and that buffer lacks it.
    let real = Plugin::load(&ext2_plugin()).unwrap();
    assert!(real.magics().is_some());
    assert!(!real.may_hold(&vec![0u8; 4096]));
}
