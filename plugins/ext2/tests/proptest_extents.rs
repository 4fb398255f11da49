//! Property (issue 7): every extent map the ext2 plugin reports, from any
//! offset of any file of the fixtures, starts at that offset, runs without
//! gaps or overlaps to the file's size, and keeps every data extent inside
//! its device; and the bytes a data extent points at are the bytes `read`
//! returns for that range.

#[path = "../../../fuzz/src/walk.rs"]
#[allow(dead_code)]
mod walk;

use fsimage_abi::{Device, ExtentKind, FileKind, Filesystem, ReadAt, sdk};
use fsimage_plugin_ext2::Ext2Fs;
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

const FIXTURES: [&str; 7] = [
    "ext/ext2-1k",
    "ext/ext3",
    "ext/ext4",
    "ext/ext4-huge",
    "ext/ext4-bigalloc",
    "ext/ext4-inline",
    "ext/ext4-64k",
];

struct Mounted {
    fs: Ext2Fs,
    dev: Arc<Vec<u8>>,
    /// (id, size) of every regular file.
    files: Vec<(u64, u64)>,
}

fn mounted() -> &'static Vec<Mounted> {
    static M: OnceLock<Vec<Mounted>> = OnceLock::new();
    M.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|name| {
                let dev = Arc::new(std::fs::read(fsimage_testkit::image(name)).expect("fixture"));
                let fs = Ext2Fs::mount(vec![Device::new(dev.clone())], b"").expect("mount");
                let mut files = Vec::new();
                let mut stack = vec![fs.root()];
                while let Some(d) = stack.pop() {
                    for e in sdk::list_dir(&fs, d, 1 << 20).expect("list") {
                        let st = fs.stat(e.id).expect("stat");
                        match st.kind {
                            FileKind::Dir => stack.push(e.id),
                            FileKind::File => files.push((e.id, st.size)),
                            _ => {}
                        }
                    }
                }
                assert!(!files.is_empty(), "{name}: no files");
                Mounted { fs, dev, files }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn extents_cover_the_file_inside_the_device(fx in 0..FIXTURES.len(), file in any::<prop::sample::Index>(), at in 0.0f64..1.2) {
        let m = &mounted()[fx];
        let (id, size) = m.files[file.index(m.files.len())];
        // Offsets inside the file, at its end and past it.
        let from = (size as f64 * at) as u64;
        walk::check_extents(&m.fs, id, from, size, &[m.dev.len() as u64], usize::MAX)
            .map_err(|e| TestCaseError::fail(format!("{}: extents of {id} from {from}: {e}", FIXTURES[fx])))?;
        // Data extents point at the bytes `read` returns (first 64 KiB).
        let mut all = fsimage_testkit::plugin::Extents(Vec::new());
        m.fs.extents(id, from, &mut all).expect("extents");
        let mut budget = 64u64 << 10;
        for e in all.0.iter().filter(|e| e.kind == ExtentKind::Data) {
            let n = e.length.min(budget);
            if n == 0 {
                break;
            }
            budget -= n;
            let on_dev = m.dev.read_vec_at(e.device_offset, n as usize).expect("device bytes");
            let mut via_read = vec![0u8; n as usize];
            let got = m.fs.read(id, e.file_offset, &mut via_read).expect("read");
            prop_assert_eq!(got as u64, n);
            prop_assert!(on_dev == via_read, "{}: inode {} extent {:?}: bytes differ from read", FIXTURES[fx], id, e);
        }
    }
}
