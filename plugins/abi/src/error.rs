//! Errors a plugin (or a byte source) reports.

use std::fmt;

/// Result alias used across plugins and the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a plugin sees it. Crosses the ABI as ([`ErrorCode`],
/// message); `Error::from_code` rebuilds the same variant on the other side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The path or name does not exist.
    #[error("no such file or directory")]
    NotFound,
    /// A path component that must be a directory is not one.
    #[error("not a directory")]
    NotADirectory,
    /// The operation needs a file and got a directory.
    #[error("is a directory")]
    IsADirectory,
    /// `read_link` on something that is not a symbolic link.
    #[error("not a symbolic link")]
    NotASymlink,
    /// The image is not this plugin's filesystem at all.
    #[error("not recognised: {0}")]
    NotRecognized(String),
    /// An on-disk structure is inconsistent; the text names the structure.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// The filesystem uses a feature this reader refuses; the text names it.
    #[error("unsupported {0}")]
    Unsupported(String),
    /// A read of the underlying bytes failed.
    #[error("I/O error: {0}")]
    Io(String),
    /// A read ran past the end of its byte source.
    #[error("read of {len} bytes at offset {offset} is past the end ({size} bytes)")]
    OutOfBounds {
        /// First byte asked for.
        offset: u64,
        /// Number of bytes asked for.
        len: u64,
        /// Size of the source.
        size: u64,
    },
    /// A safety limit was hit; the text names the limit.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The caller passed something meaningless (bad option, bad id).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The caller's buffer cannot hold even one result; `needed` bytes would.
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: u64,
    },
}

/// Numeric error codes of the binary ABI. Values are fixed forever.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No error.
    Ok = 0,
    /// [`Error::NotFound`]
    NotFound = 1,
    /// [`Error::NotADirectory`]
    NotADirectory = 2,
    /// [`Error::IsADirectory`]
    IsADirectory = 3,
    /// [`Error::NotASymlink`]
    NotASymlink = 4,
    /// [`Error::NotRecognized`]
    NotRecognized = 5,
    /// [`Error::Corrupt`]
    Corrupt = 6,
    /// [`Error::Unsupported`]
    Unsupported = 7,
    /// [`Error::Io`]
    Io = 8,
    /// [`Error::OutOfBounds`] (message carries the numbers)
    OutOfBounds = 9,
    /// [`Error::Limit`]
    Limit = 10,
    /// [`Error::InvalidArgument`]
    InvalidArgument = 11,
    /// [`Error::BufferTooSmall`] (the needed size travels in the out-length)
    BufferTooSmall = 12,
}

impl ErrorCode {
    /// Decodes a code received from the other side of the ABI; unknown codes
    /// (from a newer plugin) become `Io` so they are never mistaken for success.
    pub fn from_u32(v: u32) -> ErrorCode {
        use ErrorCode::*;
        match v {
            0 => Ok,
            1 => NotFound,
            2 => NotADirectory,
            3 => IsADirectory,
            4 => NotASymlink,
            5 => NotRecognized,
            6 => Corrupt,
            7 => Unsupported,
            8 => Io,
            9 => OutOfBounds,
            10 => Limit,
            11 => InvalidArgument,
            12 => BufferTooSmall,
            _ => Io,
        }
    }
}

impl Error {
    /// Shorthand for [`Error::Corrupt`].
    pub fn corrupt(msg: impl fmt::Display) -> Error {
        Error::Corrupt(msg.to_string())
    }
    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(feature: impl fmt::Display) -> Error {
        Error::Unsupported(feature.to_string())
    }
    /// Shorthand for [`Error::Limit`].
    pub fn limit(what: impl fmt::Display) -> Error {
        Error::Limit(what.to_string())
    }
    /// Shorthand for [`Error::NotRecognized`].
    pub fn not_recognized(why: impl fmt::Display) -> Error {
        Error::NotRecognized(why.to_string())
    }
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl fmt::Display) -> Error {
        Error::InvalidArgument(msg.to_string())
    }

    /// The ABI code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound => ErrorCode::NotFound,
            Error::NotADirectory => ErrorCode::NotADirectory,
            Error::IsADirectory => ErrorCode::IsADirectory,
            Error::NotASymlink => ErrorCode::NotASymlink,
            Error::NotRecognized(_) => ErrorCode::NotRecognized,
            Error::Corrupt(_) => ErrorCode::Corrupt,
            Error::Unsupported(_) => ErrorCode::Unsupported,
            Error::Io(_) => ErrorCode::Io,
            Error::OutOfBounds { .. } => ErrorCode::OutOfBounds,
            Error::Limit(_) => ErrorCode::Limit,
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::BufferTooSmall { .. } => ErrorCode::BufferTooSmall,
        }
    }

    /// The detail text that travels with the code (empty for unit variants).
    pub fn detail(&self) -> String {
        match self {
            Error::NotRecognized(s)
            | Error::Corrupt(s)
            | Error::Unsupported(s)
            | Error::Io(s)
            | Error::Limit(s)
            | Error::InvalidArgument(s) => s.clone(),
            Error::OutOfBounds { offset, len, size } => format!("{offset} {len} {size}"),
            Error::BufferTooSmall { needed } => needed.to_string(),
            _ => String::new(),
        }
    }

    /// Rebuilds an error from its ABI code and detail text.
    pub fn from_code(code: ErrorCode, detail: &str) -> Error {
        match code {
            ErrorCode::Ok | ErrorCode::Io => Error::Io(detail.to_owned()),
            ErrorCode::NotFound => Error::NotFound,
            ErrorCode::NotADirectory => Error::NotADirectory,
            ErrorCode::IsADirectory => Error::IsADirectory,
            ErrorCode::NotASymlink => Error::NotASymlink,
            ErrorCode::NotRecognized => Error::NotRecognized(detail.to_owned()),
            ErrorCode::Corrupt => Error::Corrupt(detail.to_owned()),
            ErrorCode::Unsupported => Error::Unsupported(detail.to_owned()),
            ErrorCode::Limit => Error::Limit(detail.to_owned()),
            ErrorCode::InvalidArgument => Error::InvalidArgument(detail.to_owned()),
            ErrorCode::OutOfBounds => {
                let mut it = detail.split(' ').map(|s| s.parse::<u64>().unwrap_or(0));
                Error::OutOfBounds {
                    offset: it.next().unwrap_or(0),
                    len: it.next().unwrap_or(0),
                    size: it.next().unwrap_or(0),
                }
            }
            ErrorCode::BufferTooSmall => Error::BufferTooSmall {
                needed: detail.parse().unwrap_or(0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_survives_the_abi_round_trip() {
        let all = [
            Error::NotFound,
            Error::NotADirectory,
            Error::IsADirectory,
            Error::NotASymlink,
            Error::not_recognized("no magic"),
            Error::corrupt("inode 12: extent depth 9 > 5"),
            Error::unsupported("encrypt"),
            Error::Io("short read".into()),
            Error::OutOfBounds {
                offset: 10,
                len: 20,
                size: 25,
            },
            Error::limit("symlink hops (40)"),
            Error::invalid("bad option"),
            Error::BufferTooSmall { needed: 300 },
        ];
        for e in all {
            let code = ErrorCode::from_u32(e.code() as u32);
            assert_eq!(Error::from_code(code, &e.detail()), e);
        }
    }

    #[test]
    fn unknown_codes_are_errors_not_success() {
        assert_eq!(ErrorCode::from_u32(9999), ErrorCode::Io);
    }
}
