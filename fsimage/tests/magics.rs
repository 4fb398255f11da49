//! Plugin magics (ABI 1.1): a plugin that declares them promises its probe
//! answers 0 when none matches, and the core then skips the probe (and,
//! sandboxed, does not load the plugin into the worker). Checked here on
//! every committed fixture, with each plugin probed directly.

use fsimage::plugin::{Plugin, Registry, probe_in_process};
use fsimage::{FileImage, ReadAt};
use std::path::PathBuf;
use std::sync::Arc;

fn built_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn registry() -> Registry {
    let mut reg = Registry::default();
    reg.load_dir(&built_dir());
    reg
}

const REAL: [&str; 5] = ["ext2", "iso9660", "reiserfs", "ufs", "zfs"];

#[test]
fn every_real_plugin_declares_its_magics() {
    let reg = registry();
    for name in REAL {
        let p = reg
            .get(name)
            .unwrap_or_else(|| panic!("plugin {name} not built"));
        let m = p.magics().unwrap_or_else(|| panic!("{name}: no magics"));
        assert!(!m.is_empty() && m.len() <= fsimage::abi::raw::MAX_MAGICS);
    }
    // The hostile test plugin declares none: it is always probed.
    if let Some(h) = reg.get("hostile") {
        assert!(h.magics().is_none());
    }
}

#[test]
fn a_probe_never_succeeds_where_no_magic_is() {
    let reg = registry();
    let plugins: Vec<Arc<Plugin>> = REAL.iter().filter_map(|n| reg.get(n)).collect();
    assert_eq!(plugins.len(), REAL.len());
    let (mut recognised, mut skipped) = (0, 0);
    for group in ["disk", "ext", "iso9660", "reiserfs", "ufs", "zfs"] {
        for name in fsimage_testkit::fixture_names(group) {
            let img = Arc::new(FileImage::open(fsimage_testkit::image(&name)).unwrap());
            let dev: Arc<dyn ReadAt> = img;
            for p in &plugins {
                let conf = probe_in_process(p, std::slice::from_ref(&dev)).unwrap_or(0);
                let may = p.may_hold(&*dev);
                assert!(
                    conf == 0 || may,
                    "{name}: {} probes {conf} but none of its magics is there",
                    p.name()
                );
                recognised += usize::from(conf > 0);
                skipped += usize::from(!may);
            }
        }
    }
    // Not vacuous: plugins recognise their fixtures, and most pairs of a
    // plugin and another filesystem's image are skipped without a probe.
    assert!(recognised >= 50, "{recognised} recognised");
    assert!(skipped >= 200, "{skipped} skipped");
}

#[test]
fn a_magic_is_read_where_it_says() {
    let reg = registry();
    let ext2 = reg.get("ext2").unwrap();
    let mut bytes = vec![0u8; 4096];
    assert!(!ext2.may_hold(&bytes));
    bytes[1080..1082].copy_from_slice(&0xEF53u16.to_le_bytes());
    assert!(ext2.may_hold(&bytes));
    // Too short to hold the magic: no match, no error.
    assert!(!ext2.may_hold(&bytes[..1081].to_vec()));
}
