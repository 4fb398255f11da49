//! fsimage-ls: list directories (or the partition table) of a disk image.

mod common;
mod partitions;

use clap::Parser;
use common::{Common, Failure, finish};
use fsimage::{FileKind, Filesystem, Metadata};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Depth below PATH that -R descends to.
const MAX_DEPTH: usize = 4096;

/// List a directory of a disk or filesystem image (default: the root).
#[derive(Parser, Debug)]
#[command(name = "fsimage-ls", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    /// List every descendant of PATH (not PATH itself), as full paths.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// Long format, like `ls -l`.
    #[arg(short = 'l')]
    long: bool,
    /// One JSON object a line.
    #[arg(long)]
    json: bool,
    /// Print the partition table instead of files.
    #[arg(long)]
    partitions: bool,
    /// The disk or filesystem image.
    image: PathBuf,
    /// Directory (or file) inside the filesystem.
    #[arg(default_value = "/")]
    path: String,
}

struct Row {
    path: Vec<u8>,
    name: Vec<u8>,
    meta: Metadata,
    target: Option<Vec<u8>>,
}

fn kind_word(k: FileKind) -> &'static str {
    match k {
        FileKind::File => "file",
        FileKind::Dir => "dir",
        FileKind::Symlink => "symlink",
        _ => "other",
    }
}

/// JSON string literal for bytes (invalid UTF-8 replaced).
fn json_str(b: &[u8]) -> String {
    partitions::json_string(&String::from_utf8_lossy(b))
}

fn mode_string(m: &Metadata) -> String {
    let t = match m.kind() {
        FileKind::Dir => 'd',
        FileKind::Symlink => 'l',
        FileKind::CharDevice => 'c',
        FileKind::BlockDevice => 'b',
        FileKind::Fifo => 'p',
        FileKind::Socket => 's',
        _ => '-',
    };
    let p = m.permissions();
    let mut s = String::with_capacity(10);
    s.push(t);
    for (i, ch) in ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x']
        .iter()
        .enumerate()
    {
        let bit = 1 << (8 - i);
        let special = match i {
            2 => p & 0o4000 != 0,
            5 => p & 0o2000 != 0,
            8 => p & 0o1000 != 0,
            _ => false,
        };
        let on = p & bit != 0;
        s.push(match (special, on, i) {
            (true, true, 8) => 't',
            (true, false, 8) => 'T',
            (true, true, _) => 's',
            (true, false, _) => 'S',
            (false, true, _) => *ch,
            (false, false, _) => '-',
        });
    }
    s
}

/// UTC "YYYY-MM-DD HH:MM" from Unix seconds (proleptic Gregorian).
fn date(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Days since 1970-01-01 to a civil date (Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

fn print_row(out: &mut dyn Write, cli: &Cli, row: &Row) -> std::io::Result<()> {
    let m = &row.meta;
    if cli.json {
        let mut line = format!(
            "{{\"path\": {}, \"type\": \"{}\", \"size\": {}, \"mode\": {}",
            json_str(&row.path),
            kind_word(m.kind()),
            m.len(),
            m.permissions()
        );
        if let Some(t) = &row.target {
            line.push_str(&format!(", \"target\": {}", json_str(t)));
        }
        line.push('}');
        return writeln!(out, "{line}");
    }
    let shown: &[u8] = if cli.recursive { &row.path } else { &row.name };
    if cli.long {
        write!(
            out,
            "{} {:>3} {:>5} {:>5} {:>10} {} ",
            mode_string(m),
            m.nlink(),
            m.uid(),
            m.gid(),
            m.len(),
            date(m.mtime().sec)
        )?;
        out.write_all(shown)?;
        if let Some(t) = &row.target {
            out.write_all(b" -> ")?;
            out.write_all(t)?;
        }
        out.write_all(b"\n")
    } else {
        out.write_all(shown)?;
        out.write_all(b"\n")
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// The entries of one directory, sorted by name.
fn rows_of(fs: &Filesystem, dir: &[u8]) -> Result<Vec<Row>, Failure> {
    let mut rows = Vec::new();
    for entry in fs.read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = join(dir, entry.name());
        let target = if meta.is_symlink() {
            Some(fs.read_link(&path)?)
        } else {
            None
        };
        rows.push(Row {
            path,
            name: entry.name().to_vec(),
            meta,
            target,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

fn normalise(path: &str) -> Vec<u8> {
    let mut p: Vec<u8> = Vec::new();
    for c in path
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
    {
        p.push(b'/');
        p.extend_from_slice(c);
    }
    if p.is_empty() {
        p.push(b'/');
    }
    p
}

fn run_files(cli: &Cli) -> Result<(), Failure> {
    let fs = cli.common.open(&cli.image)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let path = normalise(&cli.path);
    let meta = fs.metadata(&path)?;
    if !meta.is_dir() {
        // Like ls: a file lists itself.
        let lmeta = fs.symlink_metadata(&path)?;
        let target = if lmeta.is_symlink() {
            Some(fs.read_link(&path)?)
        } else {
            None
        };
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(&path).to_vec();
        print_row(
            &mut out,
            cli,
            &Row {
                path: path.clone(),
                name,
                meta: lmeta,
                target,
            },
        )?;
        out.flush()?;
        return Ok(());
    }
    if !cli.recursive {
        for row in rows_of(&fs, &path)? {
            print_row(&mut out, cli, &row)?;
        }
        out.flush()?;
        return Ok(());
    }
    // Pre-order, depth-first, with an explicit stack; directories already
    // seen (by inode) are not entered twice, so a looping image cannot trap us.
    let mut seen: HashSet<u64> = HashSet::new();
    seen.insert(meta.ino());
    let mut stack: Vec<(Row, usize)> = rows_of(&fs, &path)?
        .into_iter()
        .rev()
        .map(|r| (r, 1))
        .collect();
    while let Some((row, depth)) = stack.pop() {
        print_row(&mut out, cli, &row)?;
        if row.meta.is_dir() && depth < MAX_DEPTH && seen.insert(row.meta.ino()) {
            let children = rows_of(&fs, &row.path)?;
            stack.extend(children.into_iter().rev().map(|r| (r, depth + 1)));
        }
    }
    out.flush()?;
    Ok(())
}

fn run_partitions(cli: &Cli) -> Result<(), Failure> {
    let report = cli.common.open_options().partitions(&cli.image)?;
    for w in &report.layout.warnings {
        eprintln!("fsimage-ls: {}: warning: {w}", cli.image.display());
    }
    if cli.common.verbose {
        match &report.root {
            Some(r) => eprintln!(
                "{}: root: partition {} ({})",
                cli.image.display(),
                r.id(),
                r.rule
            ),
            None => eprintln!("{}: root: none recognised", cli.image.display()),
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let fs_of = |p: &fsimage::disk::Partition| report.fs_of(&p.id).map(str::to_owned);
    partitions::print(
        &mut out,
        &report.layout,
        &fs_of,
        report.root.as_ref().map(|r| r.id()),
        cli.json,
    )?;
    out.flush()?;
    Ok(())
}

fn run(cli: &Cli) -> Result<(), Failure> {
    if cli.partitions {
        return run_partitions(cli);
    }
    run_files(cli)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    finish("fsimage-ls", run(&cli))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(951_782_400), "2000-02-29 00:00");
        assert_eq!(date(-86400), "1969-12-31 00:00");
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str(b"a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
