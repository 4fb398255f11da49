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

/// Bytes copied per read.
const CHUNK: usize = 1 << 20;

fn run(cli: &Cli) -> Result<(), Failure> {
    let fs = cli.common.open(&cli.image)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut buf = vec![0u8; CHUNK];
    for path in &cli.paths {
        let file = fs.open(path)?;
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
