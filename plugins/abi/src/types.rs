//! The plain Rust values that plugin operations return.

/// What kind of object a directory entry or inode is.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Not known without a stat (e.g. ext2 without `filetype`).
    Unknown = 0,
    /// Regular file.
    File = 1,
    /// Directory.
    Dir = 2,
    /// Symbolic link.
    Symlink = 3,
    /// Character device.
    CharDevice = 4,
    /// Block device.
    BlockDevice = 5,
    /// Named pipe.
    Fifo = 6,
    /// Unix socket.
    Socket = 7,
}

impl FileKind {
    /// Decodes the ABI byte; anything unknown is [`FileKind::Unknown`].
    pub fn from_u8(v: u8) -> FileKind {
        match v {
            1 => FileKind::File,
            2 => FileKind::Dir,
            3 => FileKind::Symlink,
            4 => FileKind::CharDevice,
            5 => FileKind::BlockDevice,
            6 => FileKind::Fifo,
            7 => FileKind::Socket,
            _ => FileKind::Unknown,
        }
    }

    /// The kind encoded in the `S_IFMT` bits of a Unix mode.
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & 0o170000 {
            0o100000 => FileKind::File,
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Symlink,
            0o020000 => FileKind::CharDevice,
            0o060000 => FileKind::BlockDevice,
            0o010000 => FileKind::Fifo,
            0o140000 => FileKind::Socket,
            _ => FileKind::Unknown,
        }
    }

    /// The kind a BSD/Linux `DT_*` directory-entry type names
    /// (`IFTODT(mode)`: the `S_IFMT` bits shifted down by 12); 0
    /// (`DT_UNKNOWN`) and anything else unknown is [`FileKind::Unknown`].
    pub fn from_dt(dt: u8) -> FileKind {
        FileKind::from_mode(u32::from(dt) << 12)
    }
}

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds since 1970-01-01 UTC (may be negative).
    pub sec: i64,
    /// Nanoseconds, 0..1e9.
    pub nsec: u32,
}

/// What `stat` says of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The plugin's id of the object (inode or object number).
    pub ino: u64,
    /// Object kind.
    pub kind: FileKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u64,
    /// Size in bytes (symlinks: target length).
    pub size: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Device number for character and block devices.
    pub rdev: u64,
}

impl Stat {
    /// A stat with everything but id, kind and size zeroed.
    pub fn new(ino: u64, kind: FileKind, size: u64) -> Stat {
        Stat {
            ino,
            kind,
            perm: 0,
            uid: 0,
            gid: 0,
            nlink: 1,
            size,
            atime: Timespec::default(),
            mtime: Timespec::default(),
            ctime: Timespec::default(),
            rdev: 0,
        }
    }

    /// `st_mode`: kind bits plus permission bits.
    pub fn mode(&self) -> u32 {
        let fmt = match self.kind {
            FileKind::File => 0o100000,
            FileKind::Dir => 0o040000,
            FileKind::Symlink => 0o120000,
            FileKind::CharDevice => 0o020000,
            FileKind::BlockDevice => 0o060000,
            FileKind::Fifo => 0o010000,
            FileKind::Socket => 0o140000,
            FileKind::Unknown => 0,
        };
        fmt | (self.perm & 0o7777)
    }
}

/// Whether `name` can be one component of a path: not empty, and no `/`
/// or NUL (neither paths nor the ABI's directory records can carry those).
pub fn is_component(name: &[u8]) -> bool {
    !name.is_empty() && !name.iter().any(|&b| b == b'/' || b == 0)
}

/// Whether `name` can be a listed entry: a component other than `.` and
/// `..` (a directory listing never yields those).
pub fn is_entry_name(name: &[u8]) -> bool {
    is_component(name) && name != b"." && name != b".."
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name as stored (bytes, not necessarily UTF-8). Never `.` or `..`.
    pub name: Vec<u8>,
    /// Id to pass to `stat`, `read`, `lookup`...
    pub id: u64,
    /// Kind if the directory records it, else [`FileKind::Unknown`].
    pub kind: FileKind,
}

/// How the bytes of one extent are found.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentKind {
    /// Plain bytes on device `device` at `device_offset`.
    Data = 0,
    /// Reads as zeros (hole, unwritten extent).
    Zero = 1,
    /// Stored some other way (inline, tail, compressed): ask `read`.
    Opaque = 2,
}

/// A run of a file's bytes: `[file_offset, file_offset+length)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// First byte of the file covered.
    pub file_offset: u64,
    /// Number of bytes covered.
    pub length: u64,
    /// How to read them.
    pub kind: ExtentKind,
    /// Index into the devices the filesystem was mounted with ([`ExtentKind::Data`] only).
    pub device: u32,
    /// Byte offset on that device ([`ExtentKind::Data`] only).
    pub device_offset: u64,
}

impl Extent {
    /// `length` bytes from `file_offset` that lie as they are at
    /// `device_offset` of device 0.
    pub const fn data(file_offset: u64, length: u64, device_offset: u64) -> Extent {
        Extent {
            file_offset,
            length,
            kind: ExtentKind::Data,
            device: 0,
            device_offset,
        }
    }

    /// `length` bytes from `file_offset` that read as zeros (a hole).
    pub const fn zero(file_offset: u64, length: u64) -> Extent {
        Extent {
            file_offset,
            length,
            kind: ExtentKind::Zero,
            device: 0,
            device_offset: 0,
        }
    }

    /// `length` bytes from `file_offset` the core must `read` through the
    /// plugin (compressed, inline, replaced by the journal...).
    pub const fn opaque(file_offset: u64, length: u64) -> Extent {
        Extent {
            file_offset,
            length,
            kind: ExtentKind::Opaque,
            device: 0,
            device_offset: 0,
        }
    }
}
