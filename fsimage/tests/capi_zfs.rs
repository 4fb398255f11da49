//! The classic C API on ZFS root pools, called from Rust in this process:
//! libfsimage's "top dataset files" (GRUB legacy's `is_top_dataset_file`)
//! come from the pool's root dataset, everything else from the chosen
//! dataset, and the Rust API keeps reading only the chosen dataset.
//!
//! Fixture `zfs/fuse-v14-osol` (made by zfs-fuse, see its recipe): root
//! dataset `rpool` holds the real `/boot/grub/menu.lst` and the bootsign;
//! the bootfs `rpool/ROOT/opensolaris` holds the kernel and a different,
//! stale `/boot/grub/menu.lst`. Needs `cargo build --workspace` first (the
//! real ZFS plugin and sandbox worker are loaded from the target dir).

#![cfg(target_os = "linux")]

use fsimage::capi::{
    fsi_close_file, fsi_close_fsimage, fsi_file_exists, fsi_file_t, fsi_fs_bootstring,
    fsi_last_error, fsi_open_file, fsi_open_fsimage, fsi_open_image, fsi_pread_file, fsi_t,
};
use fsimage_testkit::{image, sha256_hex, workspace_root};
use std::ffi::{CStr, CString, c_void};
use std::path::Path;

const OSOL: &str = "zfs/fuse-v14-osol";
const OSOL_ROOT: &str = "zfs/fuse-v14-osol.rootds";
const MENU: &str = "/boot/grub/menu.lst";
const KERNEL: &str = "/platform/i86xpv/kernel/amd64/unix";
const ARCHIVE: &str = "/platform/i86pc/amd64/boot_archive";
const BOOTSIGN: &str = "/boot/grub/bootsign/pool_rpool";

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn last_error() -> String {
    // SAFETY: fsi_last_error returns a valid C string.
    unsafe { CStr::from_ptr(fsi_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// The MOS object number zdb printed for `dataset` in the fixture's recipe
/// (`Dataset NAME [ZPL], ID N, ...`).
fn zdb_id(fixture: &str, dataset: &str) -> u64 {
    let recipe = workspace_root().join(format!("fixtures/{fixture}.recipe"));
    let text = std::fs::read_to_string(&recipe).expect("recipe");
    let prefix = format!("Dataset {dataset} [ZPL], ID ");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{}: no zdb line for {dataset}", recipe.display()));
    line.split(',').next().unwrap().parse().expect("zdb ID")
}

/// An open image through the classic API, closed on drop.
struct Img(*mut fsi_t);

impl Drop for Img {
    fn drop(&mut self) {
        // SAFETY: a live handle from fsi_open_fsimage, closed once.
        unsafe { fsi_close_fsimage(self.0) };
    }
}

impl Img {
    fn open(path: &Path, options: Option<&str>) -> Img {
        let p = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        let o = options.map(|o| CString::new(o).unwrap());
        // SAFETY: NUL-terminated strings or NULL.
        let fsi = unsafe {
            fsi_open_fsimage(
                p.as_ptr(),
                0,
                o.as_ref().map_or(std::ptr::null(), |o| o.as_ptr()),
            )
        };
        assert!(
            !fsi.is_null(),
            "{} ({options:?}): {}",
            path.display(),
            last_error()
        );
        Img(fsi)
    }

    fn exists(&self, path: &str) -> bool {
        let p = CString::new(path).unwrap();
        // SAFETY: a live handle and a C string.
        match unsafe { fsi_file_exists(self.0, p.as_ptr()) } {
            1 => true,
            0 => false,
            n => panic!("fsi_file_exists returned {n}"),
        }
    }

    /// The whole file through fsi_open_file + fsi_pread_file, or the errno.
    fn read(&self, path: &str) -> Result<Vec<u8>, i32> {
        let p = CString::new(path).unwrap();
        // SAFETY: a live handle and a C string.
        let f: *mut fsi_file_t = unsafe { fsi_open_file(self.0, p.as_ptr()) };
        if f.is_null() {
            return Err(errno());
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            // SAFETY: a live file and a buffer of buf.len() bytes.
            let n = unsafe {
                fsi_pread_file(
                    f,
                    buf.as_mut_ptr().cast::<c_void>(),
                    buf.len(),
                    out.len() as u64,
                )
            };
            assert!(n >= 0, "{path}: pread: {}", last_error());
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        // SAFETY: a live file, closed once.
        assert_eq!(unsafe { fsi_close_file(f) }, 0);
        Ok(out)
    }

    fn sha(&self, path: &str) -> String {
        let data = self
            .read(path)
            .unwrap_or_else(|e| panic!("{path}: errno {e}: {}", last_error()));
        sha256_hex(&data)
    }

    fn bootstring(&self) -> Option<String> {
        // SAFETY: a live handle; the string is owned by it.
        let s = unsafe { fsi_fs_bootstring(self.0) };
        // SAFETY: NULL or a C string owned by the live handle.
        (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
    }
}

/// What pygrub sees on the OpenSolaris-style pool with the bootfs chosen
/// (by default or by name).
fn check_osol_bootfs(img: &Img) {
    let root_menu = fsimage_testkit::manifest_sha(OSOL_ROOT, MENU);
    let be_menu = fsimage_testkit::manifest_sha(OSOL, MENU);
    assert_ne!(root_menu, be_menu, "the fixture's two menus must differ");
    assert!(img.exists(MENU));
    assert_eq!(img.sha(MENU), root_menu, "menu.lst from the root dataset");
    assert_eq!(
        img.sha("boot/grub/menu.lst"),
        root_menu,
        "without the leading /"
    );
    assert_eq!(
        img.sha(KERNEL),
        fsimage_testkit::manifest_sha(OSOL, KERNEL),
        "kernel from the bootfs"
    );
    assert_eq!(
        img.sha(ARCHIVE),
        fsimage_testkit::manifest_sha(OSOL, ARCHIVE)
    );
    assert_eq!(
        img.sha("/etc/release"),
        fsimage_testkit::manifest_sha(OSOL, "/etc/release")
    );
    // The bootsign is only in the root dataset.
    assert!(img.exists(BOOTSIGN));
    assert_eq!(
        img.sha(BOOTSIGN),
        fsimage_testkit::manifest_sha(OSOL_ROOT, BOOTSIGN)
    );
    // A root-dataset file that is not a top-dataset name stays invisible.
    assert!(!img.exists("/boot/grub/root-only.txt"));
    assert_eq!(errno(), libc::ENOENT);
    assert_eq!(img.read("/boot/grub/root-only.txt"), Err(libc::ENOENT));
    // A top-dataset name in neither dataset.
    assert!(!img.exists("/boot/menu.lst"));
    assert_eq!(errno(), libc::ENOENT);
    assert_eq!(img.read("/etc/bootsign"), Err(libc::ENOENT));
    // The boot string names the bootfs, as zdb numbers it.
    let id = zdb_id(OSOL, "rpool/ROOT/opensolaris");
    assert_eq!(
        img.bootstring().as_deref(),
        Some(format!("zfs-bootfs=rpool/{id},bootpath=''").as_str())
    );
}

#[test]
fn osol_pool_default_dataset_reads_menu_from_root_dataset() {
    let img = Img::open(&image(OSOL), None);
    check_osol_bootfs(&img);
    let img = Img::open(&image(OSOL), Some(""));
    check_osol_bootfs(&img);
}

#[test]
fn osol_pool_named_bootfs_reads_menu_from_root_dataset() {
    check_osol_bootfs(&Img::open(&image(OSOL), Some("rpool/ROOT/opensolaris")));
    // Other plugin options are kept for the root dataset's mount.
    check_osol_bootfs(&Img::open(
        &image(OSOL),
        Some("csum=off,rpool/ROOT/opensolaris"),
    ));
}

/// fsi_open_image handles (root choice, no offset given) behave the same.
#[test]
fn osol_pool_through_fsi_open_image() {
    let p = CString::new(image(OSOL).as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a C string and NULL options.
    let fsi = unsafe { fsi_open_image(p.as_ptr(), std::ptr::null()) };
    assert!(!fsi.is_null(), "{}", last_error());
    check_osol_bootfs(&Img(fsi));
}

/// The root dataset chosen: everything comes from it (no second mount).
#[test]
fn osol_pool_root_dataset_chosen() {
    let img = Img::open(&image(OSOL), Some("rpool"));
    assert_eq!(
        img.sha(MENU),
        fsimage_testkit::manifest_sha(OSOL_ROOT, MENU)
    );
    assert_eq!(
        img.sha("/boot/grub/root-only.txt"),
        fsimage_testkit::manifest_sha(OSOL_ROOT, "/boot/grub/root-only.txt")
    );
    assert_eq!(img.read(KERNEL), Err(libc::ENOENT));
    let id = zdb_id(OSOL, "rpool");
    assert_eq!(
        img.bootstring().as_deref(),
        Some(format!("zfs-bootfs=rpool/{id},bootpath=''").as_str())
    );
}

/// A pool whose root dataset holds no files (zfs/fuse-v14-rpool): the
/// bootfs's own menu.lst is read.
#[test]
fn empty_root_dataset_falls_back_to_bootfs() {
    let name = "zfs/fuse-v14-rpool";
    let img = Img::open(&image(name), None);
    assert!(img.exists(MENU));
    assert_eq!(img.sha(MENU), fsimage_testkit::manifest_sha(name, MENU));
    assert_eq!(
        img.sha("/etc/hostname"),
        fsimage_testkit::manifest_sha(name, "/etc/hostname")
    );
}

/// The Rust API reads exactly the chosen dataset: the bootfs's own menu.
#[test]
fn rust_api_reads_only_the_chosen_dataset() {
    let fs = fsimage::OpenOptions::new()
        .offset(0)
        .open(image(OSOL))
        .unwrap();
    assert_eq!(
        sha256_hex(&fs.read(MENU).unwrap()),
        fsimage_testkit::manifest_sha(OSOL, MENU)
    );
    assert!(!fs.exists(BOOTSIGN));
}

/// Other filesystems are not affected (ext4's own menu.lst).
#[test]
fn other_filesystems_unchanged() {
    let name = "ext/ext4";
    let img = Img::open(&image(name), None);
    assert_eq!(img.sha(MENU), fsimage_testkit::manifest_sha(name, MENU));
}
