//! A mounted filesystem: path walking, symlinks, files, directories.
//!
//! Paths are byte strings as stored on disk (names need not be UTF-8),
//! `/`-separated and taken from the filesystem root whether or not they start
//! with `/`. Symlinks are followed inside the filesystem (at most
//! [`MAX_SYMLINK_HOPS`]); `..` never climbs above the root.

use crate::error::{Error, Result};
use crate::plugin::{self, EXTENT_CHUNK, Mount};
use fsimage_abi::raw::COOKIE_EOF;
use fsimage_abi::{self as abi, Extent, ExtentKind, FileKind, ReadAt, Stat, Timespec};
use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Symlinks followed while resolving one path (as Linux's MAXSYMLINKS).
pub const MAX_SYMLINK_HOPS: usize = 40;
/// Components handled while resolving one path, symlink expansions included.
pub const MAX_PATH_COMPONENTS: usize = 65536;
/// Entries one directory listing may yield.
pub const MAX_DIR_ENTRIES: u64 = 50_000_000;

pub(crate) struct FsInner {
    pub(crate) image: PathBuf,
    pub(crate) mount: Box<dyn Mount>,
    /// The host's own view of the devices the plugin was given, for reading
    /// plain extents directly.
    pub(crate) devices: Vec<Arc<dyn ReadAt>>,
    pub(crate) device_sizes: Vec<u64>,
    pub(crate) root: u64,
    /// Byte offset of the filesystem in the image.
    pub(crate) offset: u64,
    /// Partition id it was found in, if any.
    pub(crate) partition: Option<String>,
    /// How it was chosen (root choice rule, explicit offset...).
    pub(crate) chosen_by: String,
}

/// A mounted, read-only filesystem. Cheap to clone; `Send + Sync`, so one
/// image can be read from several threads at once.
#[derive(Clone)]
pub struct Filesystem {
    inner: Arc<FsInner>,
}

impl std::fmt::Debug for Filesystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filesystem")
            .field("image", &self.inner.image)
            .field("fs", &self.inner.mount.fs_name())
            .field("offset", &self.inner.offset)
            .finish()
    }
}

