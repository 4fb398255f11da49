//! What fsimage-cat and fsimage-ls share: options, opening, error exits.

use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options every tool takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Byte offset of the filesystem in the image (overrides the root choice).
    #[arg(long, value_name = "BYTES", conflicts_with = "partition")]
    pub offset: Option<u64>,
    /// Partition id as `fsimage-ls --partitions` prints it (e.g. 1, 5, 1.0).
    #[arg(long, value_name = "ID")]
    pub partition: Option<String>,
    /// Use this filesystem plugin without probing (e.g. ext2).
    #[arg(long = "fs", value_name = "NAME")]
    pub fs: Option<String>,
    /// Options string passed to the plugin (e.g. journal=replay).
    #[arg(long, value_name = "STRING")]
    pub options: Option<String>,
    /// Look for plugins in this directory first.
    #[arg(long, value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// A further image holding another device of the same filesystem (a ZFS
    /// pool spanning several files); repeat for each.
    #[arg(long = "add-image", value_name = "IMAGE")]
    pub add_image: Vec<PathBuf>,
    /// Say which partition and filesystem were chosen, and why.
    #[arg(short, long)]
    pub verbose: bool,
    /// Parse the image inside this process instead of a locked-down worker.
    /// UNSAFE for untrusted images: a parser bug then hits this process.
    #[arg(long)]
    pub no_sandbox: bool,
}

impl Common {
    /// The library options these say.
    pub fn open_options(&self) -> fsimage::OpenOptions {
        let mut o = fsimage::OpenOptions::new();
        if let Some(off) = self.offset {
            o.offset(off);
        }
        if let Some(p) = &self.partition {
            o.partition(p.clone());
        }
        if let Some(f) = &self.fs {
            o.fs(f.clone());
        }
        if let Some(s) = &self.options {
            o.options(s.as_bytes());
        }
        if let Some(d) = &self.plugin_dir {
            o.plugin_dir(d.clone());
        }
        for extra in &self.add_image {
            o.add_image(extra.clone());
        }
        if self.verbose {
            // Also report any sandbox measure that could not be applied.
            o.sandbox_debug(true);
        }
        if self.no_sandbox {
            eprintln!(
                "warning: --no-sandbox: filesystem parsing runs inside this process; \
                 do not use it on images you do not trust"
            );
            o.sandbox(false);
        }
        o
    }

    /// Opens the image as these options say.
    pub fn open(&self, image: &std::path::Path) -> fsimage::Result<fsimage::Filesystem> {
        let fs = self.open_options().open(image)?;
        if self.verbose {
            eprintln!(
                "{}: {} at byte {}{} ({})",
                image.display(),
                fs.fs_type(),
                fs.offset(),
                fs.partition()
                    .map(|p| format!(", partition {p}"))
                    .unwrap_or_default(),
                fs.chosen_by()
            );
        }
        Ok(fs)
    }
}

/// Failure of a tool run: an error to print, or a quiet broken pipe.
pub enum Failure {
    /// Print and exit 1.
    Error(String),
    /// The reader went away: stop quietly.
    BrokenPipe,
}

impl From<fsimage::Error> for Failure {
    fn from(e: fsimage::Error) -> Self {
        Failure::Error(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Error(format!("write error: {e}"))
        }
    }
}

/// Turns a run's outcome into the exit status, printing one line on error.
pub fn finish(tool: &str, r: Result<(), Failure>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Error(msg)) => {
            let _ = writeln!(std::io::stderr(), "{tool}: {msg}");
            ExitCode::from(1)
        }
    }
}
