//! The contract between the fsimage core and its filesystem plugins.
//!
//! * [`io`]: [`ReadAt`], the one trait every byte source sits on (image files,
//!   partition windows, a plugin's devices, fuzz inputs).
//! * [`budget`]: the per-operation step and time budget every entry point
//!   runs under.
//! * [`Error`]: what a plugin can say went wrong; it crosses the ABI as a code
//!   plus a message.
//! * [`raw`]: the `#[repr(C)]` vtable and structures of the binary ABI.
//! * [`sdk`]: the safe side for plugin authors: implement [`Filesystem`], call
//!   [`export_plugin!`].
//!
//! The ABI is versioned like a prefix type: the plugin's vtable starts with a
//! magic, the ABI major/minor version and its own size, so a core can refuse an
//! unknown major and treat entries past the plugin's size as absent.

pub mod budget;
pub mod error;
pub mod io;
pub mod raw;
pub mod sdk;
pub mod types;

pub use error::{Error, ErrorCode, Result};
pub use io::{ReadAt, Window};
pub use sdk::{Device, DirSink, ExtentSink, Filesystem};
pub use types::{
    DirEntry, Extent, ExtentKind, FileKind, Stat, Timespec, is_component, is_entry_name,
};