fn lossy(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

impl Filesystem {
    pub(crate) fn new(inner: FsInner) -> Filesystem {
        Filesystem {
            inner: Arc::new(inner),
        }
    }

    fn err(&self, path: &[u8], source: abi::Error) -> Error {
        Error::Fs {
            image: self.inner.image.clone(),
            fs: self.inner.mount.fs_name().to_owned(),
            path: lossy(path),
            source,
        }
    }

    /// Filesystem type, e.g. `ext2` (the plugin's name).
    pub fn fs_type(&self) -> &str {
        self.inner.mount.fs_name()
    }

    /// The image file.
    pub fn image_path(&self) -> &Path {
        &self.inner.image
    }

    /// Byte offset of the filesystem in the image.
    pub fn offset(&self) -> u64 {
        self.inner.offset
    }

    /// Id of the partition the filesystem is in, if it was found in one.
    pub fn partition(&self) -> Option<&str> {
        self.inner.partition.as_deref()
    }

    /// How the filesystem was chosen (which root-choice rule, or the offset
    /// or partition given).
    pub fn chosen_by(&self) -> &str {
        &self.inner.chosen_by
    }

    /// The volume label, if the filesystem has one.
    pub fn label(&self) -> Result<Option<Vec<u8>>> {
        self.inner.mount.label().map_err(|e| self.err(b"", e))
    }

    /// The boot string (ZFS: `zfs-bootfs=pool/objnum,bootpath=...`), if any.
    pub fn bootstring(&self) -> Result<Option<Vec<u8>>> {
        self.inner.mount.bootstring().map_err(|e| self.err(b"", e))
    }

    /// Resolves `path` to an object id. With `follow_last`, a final symlink
    /// is followed too.
    fn resolve(&self, path: &[u8], follow_last: bool) -> Result<u64> {
        let m = &*self.inner.mount;
        let e = |src| self.err(path, src);
        let mut stack: Vec<u64> = vec![self.inner.root];
        let mut todo: VecDeque<Vec<u8>> = split(path).collect();
        let (mut hops, mut steps) = (0usize, 0usize);
        while let Some(comp) = todo.pop_front() {
            steps += 1;
            if steps > MAX_PATH_COMPONENTS {
                return Err(e(abi::Error::limit(format!(
                    "path components ({MAX_PATH_COMPONENTS})"
                ))));
            }
            if comp == b".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            let dir = *stack.last().unwrap_or(&self.inner.root);
            let id = m.lookup(dir, &comp).map_err(e)?;
            let last = todo.is_empty();
            let st = m.stat(id).map_err(e)?;
            match st.kind {
                FileKind::Symlink if !last || follow_last => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(e(abi::Error::limit(format!(
                            "symlink hops ({MAX_SYMLINK_HOPS})"
                        ))));
                    }
                    let target = m.read_link(id).map_err(e)?;
                    if target.first() == Some(&b'/') {
                        stack.truncate(1);
                    }
                    for c in split(&target).rev() {
                        todo.push_front(c);
                    }
                    if todo.is_empty() {
                        // A link to "/" or "." resolves to the current directory.
                        return Ok(*stack.last().unwrap_or(&self.inner.root));
                    }
                }
                _ if last => return Ok(id),
                FileKind::Dir => stack.push(id),
                _ => return Err(e(abi::Error::NotADirectory)),
            }
        }
        Ok(*stack.last().unwrap_or(&self.inner.root))
    }

    /// Metadata of `path`, following a final symlink.
    pub fn metadata(&self, path: impl AsRef<[u8]>) -> Result<Metadata> {
        let path = path.as_ref();
        let id = self.resolve(path, true)?;
        self.stat_id(path, id)
    }

    /// Metadata of `path` itself, even if it is a symlink.
    pub fn symlink_metadata(&self, path: impl AsRef<[u8]>) -> Result<Metadata> {
        let path = path.as_ref();
        let id = self.resolve(path, false)?;
        self.stat_id(path, id)
    }

    fn stat_id(&self, path: &[u8], id: u64) -> Result<Metadata> {
        let st = self.inner.mount.stat(id).map_err(|e| self.err(path, e))?;
        Ok(Metadata(st))
    }

    /// Whether `path` exists (following symlinks).
    pub fn exists(&self, path: impl AsRef<[u8]>) -> bool {
        self.metadata(path).is_ok()
    }

    /// A symlink's target.
    pub fn read_link(&self, path: impl AsRef<[u8]>) -> Result<Vec<u8>> {
        let path = path.as_ref();
        let id = self.resolve(path, false)?;
        self.inner
            .mount
            .read_link(id)
            .map_err(|e| self.err(path, e))
    }

    /// Opens a regular file (symlinks followed) for reading.
    pub fn open(&self, path: impl AsRef<[u8]>) -> Result<File> {
        let path = path.as_ref();
        let id = self.resolve(path, true)?;
        let st = self.inner.mount.stat(id).map_err(|e| self.err(path, e))?;
        match st.kind {
            FileKind::Dir => return Err(self.err(path, abi::Error::IsADirectory)),
            FileKind::File => {}
            _ => return Err(self.err(path, abi::Error::invalid("not a regular file"))),
        }
        Ok(File {
            fs: self.clone(),
            path: path.to_vec(),
            id,
            size: st.size,
            pos: 0,
            map: Mutex::new(ExtentCache::default()),
        })
    }

    /// Reads a whole file into memory, refusing files larger than
    /// [`READ_ALL_LIMIT`]. The size is what the image claims, so memory
    /// grows with what is actually read, never with the claim alone; still,
    /// a sparse file of the limit's size reads as that many zeros. For
    /// larger files, or a tighter bound, [`Filesystem::open`] and
    /// [`File::read_at`] in chunks.
    pub fn read(&self, path: impl AsRef<[u8]>) -> Result<Vec<u8>> {
        self.read_limited(path, READ_ALL_LIMIT)
    }

    /// [`Filesystem::read`] with another size limit, in bytes.
    pub fn read_limited(&self, path: impl AsRef<[u8]>, limit: u64) -> Result<Vec<u8>> {
        let path = path.as_ref();
        let f = self.open(path)?;
        if f.size > limit {
            return Err(self.err(
                path,
                abi::Error::limit(format!(
                    "file of {} bytes is larger than the read limit ({limit} bytes); read it in chunks",
                    f.size
                )),
            ));
        }
        let too_big = |what: u64| {
            self.err(
                path,
                abi::Error::limit(format!("cannot allocate {what} bytes")),
            )
        };
        let size = usize::try_from(f.size).map_err(|_| too_big(f.size))?;
        let mut buf = Vec::new();
        let mut off = 0usize;
        while off < size {
            let want = (size - off).min(READ_ALL_CHUNK);
            buf.try_reserve(want).map_err(|_| too_big(f.size))?;
            buf.resize(off + want, 0);
            let n = f.read_at(off as u64, &mut buf[off..])?;
            off += n;
            buf.truncate(off);
            if n == 0 {
                break;
            }
        }
        Ok(buf)
    }

    /// Lists a directory (symlinks followed), streaming: entries are fetched
    /// from the plugin in chunks as the iterator advances.
    pub fn read_dir(&self, path: impl AsRef<[u8]>) -> Result<ReadDir> {
        let path = path.as_ref();
        let id = self.resolve(path, true)?;
        let st = self.inner.mount.stat(id).map_err(|e| self.err(path, e))?;
        if st.kind != FileKind::Dir {
            return Err(self.err(path, abi::Error::NotADirectory));
        }
        Ok(ReadDir {
            fs: self.clone(),
            path: path.to_vec(),
            dir: id,
            cookie: 0,
            pending: VecDeque::new(),
            done: false,
            yielded: 0,
            empty_chunks: 0,
        })
    }
}

