//! A bounded walk over a mounted filesystem through the plugin SDK: list
//! every directory, stat every entry, look each name up again, read every
//! file (capped) and symlink, and map every file's extents. Errors are
//! counted, never fatal; broken contracts (an extent outside its device, a
//! gap in an extent map, a short read) panic, so a fuzzer reports them.
//!
//! Shared by the fuzz targets and, through `#[path]`, by the gauntlet tests,
//! so it depends on nothing but `fsimage_abi`.

use fsimage_abi::{Extent, ExtentKind, ExtentSink, FileKind, Filesystem, sdk};

/// How much one walk may do.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Deepest directory level visited (root = 0).
    pub max_depth: usize,
    /// Entries visited in all.
    pub max_entries: usize,
    /// Entries asked of one `read_dir`.
    pub max_dir_entries: usize,
    /// Bytes read of one file.
    pub max_file_bytes: u64,
    /// Bytes read in all.
    pub max_total_bytes: u64,
    /// Extents collected per file.
    pub max_extents: usize,
}

impl Budget {
    /// Small enough for thousands of fuzz executions per second.
    pub const FUZZ: Budget = Budget {
        max_depth: 12,
        max_entries: 2048,
        max_dir_entries: 1024,
        max_file_bytes: 256 << 10,
        max_total_bytes: 4 << 20,
        max_extents: 512,
    };
    /// The gauntlet's: whole fixture trees, files read up to 16 MiB.
    pub const GAUNTLET: Budget = Budget {
        max_depth: 32,
        max_entries: 20_000,
        max_dir_entries: 10_000,
        max_file_bytes: 16 << 20,
        max_total_bytes: 64 << 20,
        max_extents: 4096,
    };
}

/// What a walk saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Directories listed.
    pub dirs: usize,
    /// Regular files read.
    pub files: usize,
    /// Symlinks read.
    pub symlinks: usize,
    /// Operations that returned an error.
    pub errors: usize,
    /// Bytes read.
    pub bytes: u64,
}

/// Collects extents, checking as it goes.
struct Checked<'a> {
    out: &'a mut Vec<Extent>,
    max: usize,
}

impl ExtentSink for Checked<'_> {
    fn push(&mut self, e: Extent) -> bool {
        if self.out.len() >= self.max {
            return false;
        }
        self.out.push(e);
        true
    }
}

/// Maps `id` from `from` and checks the map: in order, without gaps or
/// empty extents, starting at `from`, ending by `size` (at `size` unless the
/// sink filled up), every data extent inside its device.
pub fn check_extents<F: Filesystem>(
    fs: &F,
    id: u64,
    from: u64,
    size: u64,
    device_sizes: &[u64],
    max: usize,
) -> fsimage_abi::Result<usize> {
    let mut v = Vec::new();
    fs.extents(id, from, &mut Checked { out: &mut v, max })?;
    let mut pos = from;
    for e in &v {
        assert_eq!(
            e.file_offset, pos,
            "inode {id}: extent map gap or overlap: {v:?}"
        );
        assert!(e.length > 0, "inode {id}: empty extent {e:?}");
        pos = e
            .file_offset
            .checked_add(e.length)
            .unwrap_or_else(|| panic!("inode {id}: extent end overflows: {e:?}"));
        assert!(pos <= size, "inode {id}: extent {e:?} past the size {size}");
        if e.kind == ExtentKind::Data {
            let dev = device_sizes
                .get(e.device as usize)
                .unwrap_or_else(|| panic!("inode {id}: extent on unknown device: {e:?}"));
            let end = e.device_offset.checked_add(e.length);
            assert!(
                end.is_some_and(|end| end <= *dev),
                "inode {id}: extent {e:?} outside its device of {dev} bytes"
            );
        }
    }
    if v.len() < max && from < size {
        assert_eq!(
            pos, size,
            "inode {id}: extent map from {from} stops short: {v:?}"
        );
    }
    Ok(v.len())
}

