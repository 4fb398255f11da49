#!/usr/bin/env python3
"""Builds fuzz/seeds/<target>/ from the committed fixture images.

Seeds keep only metadata: partition-table sectors at their real offsets, or
the non-zero blocks of an ext filesystem's first 512 KiB, written in the
sparse input format that fuzz/src/lib.rs documents ("SPRS" | flags | size |
chunks). Deterministic: the same fixtures give the same seeds.

    python3 fuzz/mkseeds.py            # needs zstd on PATH
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "fixtures")
OUT = os.path.join(ROOT, "fuzz", "seeds")
S = 512


def load(name):
    with tempfile.TemporaryDirectory() as d:
        dst = os.path.join(d, "x.img")
        subprocess.run(
            ["zstd", "-q", "-d", "--sparse", "-f", os.path.join(FIX, name + ".img.zst"), "-o", dst],
            check=True,
        )
        with open(dst, "rb") as f:
            return f.read()


def sparse(size, chunks, flags=0):
    out = b"SPRS" + struct.pack("<IQ", flags, size)
    for off, data in merge(chunks):
        out += struct.pack("<QI", off, len(data)) + data
    return out


def merge(chunks):
    """Sorts chunks and joins touching ones."""
    res = []
    for off, data in sorted(chunks):
        if res and res[-1][0] + len(res[-1][1]) == off:
            res[-1] = (res[-1][0], res[-1][1] + data)
        elif res and res[-1][0] + len(res[-1][1]) > off:
            end = res[-1][0] + len(res[-1][1])
            res[-1] = (res[-1][0], res[-1][1] + data[end - off:])
        else:
            res.append((off, data))
    return res


def sec(img, lba, n=1):
    return (lba * S, img[lba * S:(lba + n) * S])


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def mbr_entries(s):
    for i in range(4):
        e = s[446 + 16 * i:446 + 16 * (i + 1)]
        typ = e[4]
        start, size = struct.unpack("<II", e[8:16])
        yield i, typ, start, size


def mbr_sectors(img):
    """Sector 0, every EBR of the chain, and sector 1 of every partition that
    may hold a Solaris x86 VTOC."""
    out = [sec(img, 0)]
    s0 = img[:S]
    for _, typ, start, size in mbr_entries(s0):
        if typ in (0xBF, 0x82):
            out.append(sec(img, start + 1))
        if typ in (0x05, 0x0F, 0x85):
            ebr = start
            seen = set()
            while ebr not in seen and ebr * S < len(img):
                seen.add(ebr)
                out.append(sec(img, ebr))
                s = img[ebr * S:(ebr + 1) * S]
                nxt = None
                for i, t, st, sz in mbr_entries(s):
                    if i == 0 and t in (0xBF, 0x82):
                        out.append(sec(img, ebr + st + 1))
                    if i == 1 and t in (0x05, 0x0F, 0x85):
                        nxt = start + st
                if nxt is None:
                    break
                ebr = nxt
    return out


def fs_heads(img):
    """First 4 KiB of every primary and logical partition (where probes look)."""
    out = []
    s0 = img[:S]
    for _, typ, start, size in mbr_entries(s0):
        if typ and typ not in (0x05, 0x0F, 0x85, 0xEE):
            out.append((start * S, img[start * S:start * S + 4096]))
    return out


def gpt_sectors(img):
    out = [sec(img, 0), sec(img, 1), sec(img, 2, 32)]
    last = len(img) // S - 1
    out += [sec(img, last - 32, 33)]
    ents = img[2 * S:34 * S]
    heads = []
    for i in range(128):
        e = ents[128 * i:128 * (i + 1)]
        if any(e[:16]):
            first = struct.unpack("<Q", e[32:40])[0]
            heads.append((first * S, img[first * S:first * S + 4096]))
    return out, heads


def gpt_4k(img):
    """The 512-byte-sector GPT of dev-gpt re-laid for 4096-byte sectors (the
    gpt target's fix-up flag recomputes the CRCs)."""
    ss = 4096
    size = len(img)
    last = size // ss - 1
    ents = bytearray(img[2 * S:34 * S])
    for i in range(128):
        e = ents[128 * i:128 * (i + 1)]
        if any(e[:16]):
            first, end = struct.unpack("<QQ", e[32:48])
            ents[128 * i + 32:128 * i + 48] = struct.pack("<QQ", first // 8, end // 8)
    hdr = bytearray(img[S:2 * S])
    nent = len(ents) // ss

    def header(my, alt, entry_lba):
        h = bytearray(hdr)
        struct.pack_into("<QQQQ", h, 24, my, alt, 2 + nent, last - 1 - nent)
        struct.pack_into("<Q", h, 72, entry_lba)
        return bytes(h) + bytes(ss - S)

    chunks = [
        (0, img[:S]),
        (ss, header(1, last, 2)),
        (2 * ss, bytes(ents)),
        ((last - nent) * ss, bytes(ents)),
        (last * ss, header(last, 1, last - nent)),
    ]
    return sparse(size, chunks, flags=1)


def ext_blocks(img, limit=512 << 10, block=1024, base=0):
    out = []
    for off in range(0, min(limit, len(img) - base), block):
        b = img[base + off:base + off + block]
        if any(b):
            out.append((off, b))
    return out


def ext_debugfs_blocks(img, name):
    """Blocks of the directories (and of a dirty journal) by debugfs."""
    if not shutil.which("debugfs"):
        return []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.img")
        with open(path, "wb") as f:
            f.write(img)
        bs = 1024 << struct.unpack("<I", img[1024 + 24:1024 + 28])[0]
        cmds = ["blocks /"]
        with open(os.path.join(FIX, "ext", name + ".manifest")) as f:
            for line in f:
                typ, p = line.split("\t")[:2]
                if typ == "d" and len(cmds) < 200:
                    cmds.append("blocks " + p)
        if "journal" in name:
            cmds.append("blocks <8>")
        cf = os.path.join(d, "cmds")
        with open(cf, "w") as f:
            f.write("\n".join(cmds) + "\n")
        out = subprocess.run(["debugfs", "-f", cf, path], capture_output=True, text=True).stdout
    chunks = []
    for line in out.splitlines():
        if line.startswith("debugfs"):
            continue
        for tok in line.split():
            if tok.isdigit():
                off = int(tok) * bs
                b = img[off:off + bs]
                if any(b):
                    chunks.append((off, b))
    return chunks


def main():
    # Disks: partition tables.
    for name in ["dev-mbr-primaries", "dev-mbr-logical", "dev-mbr-ebr-unsorted", "dev-solaris-x86"]:
        img = load("disk/" + name)
        write("mbr", name, sparse(len(img), mbr_sectors(img)))
        write("root", name, sparse(len(img), mbr_sectors(img) + fs_heads(img)))
        if name == "dev-mbr-logical":
            write("mbr", name + ".raw", img[:S])
        if name == "dev-solaris-x86":
            s0 = img[:S]
            for _, typ, start, size in mbr_entries(s0):
                if typ == 0xBF:
                    part = img[start * S:(start + size) * S]
                    write("vtoc", name + ".p1", sparse(len(part), [sec(part, 0), sec(part, 1)]))
                    write("vtoc", name + ".p1.raw", part[:2 * S])
    img = load("disk/dev-gpt")
    tab, heads = gpt_sectors(img)
    write("gpt", "dev-gpt", sparse(len(img), tab))
    write("gpt", "dev-gpt.fix", sparse(len(img), tab, flags=1))
    write("gpt", "dev-gpt.4k.fix", gpt_4k(img))
    write("gpt", "dev-gpt.head.raw", img[:34 * S])
    write("root", "dev-gpt", sparse(len(img), tab + heads, flags=1))
    img = load("disk/dev-sun-sparc")
    write("sun", "dev-sun-sparc", sparse(len(img), [sec(img, 0)]))
    write("sun", "dev-sun-sparc.fix", sparse(len(img), [sec(img, 0)], flags=1))
    write("sun", "dev-sun-sparc.raw", img[:S])
    write("root", "dev-sun-sparc", sparse(len(img), [sec(img, 0), (0, img[:8192])], flags=1))
    img = load("disk/dev-isohybrid")
    write("root", "dev-isohybrid", sparse(len(img), [sec(img, 0), (32768, img[32768:36864])]))
    img = load("disk/dev-whole-disk-ext4")
    write("root", "dev-whole-disk-ext4", sparse(len(img), [(0, img[:4096])]))
    write("ext2_image", "dev-whole-disk-ext4", sparse(len(img), ext_blocks(img)))

    # ext: the non-zero blocks of the first 512 KiB (superblock, group
    # descriptors, bitmaps, inode tables) plus every directory's blocks and,
    # for dirty journals, the journal's (located with debugfs, when present).
    for fname in sorted(os.listdir(os.path.join(FIX, "ext"))):
        if not fname.endswith(".img.zst"):
            continue
        name = fname[: -len(".img.zst")]
        img = load("ext/" + name)
        # ext2 interleaves file data with the directories: keep less of it.
        limit = (160 << 10) if name.startswith("ext2") else (256 << 10)
        blocks, total = [], 0
        # Keep each seed under the target's -max_len (256 KiB).
        for off, b in ext_blocks(img, limit=limit) + ext_debugfs_blocks(img, name):
            if total + len(b) + 12 <= (240 << 10):
                blocks.append((off, b))
                total += len(b) + 12
        write("ext2_image", name, sparse(len(img), blocks))
        if name in ("ext4", "ext4-1k-htree"):
            # Checksums verified (flag 4).
            write("ext2_image", name + ".csum", sparse(len(img), blocks, flags=4))
        if "journal-dirty" in name:
            # Journal replay (flag 2).
            write("ext2_image", name + ".replay", sparse(len(img), blocks, flags=2))
        if name in ("ext2-1k", "ext4-symlinks"):
            write("ext2_image", name + ".raw", img[:64 << 10])
        if name in ("ext4", "ext2-4k"):
            # Truncated device (flag 8): the image ends after 3 MiB.
            write("ext2_image", name + ".trunc", sparse(3 << 20, blocks, flags=8))

    # UFS and ISO 9660: the non-zero 1 KiB blocks of the first MiB, up to
    # 240 KiB (superblocks, cylinder groups, inodes, volume descriptors,
    # path tables, directories come first on these small images).
    for kind, target in (("ufs", "ufs_image"), ("iso9660", "iso9660_image")):
        for fname in sorted(os.listdir(os.path.join(FIX, kind))):
            if not fname.endswith(".img.zst"):
                continue
            name = fname[: -len(".img.zst")]
            img = load(kind + "/" + name)
            blocks, total = [], 0
            for off, b in ext_blocks(img, limit=1 << 20):
                if total + len(b) + 12 <= (240 << 10):
                    blocks.append((off, b))
                    total += len(b) + 12
            write(target, name, sparse(len(img), blocks))

    # ABI directory records: the root listing of a fixture, as packed by
    # BufferDirSink (id u64 | kind u8 | pad u8 | name_len u16 | name).
    recs = b""
    with open(os.path.join(FIX, "ext/ext4.manifest")) as f:
        for i, line in enumerate(f):
            typ, path = line.split("\t")[:2]
            name = path.strip("/").split("/")[-1].encode()
            if not name or path.count("/") > 2:
                continue
            kind = {"f": 1, "d": 2, "l": 3}.get(typ, 0)
            recs += struct.pack("<QBBH", 11 + i, kind, 0, len(name)) + name
    write("abi_dir_records", "ext4-root", recs[:4096])
    write("abi_dir_records", "one", struct.pack("<QBBH", 2, 2, 0, 4) + b"boot")

    # Sandbox: op u8 | handle u32 | a u64 | b u64 | n u32 | reply body.
    def req(op, h=1, a=2, b=0, n=64):
        return struct.pack("<BIQQI", op, h, a, b, n)
    ok, err = b"\x81", b"\x82"
    sb = {
        "probe": req(0) + ok + struct.pack("<I", 90),
        "mount": req(1) + ok + struct.pack("<I", 1),
        "root": req(3) + ok + struct.pack("<Q", 2),
        "stat": req(5) + ok + bytes(range(84)),
        "read": req(6, n=100) + ok + b"x" * 50,
        "readdir": req(7, b=0) + ok + struct.pack("<Q", 77) + recs[:200],
        "readlink": req(8) + ok + b"/boot/vmlinuz",
        "extents": req(9, n=4) + ok + struct.pack("<QQQII", 0, 4096, 8192, 0, 0) * 2,
        "label": req(11) + ok + b"\x01label",
        "error": req(5) + err + struct.pack("<I", 6) + b"inode 12: bad",
        "source-read": req(6) + b"\x90" + struct.pack("<IQI", 0, 4096, 512),
        "ready": req(0) + b"\x80" + struct.pack("<HB", 1, 4) + b"ext2",
        "request-read": req(0) + b"\x07" + struct.pack("<IQQI", 1, 12, 0, 4096),
        "request-mount": req(0) + b"\x02" + struct.pack("<HHIQ", 0, 1, 0, 1 << 20) + b"csum=off",
    }
    for k, v in sb.items():
        write("sandbox_reply", k, v)


if __name__ == "__main__":
    sys.exit(main())
