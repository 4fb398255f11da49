//! fsimage: read files out of untrusted disk and filesystem images.
