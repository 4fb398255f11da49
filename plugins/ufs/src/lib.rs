//! UFS plugin: a read-only reader for UFS1 and UFS2 (FFS) in both byte orders.
#![forbid(unsafe_code)]
