//! `fsimage-ls --partitions [--json]`: a disk's partition table, as an
//! aligned table (like `mmls` / `fdisk -l`) or as JSON lines.
//!
//! JSON: one object a line, keys in this order:
//! `{"id": "5", "scheme": "mbr"|"ebr"|"gpt"|"vtoc"|"sun"|"disk", "start": BYTES,
//! "size": BYTES, "type": "0x83" | GUID | VTOC tag name, "name": "..." | null,
//! "bootable": bool, "fs": "ext2" | null, "root": bool}`. `name` is set for
//! GPT entries only. When root choice picks the whole disk (id `0`) and the
//! table does not list it, a `"scheme": "disk"` line for it comes first, so
//! exactly one line has `"root": true` whenever a root was chosen. Warnings
//! are not part of the JSON output (the caller prints `layout.warnings` to
//! stderr); the table output ends with them.

use fsimage::disk::{DiskLayout, Partition, Validity};
use std::io::{self, Write};

/// Prints `layout`. `fs_of` names the filesystem a partition holds (it is
/// not asked about invalid partitions or extended containers); `root_id` is
/// the id root choice picked.
pub fn print(
    out: &mut dyn Write,
    layout: &DiskLayout,
    fs_of: &dyn Fn(&Partition) -> Option<String>,
    root_id: Option<&str>,
    json: bool,
) -> io::Result<()> {
    let mut rows: Vec<Partition> = Vec::new();
    if root_id == Some("0") && layout.find("0").is_none() {
        rows.push(layout.whole_disk());
    }
    rows.extend(layout.partitions.iter().cloned());
    let fs: Vec<Option<String>> = rows
        .iter()
        .map(|p| {
            if p.is_valid() && !p.ptype.is_extended() {
                fs_of(p)
            } else {
                None
            }
        })
        .collect();
    if json {
        for (p, fs) in rows.iter().zip(&fs) {
            writeln!(
                out,
                "{}",
                json_line(p, fs.as_deref(), root_id == Some(&p.id))
            )?;
        }
        return Ok(());
    }
    table(out, layout, &rows, &fs, root_id)
}

/// One partition as a JSON object (no trailing newline).
pub fn json_line(p: &Partition, fs: Option<&str>, root: bool) -> String {
    let opt = |s: Option<&str>| s.map_or_else(|| "null".to_owned(), json_string);
    format!(
        "{{\"id\": {}, \"scheme\": {}, \"start\": {}, \"size\": {}, \"type\": {}, \"name\": {}, \"bootable\": {}, \"fs\": {}, \"root\": {}}}",
        json_string(&p.id),
        json_string(p.scheme.as_str()),
        p.start,
        p.size,
        json_string(&p.ptype.code()),
        opt(p.name.as_deref()),
        p.bootable,
        opt(fs),
        root
    )
}

/// A JSON string literal: quotes, backslash and control characters escaped
/// (RFC 8259 §7); everything else is passed through as UTF-8.
pub fn json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                o.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Bytes as fdisk prints sizes: 512B, 1.5K, 16M, 62M (display only).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut unit = 0;
    #[allow(clippy::cast_precision_loss)] // a rounded display value
    let mut v = bytes as f64;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v < 10.0 && v.fract() != 0.0 {
        format!("{v:.1}{}", UNITS[unit])
    } else {
        format!("{v:.0}{}", UNITS[unit])
    }
}

