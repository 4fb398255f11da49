//! Every committed ISO 9660 fixture reads back exactly as its manifest says.

mod common;
use common::*;

#[test]
fn plain_level1() {
    check_fixture("iso9660/iso-l1", "", 1000);
}

#[test]
fn plain_level3() {
    check_fixture("iso9660/iso-l3", "", 1000);
}

#[test]
fn joliet() {
    check_fixture("iso9660/iso-joliet", "", 1000);
}

#[test]
fn rock_ridge() {
    check_fixture("iso9660/iso-rr", "", 1000);
}

#[test]
fn rock_ridge_preferred_to_joliet() {
    check_fixture("iso9660/iso-rr-joliet", "", 1000);
}

#[test]
fn genisoimage_relocated_directories() {
    check_fixture("iso9660/iso-genisoimage-rj", "", 1000);
}

#[test]
fn small_read_dir_chunks() {
    check_fixture("iso9660/iso-rr", "", 1);
}