/// Largest file [`Filesystem::read`] reads whole (4 GiB).
pub const READ_ALL_LIMIT: u64 = 4 << 30;
/// Bytes [`Filesystem::read`] adds to its buffer at a time, so memory
/// follows the data read rather than the size claimed.
const READ_ALL_CHUNK: usize = 64 << 20;

/// Splits a path into owned components, dropping empty ones and `.`.
fn split(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
}

/// Metadata of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata(pub Stat);

impl Metadata {
    /// Object kind.
    pub fn kind(&self) -> FileKind {
        self.0.kind
    }
    /// Regular file?
    pub fn is_file(&self) -> bool {
        self.0.kind == FileKind::File
    }
    /// Directory?
    pub fn is_dir(&self) -> bool {
        self.0.kind == FileKind::Dir
    }
    /// Symbolic link?
    pub fn is_symlink(&self) -> bool {
        self.0.kind == FileKind::Symlink
    }
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.0.size
    }
    /// Size zero?
    pub fn is_empty(&self) -> bool {
        self.0.size == 0
    }
    /// Permission bits (`st_mode & 0o7777`).
    pub fn permissions(&self) -> u32 {
        self.0.perm
    }
    /// Full `st_mode`.
    pub fn mode(&self) -> u32 {
        self.0.mode()
    }
    /// Inode / object number.
    pub fn ino(&self) -> u64 {
        self.0.ino
    }
    /// Owner.
    pub fn uid(&self) -> u32 {
        self.0.uid
    }
    /// Group.
    pub fn gid(&self) -> u32 {
        self.0.gid
    }
    /// Link count.
    pub fn nlink(&self) -> u64 {
        self.0.nlink
    }
    /// Modification time.
    pub fn mtime(&self) -> Timespec {
        self.0.mtime
    }
    /// Access time.
    pub fn atime(&self) -> Timespec {
        self.0.atime
    }
    /// Change time.
    pub fn ctime(&self) -> Timespec {
        self.0.ctime
    }
}

/// One entry of a directory listing.
#[derive(Clone)]
pub struct DirEntry {
    fs: Filesystem,
    entry: abi::DirEntry,
}

impl std::fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirEntry")
            .field("name", &lossy(&self.entry.name))
            .field("kind", &self.entry.kind)
            .field("id", &self.entry.id)
            .finish()
    }
}

impl DirEntry {
    /// The name as stored.
    pub fn name(&self) -> &[u8] {
        &self.entry.name
    }
    /// The kind recorded in the directory (may be `Unknown`; see [`DirEntry::metadata`]).
    pub fn kind(&self) -> FileKind {
        self.entry.kind
    }
    /// The object id.
    pub fn ino(&self) -> u64 {
        self.entry.id
    }
    /// The entry's own metadata (a symlink is not followed).
    pub fn metadata(&self) -> Result<Metadata> {
        self.fs.stat_id(&self.entry.name, self.entry.id)
    }
}

/// Iterator over a directory's entries (without `.` and `..`).
pub struct ReadDir {
    fs: Filesystem,
    path: Vec<u8>,
    dir: u64,
    cookie: u64,
    pending: VecDeque<abi::DirEntry>,
    done: bool,
    yielded: u64,
    empty_chunks: u32,
}

impl std::fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &lossy(&self.path))
            .field("cookie", &self.cookie)
            .finish()
    }
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                self.yielded += 1;
                if self.yielded > MAX_DIR_ENTRIES {
                    self.done = true;
                    self.pending.clear();
                    let lim = abi::Error::limit(format!("directory entries ({MAX_DIR_ENTRIES})"));
                    return Some(Err(self.fs.err(&self.path, lim)));
                }
                return Some(Ok(DirEntry {
                    fs: self.fs.clone(),
                    entry,
                }));
            }
            if self.done {
                return None;
            }
            let mut chunk = Vec::new();
            match self
                .fs
                .inner
                .mount
                .read_dir(self.dir, self.cookie, &mut chunk)
            {
                Ok(next) => {
                    // A plugin that keeps answering with nothing is not
                    // making progress; do not spin on it.
                    if chunk.is_empty() && next != COOKIE_EOF {
                        self.empty_chunks += 1;
                        if self.empty_chunks > 1024 {
                            self.done = true;
                            let c = abi::Error::corrupt("directory listing makes no progress");
                            return Some(Err(self.fs.err(&self.path, c)));
                        }
                    } else {
                        self.empty_chunks = 0;
                    }
                    self.cookie = next;
                    self.done = next == COOKIE_EOF;
                    self.pending.extend(chunk);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.fs.err(&self.path, e)));
                }
            }
        }
    }
}

