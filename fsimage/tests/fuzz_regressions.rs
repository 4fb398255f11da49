//! Replays every input a partition-table, sandbox-protocol or ABI fuzz
//! target crashed on (`fixtures/regressions/<target>/`) through the code the
//! target runs (`fuzz/src/disk_cases.rs`, `fuzz/src/sandbox_case.rs`). The
//! root target's probe is the plugin's in the fuzzer; here it is a magic
//! check (the core links no plugin).

#[path = "../../fuzz/src/disk_cases.rs"]
mod disk_cases;
#[path = "../../fuzz/src/fixups.rs"]
#[allow(dead_code)]
mod fixups;
#[path = "../../fuzz/src/sandbox_case.rs"]
mod sandbox_case;
#[path = "../../fuzz/src/sparse.rs"]
#[allow(dead_code)]
mod sparse;

use fsimage::ReadAt;
use fsimage::abi::{DirSink, sdk};
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = fsimage_testkit::fixtures_dir()
        .join("regressions")
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: &dyn Fn(&[u8])) -> usize {
    let files = corpus(target);
    for f in &files {
        let data = std::fs::read(f).expect("read regression input");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(r.is_ok(), "{}: panicked", f.display());
    }
    files.len()
}

fn magic_probe(w: &dyn ReadAt) -> Option<String> {
    let mut b = [0u8; 2];
    (w.read_exact_at(1080, &mut b).is_ok() && b == [0x53, 0xEF]).then(|| "ext2".to_owned())
}

/// The ABI target's body (it is small enough to state here).
fn abi_dir_records(data: &[u8]) {
    let Ok(entries) = sdk::decode_dir_records(data) else {
        return;
    };
    let mut buf = vec![0u8; data.len()];
    let mut sink = sdk::BufferDirSink::new(&mut buf);
    for (i, e) in entries.iter().enumerate() {
        assert!(sink.push(i as u64, e.id, e.kind, &e.name));
    }
    let used = sink.used();
    assert_eq!(sdk::decode_dir_records(&buf[..used]).ok(), Some(entries));
}

#[test]
fn partition_table_regressions() {
    replay("mbr", &disk_cases::mbr);
    replay("gpt", &disk_cases::gpt);
    replay("vtoc", &disk_cases::vtoc);
    replay("sun", &disk_cases::sun);
    replay("root", &|d| disk_cases::root(d, &mut magic_probe));
}

#[test]
fn sandbox_and_abi_regressions() {
    replay("sandbox_reply", &sandbox_case::run);
    replay("abi_dir_records", &abi_dir_records);
}

/// The replay path itself works: the fuzz seeds (the fixtures' real tables)
/// run through every case without a panic.
#[test]
fn seeds_replay_cleanly() {
    let seeds = fsimage_testkit::workspace_root().join("fuzz/seeds");
    let mut n = 0;
    for (t, run) in [
        ("mbr", &disk_cases::mbr as &dyn Fn(&[u8])),
        ("gpt", &disk_cases::gpt),
        ("vtoc", &disk_cases::vtoc),
        ("sun", &disk_cases::sun),
        ("sandbox_reply", &sandbox_case::run),
    ] {
        for e in std::fs::read_dir(seeds.join(t)).expect("seed folder") {
            run(&std::fs::read(e.expect("entry").path()).expect("seed"));
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} seeds");
}
