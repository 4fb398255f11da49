//! The core's error type: which image, which path, what was wrong.

use crate::plugin::LoadError;
use std::path::PathBuf;

/// Result alias for the core API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong opening and reading an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image file could not be opened or read.
    #[error("{image}: {source}")]
    Open {
        /// Image path.
        image: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The partition table is unreadable, or the partition asked for is
    /// missing or unusable.
    #[error("{image}: {source}")]
    Disk {
        /// Image path.
        image: PathBuf,
        /// What the disk layer said.
        source: crate::disk::DiskError,
    },
    /// The offset or window asked for lies outside the image.
    #[error("{image}: {source}")]
    Window {
        /// Image path.
        image: PathBuf,
        /// The bounds error.
        source: fsimage_abi::Error,
    },
    /// No plugin could be loaded at all.
    #[error("no fsimage plugins found (searched: {searched})")]
    NoPlugins {
        /// Directories searched, colon-separated.
        searched: String,
    },
    /// `--fs NAME` named a filesystem no loaded plugin reads.
    #[error("no plugin for filesystem {name:?} (loaded: {loaded})")]
    UnknownFilesystem {
        /// The name asked for.
        name: String,
        /// Loaded plugin names.
        loaded: String,
    },
    /// A plugin file could not be loaded.
    #[error("plugin {file}: {source}")]
    PluginLoad {
        /// The plugin file.
        file: PathBuf,
        /// Why.
        source: LoadError,
    },
    /// No plugin recognised the filesystem.
    #[error("{image}: no filesystem recognised at offset {offset}{tried}")]
    NotRecognized {
        /// Image path.
        image: PathBuf,
        /// Byte offset of the window probed.
        offset: u64,
        /// What each plugin that tried said (`; ext2: ...`), may be empty.
        tried: String,
    },
    /// A plugin refused or failed an operation.
    #[error("{image}: {fs}: {}{source}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Fs {
        /// Image path.
        image: PathBuf,
        /// Filesystem (plugin) name.
        fs: String,
        /// Path inside the filesystem, lossily decoded (may be empty).
        path: String,
        /// What the plugin said.
        source: fsimage_abi::Error,
    },
    /// The sandbox worker failed (crash, timeout, protocol violation).
    #[error("{image}: plugin {fs} {what}")]
    Sandbox {
        /// Image path.
        image: PathBuf,
        /// Plugin name.
        fs: String,
        /// What happened ("crashed (SIGSEGV)", "timed out after 5 s").
        what: String,
    },
}

/// Broad classes of [`Error`], e.g. to choose an errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such file, partition or directory entry.
    NotFound,
    /// A path component is not a directory.
    NotADirectory,
    /// Expected a file, found a directory.
    IsADirectory,
    /// Not a symlink.
    InvalidInput,
    /// Nothing recognises the image, or a feature is unsupported.
    Unsupported,
    /// Corrupt or unreadable data, crashed worker.
    Io,
    /// A safety limit was hit.
    Limit,
}

impl Error {
    /// The plugin error underneath, if any.
    pub fn fs_error(&self) -> Option<&fsimage_abi::Error> {
        match self {
            Error::Fs { source, .. } | Error::Window { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        use fsimage_abi::Error as A;
        match self {
            Error::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            Error::Open { .. } => ErrorKind::Io,
            Error::Disk { source, .. } => match source {
                crate::disk::DiskError::NoSuchPartition(_) => ErrorKind::NotFound,
                crate::disk::DiskError::InvalidPartition { .. } => ErrorKind::InvalidInput,
                crate::disk::DiskError::NoRoot(_) => ErrorKind::Unsupported,
                _ => ErrorKind::Io,
            },
            Error::Sandbox { .. } => ErrorKind::Io,
            Error::Window { .. } => ErrorKind::InvalidInput,
            Error::NoPlugins { .. }
            | Error::UnknownFilesystem { .. }
            | Error::PluginLoad { .. }
            | Error::NotRecognized { .. } => ErrorKind::Unsupported,
            Error::Fs { source, .. } => match source {
                A::NotFound => ErrorKind::NotFound,
                A::NotADirectory => ErrorKind::NotADirectory,
                A::IsADirectory => ErrorKind::IsADirectory,
                A::NotASymlink | A::InvalidArgument(_) | A::BufferTooSmall { .. } => {
                    ErrorKind::InvalidInput
                }
                A::Unsupported(_) | A::NotRecognized(_) => ErrorKind::Unsupported,
                A::Limit(_) => ErrorKind::Limit,
                A::Corrupt(_) | A::Io(_) | A::OutOfBounds { .. } => ErrorKind::Io,
            },
        }
    }
}