fn table(
    out: &mut dyn Write,
    layout: &DiskLayout,
    rows: &[Partition],
    fs: &[Option<String>],
    root_id: Option<&str>,
) -> io::Result<()> {
    let ss = u64::from(layout.sector_size.max(1));
    writeln!(
        out,
        "Disk: {} bytes, {} sectors of {} bytes; table: {}",
        layout.disk_size,
        layout.disk_size / ss,
        ss,
        layout.table.as_str()
    )?;
    let header = [
        "Id",
        "Scheme",
        "Boot",
        "Start",
        "End",
        "Sectors",
        "Size",
        "Type",
        "Description",
        "Name",
        "FS",
        "Root",
    ];
    let right = [
        false, false, false, true, true, true, true, false, false, false, false, false,
    ];
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut notes = Vec::new();
    for (p, fs) in rows.iter().zip(fs) {
        let sectors = p.size / ss;
        let start = p.start / ss;
        let end = (start + sectors).saturating_sub(1);
        let ty = p.ptype.code();
        cells.push(vec![
            p.id.clone(),
            p.scheme.as_str().to_owned(),
            if p.bootable { "*" } else { "" }.to_owned(),
            start.to_string(),
            if sectors == 0 {
                "-".to_owned()
            } else {
                end.to_string()
            },
            sectors.to_string(),
            human_size(p.size),
            if ty.is_empty() { "-".to_owned() } else { ty },
            p.ptype.description(),
            p.name.clone().unwrap_or_default(),
            fs.clone().unwrap_or_else(|| "-".to_owned()),
            if root_id == Some(p.id.as_str()) {
                "root"
            } else {
                ""
            }
            .to_owned(),
        ]);
        if let Validity::Invalid(why) = &p.validity {
            notes.push(format!("partition {} is not used: {why}", p.id));
        }
    }
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in row.iter().enumerate() {
            let w = width.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(c.chars().count());
            if i > 0 {
                s.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_owned()
    };
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    writeln!(out, "{}", line(&head))?;
    for row in &cells {
        writeln!(out, "{}", line(row))?;
    }
    for n in notes {
        writeln!(out, "note: {n}")?;
    }
    for w in &layout.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsimage::FileImage;

    #[test]
    fn json_escapes() {
        assert_eq!(
            json_string("a\"b\\c\nd\u{1}é"),
            "\"a\\\"b\\\\c\\nd\\u0001é\""
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1 << 20), "1M");
        assert_eq!(human_size(16 << 20), "16M");
        assert_eq!(human_size(1536), "1.5K");
        assert_eq!(human_size(63 * 1024 * 1024), "63M");
        assert_eq!(human_size(127_008 * 512), "62M");
        assert_eq!(human_size(u64::MAX), "16384P");
    }

    fn layout_of(name: &str) -> (FileImage, DiskLayout) {
        let d = FileImage::open(fsimage_testkit::image(&format!("disk/{name}"))).unwrap();
        let l = fsimage::disk::parse(&d).unwrap();
        (d, l)
    }

    #[test]
    fn json_lines_of_the_logical_fixture() {
        let (_, l) = layout_of("dev-mbr-logical");
        let mut out = Vec::new();
        let fs_of = |p: &Partition| (p.id == "6").then(|| "ext4".to_owned());
        print(&mut out, &l, &fs_of, Some("1"), true).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[0],
            r#"{"id": "1", "scheme": "mbr", "start": 1048576, "size": 8388608, "type": "0x83", "name": null, "bootable": true, "fs": null, "root": true}"#
        );
        assert_eq!(
            lines[3],
            r#"{"id": "6", "scheme": "ebr", "start": 19922944, "size": 12582912, "type": "0x83", "name": null, "bootable": false, "fs": "ext4", "root": false}"#
        );
    }

    #[test]
    fn hybrid_iso_root_line_for_the_whole_disk() {
        let (_, l) = layout_of("dev-isohybrid");
        let mut out = Vec::new();
        print(&mut out, &l, &|_| None, Some("0"), true).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(
            r#"{"id": "0", "scheme": "disk", "start": 0, "size": 1048576, "type": """#
        ));
        assert!(lines[0].ends_with(r#""root": true}"#));
        assert_eq!(text.matches(r#""root": true"#).count(), 1);
    }

    #[test]
    fn gpt_table_is_aligned() {
        let (_, l) = layout_of("dev-gpt");
        let mut out = Vec::new();
        print(&mut out, &l, &|_| None, Some("4"), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("table: gpt"), "{text}");
        assert_eq!(lines.len(), 7, "{text}");
        // The Type column starts at the same place on every row.
        let col = lines[1].find("Type").unwrap();
        for l in &lines[2..] {
            assert!(
                l[col..].starts_with(|c: char| c.is_ascii_hexdigit()),
                "{text}"
            );
        }
        assert!(
            lines[5].contains("solaris-root") && lines[5].ends_with("root"),
            "{text}"
        );
    }
}
