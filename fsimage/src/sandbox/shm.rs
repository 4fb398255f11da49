//! The shared memory window between the host and one worker (Linux).
//!
//! Bulk bytes skip the socket: the host puts the device bytes a worker asked
//! for in the first half ([`IN`]) and answers SOURCE_DATA_SHM; the worker
//! puts READ results in the second half ([`OUT`]) and answers OK_SHM. The
//! socket still carries every message, so the halves are used strictly in
//! turn. The worker may scribble on the window at any time: the host only
//! writes device bytes into it and copies READ bytes out of it, and takes
//! nothing it reads there but as file data (lengths come from the checked
//! messages).

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// Bytes of each half: the largest READ and device read.
pub const HALF: usize = super::protocol::MAX_READ as usize;
/// Where the host puts device bytes for the worker.
pub const IN: usize = 0;
/// Where the worker puts READ results for the host.
pub const OUT: usize = HALF;
/// The whole window.
pub const LEN: usize = 2 * HALF;

/// A `memfd` of [`LEN`] bytes, mapped shared.
pub(crate) struct Shm {
    ptr: NonNull<u8>,
    fd: OwnedFd,
}

// SAFETY: the mapping is plain memory, reachable only through `fill_in` and
// `copy_out`, which the owner calls under its I/O lock.
unsafe impl Send for Shm {}
// SAFETY: as above.
unsafe impl Sync for Shm {}

impl Shm {
    /// No window: memfds are Linux's.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new() -> Option<Shm> {
        None
    }

    /// A new window, or `None` where memfds or the mapping are refused.
    #[cfg(target_os = "linux")]
    pub(crate) fn new() -> Option<Shm> {
        // SAFETY: memfd_create with a static NUL-terminated name; the result
        // is a new descriptor we own, or -1.
        let raw = unsafe { libc::memfd_create(c"fsimage-sandbox".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return None;
        }
        // SAFETY: `raw` is a descriptor just returned to us and owned by no
        // one else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let file = std::fs::File::from(fd);
        file.set_len(LEN as u64).ok()?;
        let fd = OwnedFd::from(file);
        // SAFETY: a fresh shared mapping of a descriptor we hold, of the
        // length we just gave the file; the result is checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(Shm {
            ptr: NonNull::new(p.cast())?,
            fd,
        })
    }

    /// The descriptor, to hand to the worker.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Lets `fill` write the first `len` bytes of the first half ([`IN`]),
    /// for the worker to read; `len` is at most [`HALF`].
    pub(crate) fn fill_in<E>(
        &self,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let len = len.min(HALF);
        // SAFETY: `IN + len <= HALF <= LEN`, inside our mapping, and no
        // other reference into it exists on our side (the owner calls this
        // under its I/O lock). The worker asked for these bytes and waits
        // for them; were it to write here meanwhile, it would only spoil
        // the bytes it gets: `fill` only writes, and we never read them.
        let buf = unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(IN), len) };
        fill(buf)
    }

    /// Copies `dst.len()` bytes out of the window from `at`; false if the
    /// range is not inside it.
    pub(crate) fn copy_out(&self, at: usize, dst: &mut [u8]) -> bool {
        if at.checked_add(dst.len()).is_none_or(|end| end > LEN) {
            return false;
        }
        // SAFETY: `at + dst.len() <= LEN`, inside our mapping; `dst` is our
        // own memory, so the ranges cannot overlap. The worker may change
        // these bytes while we copy; they are only file data to us.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(at), dst.as_mut_ptr(), dst.len())
        };
        true
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping `new` made; no reference
        // into it outlives `self` (all access copies).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), LEN) };
    }
}
