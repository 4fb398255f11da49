//! Positional, bounds-checked byte sources.

use crate::error::{Error, Result};
use std::sync::Arc;

/// A read-only byte source read by position: no cursor, shareable between
/// threads. Image files, partition windows, a plugin's devices and fuzz
/// inputs all implement it.
pub trait ReadAt: Send + Sync {
    /// Size of the source in bytes.
    fn size(&self) -> u64;

    /// Fills all of `buf` from `offset`. A range that reaches past
    /// [`ReadAt::size`] is [`Error::OutOfBounds`], never a short read or zeros.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Reads `len` bytes at `offset` into a new vector. `len` is checked
    /// against the source size before anything is allocated, so a length
    /// taken from untrusted metadata cannot make it allocate without bound.
    fn read_vec_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        check_range(offset, len as u64, self.size())?;
        let mut v = vec![0u8; len];
        self.read_exact_at(offset, &mut v)?;
        Ok(v)
    }
}

/// Checks that `[offset, offset+len)` lies inside a source of `size` bytes.
pub fn check_range(offset: u64, len: u64, size: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::OutOfBounds { offset, len, size }),
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.len() as u64)?;
        // In range of a slice, so both casts fit in usize.
        let start = offset as usize;
        buf.copy_from_slice(&self[start..start + buf.len()]);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.as_slice().read_exact_at(offset, buf)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_exact_at(offset, buf)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Box<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_exact_at(offset, buf)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Arc<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_exact_at(offset, buf)
    }
}

/// The byte range `[start, start+len)` of another source, seen as a source of
/// its own: reads are checked against the window, so a partition can never
/// read past its end.
#[derive(Debug, Clone)]
pub struct Window<R> {
    inner: R,
    start: u64,
    len: u64,
}

impl<R: ReadAt> Window<R> {
    /// A window over `inner`; fails if the window does not lie inside it.
    pub fn new(inner: R, start: u64, len: u64) -> Result<Self> {
        check_range(start, len, inner.size())?;
        Ok(Window { inner, start, len })
    }

    /// Where the window starts in the underlying source.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The underlying source.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: ReadAt> ReadAt for Window<R> {
    fn size(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.len)?;
        // Cannot overflow: start + len was checked in `new`.
        self.inner.read_exact_at(self.start + offset, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_errors() {
        let data: Vec<u8> = (0..100).collect();
        let mut b = [0u8; 10];
        assert!(data.read_exact_at(90, &mut b).is_ok());
        assert_eq!(b[0], 90);
        assert!(matches!(
            data.read_exact_at(91, &mut b),
            Err(Error::OutOfBounds { offset: 91, .. })
        ));
        assert!(data.read_exact_at(u64::MAX - 3, &mut b).is_err());
        assert!(data.read_vec_at(0, usize::MAX).is_err());
    }

    #[test]
    fn windows_are_bounded() {
        let data: Vec<u8> = (0..100).collect();
        let w = Window::new(&data, 10, 20).unwrap();
        let mut b = [0u8; 5];
        w.read_exact_at(15, &mut b).unwrap();
        assert_eq!(b, [25, 26, 27, 28, 29]);
        assert!(w.read_exact_at(16, &mut b).is_err());
        assert!(Window::new(&data, 90, 11).is_err());
        assert!(Window::new(&data, u64::MAX, 2).is_err());
    }
}
