//! Read-only ISO 9660 reader (work in progress).
#![forbid(unsafe_code)]