#[derive(Default)]
struct ExtentCache {
    /// The map could not be had (plugin has none): always use `read`.
    unmapped: bool,
    extents: Vec<Extent>,
}

impl ExtentCache {
    fn find(&self, off: u64) -> Option<Extent> {
        let i = self
            .extents
            .partition_point(|e| e.file_offset + e.length <= off);
        self.extents
            .get(i)
            .copied()
            .filter(|e| e.file_offset <= off)
    }
}

/// An open regular file: `Read + Seek`, plus positional reads through
/// [`File::read_at`] that several threads may issue at once.
///
/// Plain data is read straight from the image through the plugin's extent
/// map (checked against the partition before use); holes are zeros; data
/// stored any other way is read through the plugin.
pub struct File {
    fs: Filesystem,
    path: Vec<u8>,
    id: u64,
    size: u64,
    pos: u64,
    map: Mutex<ExtentCache>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &lossy(&self.path))
            .field("size", &self.size)
            .field("pos", &self.pos)
            .finish()
    }
}

impl File {
    /// File size in bytes.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Size zero?
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Reads at `offset` without moving the cursor; fills `buf` unless the
    /// end of the file comes first. Returns the number of bytes read.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = (self.size - offset).min(buf.len() as u64) as usize;
        let buf = &mut buf[..want];
        let mut done = 0usize;
        while done < want {
            let cur = offset + done as u64;
            let ext = match self.extent_at(cur)? {
                Some(e) => e,
                None => {
                    // No map: the plugin reads the rest.
                    let n = self.read_via_plugin(cur, &mut buf[done..])?;
                    done += n;
                    break;
                }
            };
            let within = cur - ext.file_offset;
            let n = (ext.length - within).min((want - done) as u64) as usize;
            let chunk = &mut buf[done..done + n];
            match ext.kind {
                ExtentKind::Zero => chunk.fill(0),
                ExtentKind::Opaque => {
                    let got = self.read_via_plugin(cur, chunk)?;
                    if got != n {
                        return Err(self.fs.err(
                            &self.path,
                            abi::Error::corrupt("short read inside the file"),
                        ));
                    }
                }
                ExtentKind::Data => {
                    let dev = self
                        .fs
                        .inner
                        .devices
                        .get(ext.device as usize)
                        .ok_or_else(|| {
                            self.fs.err(
                                &self.path,
                                abi::Error::corrupt("extent on an unknown device"),
                            )
                        })?;
                    dev.read_exact_at(ext.device_offset + within, chunk)
                        .map_err(|e| self.fs.err(&self.path, e))?;
                }
            }
            done += n;
        }
        Ok(done)
    }

    fn read_via_plugin(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let end = buf.len().min(done.saturating_add(plugin::READ_CHUNK));
            let n = self
                .fs
                .inner
                .mount
                .read(self.id, offset + done as u64, &mut buf[done..end])
                .map_err(|e| self.fs.err(&self.path, e))?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    /// The extent holding byte `off`, fetching the next batch if needed;
    /// `None` when the plugin has no extent maps.
    fn extent_at(&self, off: u64) -> Result<Option<Extent>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.unmapped {
            return Ok(None);
        }
        if let Some(e) = map.find(off) {
            return Ok(Some(e));
        }
        let inner = &self.fs.inner;
        match inner.mount.extents(self.id, off, EXTENT_CHUNK) {
            Ok(ext) if ext.is_empty() => Err(self.fs.err(
                &self.path,
                abi::Error::corrupt(format!("extent map ends before the file size at {off}")),
            )),
            Ok(ext) => {
                plugin::check_extents(&ext, off, self.size, &inner.device_sizes)
                    .map_err(|e| self.fs.err(&self.path, e))?;
                map.extents = ext;
                Ok(map.find(off))
            }
            Err(abi::Error::Unsupported(_)) => {
                map.unmapped = true;
                Ok(None)
            }
            Err(e) => Err(self.fs.err(&self.path, e)),
        }
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.read_at(self.pos, buf).map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )),
        }
    }
}
