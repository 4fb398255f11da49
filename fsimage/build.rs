//! Link settings for the C library (`libfsimage.so`): on Linux, a SONAME and
//! a GNU version script whose node, `libfsimage.so.1.0`, is the one Xen's
//! libfsimage used, so binaries built against that library load ours.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/capi/libfsimage.map");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
        // rustc passes its own (anonymous) version script too; the node is
        // attached to each symbol by `.symver` in src/capi/mod.rs, and this
        // script only has to define it.
        println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/src/capi/libfsimage.map");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfsimage.so.1.0");
    }
}
