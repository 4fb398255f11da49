//! fsimage-cat: write files from a disk or filesystem image to stdout.

mod common;

use clap::Parser;
use common::{Common, Failure, finish};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write files from a disk or filesystem image to standard output, in order.
#[derive(Parser, Debug)]
#[command(name = "fsimage-cat", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    /// The disk or filesystem image.
    image: PathBuf,
    /// Paths inside the filesystem.
    #[arg(required = true)]
    paths: Vec<String>,
}

/// Most bytes copied per read: as much as one sandboxed READ carries, so
/// data a plugin must decode (ZFS, zisofs) costs few round trips.
const CHUNK: usize = fsimage::plugin::READ_CHUNK;

fn run(cli: &Cli) -> Result<(), Failure> {
    let fs = cli.common.open(&cli.image)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Grown to the largest file's size, up to CHUNK: a small file costs no
    // large buffer.
    let mut buf = Vec::new();
    for path in &cli.paths {
        let file = fs.open(path)?;
        let want = usize::try_from(file.len()).unwrap_or(CHUNK).clamp(1, CHUNK);
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let mut off = 0u64;
        loop {
            let n = file.read_at(off, &mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            off += n as u64;
        }
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish("fsimage-cat", run(&cli))
}