/// Reads `id` from `offset` into `buf` and checks the read contract: the
/// buffer is filled unless the end of the file comes first.
fn checked_read<F: Filesystem>(
    fs: &F,
    id: u64,
    size: u64,
    offset: u64,
    buf: &mut [u8],
) -> fsimage_abi::Result<usize> {
    let n = fs.read(id, offset, buf)?;
    let expect = size.saturating_sub(offset).min(buf.len() as u64);
    assert_eq!(
        n as u64,
        expect,
        "inode {id}: read of {} at {offset} (size {size}) returned {n}",
        buf.len()
    );
    Ok(n)
}

/// Walks the whole tree from the root within `b`.
pub fn walk<F: Filesystem>(fs: &F, device_sizes: &[u64], b: &Budget) -> Outcome {
    let mut o = Outcome::default();
    let mut seen_dirs = std::collections::HashSet::new();
    let mut stack = vec![(fs.root(), 0usize)];
    let mut visited = 0usize;
    let _ = fs.label();
    let _ = fs.bootstring();
    if fs.stat(fs.root()).is_err() {
        o.errors += 1;
    }
    while let Some((dir, depth)) = stack.pop() {
        // A corrupt image may link a directory twice (or into a cycle).
        if !seen_dirs.insert(dir) {
            continue;
        }
        let entries = match sdk::list_dir(fs, dir, b.max_dir_entries) {
            Ok(e) => e,
            Err(_) => {
                o.errors += 1;
                continue;
            }
        };
        o.dirs += 1;
        for e in entries {
            visited += 1;
            if visited > b.max_entries {
                return o;
            }
            // The ABI's record decoder refuses empty names and names with
            // '/' or NUL: a plugin listing one breaks the whole listing.
            assert!(
                !e.name.is_empty()
                    && e.name != b"."
                    && e.name != b".."
                    && !e.name.contains(&b'/')
                    && !e.name.contains(&0),
                "dir {dir}: listed bad name {:?}",
                e.name
            );
            if fs.lookup(dir, &e.name).is_err() {
                o.errors += 1;
            }
            let st = match fs.stat(e.id) {
                Ok(st) => st,
                Err(_) => {
                    o.errors += 1;
                    continue;
                }
            };
            match st.kind {
                FileKind::Dir => {
                    if depth < b.max_depth {
                        stack.push((e.id, depth + 1));
                    }
                    // Reading a directory as a file must be refused cleanly.
                    let _ = fs.read(e.id, 0, &mut [0u8; 16]);
                }
                FileKind::Symlink => {
                    o.symlinks += 1;
                    match fs.read_link(e.id) {
                        Ok(t) => o.bytes += t.len() as u64,
                        Err(_) => o.errors += 1,
                    }
                }
                FileKind::File => {
                    o.files += 1;
                    if o.bytes >= b.max_total_bytes {
                        continue;
                    }
                    let cap = st
                        .size
                        .min(b.max_file_bytes)
                        .min(b.max_total_bytes - o.bytes);
                    let mut buf = vec![0u8; cap as usize];
                    match checked_read(fs, e.id, st.size, 0, &mut buf) {
                        Ok(n) => o.bytes += n as u64,
                        Err(_) => o.errors += 1,
                    }
                    // The tail, through the offset arithmetic.
                    if st.size > cap {
                        let mut tail = [0u8; 512];
                        let at = st.size.saturating_sub(300);
                        if checked_read(fs, e.id, st.size, at, &mut tail).is_err() {
                            o.errors += 1;
                        }
                    }
                    for from in [0, st.size / 2] {
                        if check_extents(fs, e.id, from, st.size, device_sizes, b.max_extents)
                            .is_err()
                        {
                            o.errors += 1;
                        }
                    }
                }
                _ => {
                    let _ = fs.read(e.id, 0, &mut [0u8; 16]);
                }
            }
        }
    }
    o
}
