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


def load_head(name, n=None):
    """The first n bytes (all, if n is None) of a fixture image and its
    full size (the iso-multiextent image is 4 GiB of zeros: not read whole)."""
    with tempfile.TemporaryDirectory() as d:
        dst = os.path.join(d, "x.img")
        subprocess.run(
            ["zstd", "-q", "-d", "--sparse", "-f", os.path.join(FIX, name + ".img.zst"), "-o", dst],
            check=True,
        )
        with open(dst, "rb") as f:
            return f.read(n), os.path.getsize(dst)


def load(name):
    return load_head(name)[0]


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


# Inner-parser targets: real structures cut out of the fixture images.

def ext_geom(img):
    sb = img[1024:2048]
    g = {}
    (g["inodes_count"], g["blocks_lo"]) = struct.unpack_from("<II", sb, 0)
    g["first_data_block"] = struct.unpack_from("<I", sb, 20)[0]
    g["bs"] = 1024 << struct.unpack_from("<I", sb, 24)[0]
    g["ipg"] = struct.unpack_from("<I", sb, 40)[0]
    g["inode_size"] = struct.unpack_from("<H", sb, 88)[0] or 128
    compat, incompat, ro = struct.unpack_from("<III", sb, 92)
    g["incompat"], g["ro"] = incompat, ro
    g["uuid"] = sb[104:120]
    g["hash_seed"] = sb[0xEC:0xFC]
    g["desc_size"] = struct.unpack_from("<H", sb, 0xFE)[0] if incompat & 0x80 else 32
    g["s_flags"] = struct.unpack_from("<I", sb, 0x160)[0]
    g["csum_seed"] = struct.unpack_from("<I", sb, 0x270)[0]
    return g


def crc32c_raw(crc, data):
    """ext4_chksum: crc32c with the seed as the running value, no inversion."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def ext_fs_seed(g):
    if g["incompat"] & 0x2000:
        return g["csum_seed"]
    return crc32c_raw(0xFFFFFFFF, g["uuid"])


def ext_inode(img, g, ino):
    grp, idx = divmod(ino - 1, g["ipg"])
    bs = g["bs"]
    desc = (g["first_data_block"] + 1) * bs + grp * g["desc_size"]
    lo = struct.unpack_from("<I", img, desc + 8)[0]
    hi = struct.unpack_from("<I", img, desc + 0x28)[0] if g["desc_size"] >= 64 else 0
    off = (lo | hi << 32) * bs + idx * g["inode_size"]
    raw = img[off:off + g["inode_size"]]
    return raw + bytes(256 - len(raw))


def debugfs(img, cmds):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.img")
        with open(p, "wb") as f:
            f.write(img)
        return subprocess.run(["debugfs", "-R", cmds, p], capture_output=True, text=True).stdout


def ext_ino(img, path):
    out = debugfs(img, "stat " + path)
    return int(out.split("Inode:")[1].split()[0])


def ext_header(g, ino, raw, flags, blocks=0):
    """The fsimage_plugin_ext2::fuzzing input header."""
    log = {1024: 0, 2048: 1, 4096: 2, 65536: 3}[g["bs"]]
    f = log | flags
    if g["incompat"] & 0x2:
        f |= 8
    if g["incompat"] & 0x4000:
        f |= 16
    if g["s_flags"] & 2:
        f |= 32
    if g["incompat"] & 0x20000:
        f |= 64
    if g["ro"] & 0x400:
        f |= 4
    return (bytes([f]) + struct.pack("<III", ext_fs_seed(g), ino, blocks)
            + g["hash_seed"] + raw)


def ext_extent_seed(img, g, ino):
    """An extent-mapped inode with its tree's blocks moved to blocks 1..;
    the filesystem keeps its real size so the extents stay inside it."""
    bs = g["bs"]
    raw = bytearray(ext_inode(img, g, ino))
    out = []

    def relocate(node):
        # node: bytearray of a tree node; rewrites its index pointers.
        magic, entries, mx, depth = struct.unpack_from("<HHHH", node, 0)
        if magic != 0xF30A or depth == 0:
            return
        for i in range(entries):
            o = 12 * (i + 1)
            lo, hi = struct.unpack_from("<IH", node, o + 4)
            child = bytearray(img[(lo | hi << 32) * bs:((lo | hi << 32) + 1) * bs])
            out.append(child)
            new = len(out)
            struct.pack_into("<IH", node, o + 4, new, 0)
            relocate(child)
            if struct.unpack_from("<H", child, 6)[0] > 0:
                # An index block's pointers changed: its tail checksum too.
                tail = 12 * (struct.unpack_from("<H", child, 4)[0] + 1)
                seed = ext_inode_seed(g, ino, raw)
                struct.pack_into("<I", child, tail, crc32c_raw(seed, bytes(child[:tail])))

    ib = bytearray(raw[0x28:0x28 + 60])
    relocate(ib)
    raw[0x28:0x28 + 60] = ib
    blocks = g["blocks_lo"]
    return ext_header(g, ino, bytes(raw), 0, blocks) + b"".join(bytes(b) for b in out)


def ext_dir_seed(img, g, path, max_blocks=None):
    """A directory with its blocks moved to blocks 1.. and its map pointed
    at them (a one-extent tree, or direct pointers)."""
    bs = g["bs"]
    ino = ext_ino(img, path)
    raw = bytearray(ext_inode(img, g, ino))
    iflags = struct.unpack_from("<I", raw, 0x20)[0]
    if iflags & 0x10000000:  # inline: all in the inode
        return ext_header(g, ino, bytes(raw), 0)
    phys = ext_file_blocks(img, g, raw)
    if max_blocks:
        phys = phys[:max_blocks]
    n = len(phys)
    extra = b""
    if iflags & 0x80000:
        ib = struct.pack("<HHHHI", 0xF30A, 1, 4, 0, 0) + struct.pack("<IHHI", 0, n, 0, 1)
    else:
        ib, extra = ext_blockmap_ib(n, bs)
    raw[0x28:0x28 + 60] = ib + bytes(60 - len(ib))
    # i_size: the blocks kept.
    struct.pack_into("<II", raw, 4, n * bs, 0)
    struct.pack_into("<I", raw, 0x6C, 0)
    data = b"".join(img[p * bs:(p + 1) * bs] for p in phys)
    return ext_header(g, ino, bytes(raw), 0) + data + extra


def ext_blockmap_ib(n, bs):
    """i_block pointing logical blocks 0..n-1 at blocks 1..n (a single
    indirect block, at n+1, past 12); returns (i_block, extra blocks)."""
    direct = list(range(1, min(n, 12) + 1))
    ib = struct.pack("<%dI" % len(direct), *direct) + bytes(4 * (12 - len(direct)))
    extra = b""
    if n > 12:
        assert n - 12 <= bs // 4
        ib += struct.pack("<I", n + 1)
        extra = struct.pack("<%dI" % (n - 12), *range(13, n + 1)).ljust(bs, b"\0")
    return ib.ljust(60, b"\0"), extra


def ext_inode_seed(g, ino, raw):
    fs = ext_fs_seed(g)
    gen = struct.unpack_from("<I", raw, 0x64)[0]
    return crc32c_raw(crc32c_raw(fs, struct.pack("<I", ino)), struct.pack("<I", gen))


def ext_htree_path_seed(img, g, path, max_leaves=60):
    """A big htree directory cut to one descent: dx_root, the first index
    node of each level and up to `max_leaves` of the leaves below, at their
    logical blocks (the rest are holes), mapped by a one-leaf extent tree
    whose tail checksum is recomputed."""
    bs = g["bs"]
    ino = ext_ino(img, path)
    raw = bytearray(ext_inode(img, g, ino))
    phys = ext_file_blocks(img, g, raw)
    blk = lambda l: img[phys[l] * bs:(phys[l] + 1) * bs]
    root = blk(0)
    levels = root[30] + 1
    keep = [0]
    node, at = root, 32
    for _ in range(levels):
        count = struct.unpack_from("<H", node, at + 2)[0]
        ptrs = [struct.unpack_from("<I", node, at + 4)[0] & 0x0FFFFFFF] + [
            struct.unpack_from("<I", node, at + 8 * i + 4)[0] & 0x0FFFFFFF for i in range(1, count)]
        if _ == levels - 1:
            keep += ptrs[:max_leaves]
        else:
            keep.append(ptrs[0])
            node, at = blk(ptrs[0]), 8
    keep = sorted(set(keep))
    mx = (bs - 12) // 12
    assert len(keep) <= mx
    leaf = bytearray(bs)
    struct.pack_into("<HHHHI", leaf, 0, 0xF30A, len(keep), mx, 0, 0)
    for i, l in enumerate(keep):
        struct.pack_into("<IHHI", leaf, 12 * (i + 1), l, 1, 0, 2 + i)
    tail = 12 * (mx + 1)
    struct.pack_into("<I", leaf, tail, crc32c_raw(ext_inode_seed(g, ino, raw), bytes(leaf[:tail])))
    ib = struct.pack("<HHHHI", 0xF30A, 1, 4, 1, 0) + struct.pack("<IIHH", 0, 1, 0, 0)
    raw[0x28:0x28 + 60] = ib.ljust(60, b"\0")
    struct.pack_into("<I", raw, 0x20, struct.unpack_from("<I", raw, 0x20)[0] | 0x80000)
    return (ext_header(g, ino, bytes(raw), 0, g["blocks_lo"]) + bytes(leaf)
            + b"".join(blk(l) for l in keep))


def ext_inner_seeds():
    if not shutil.which("debugfs"):
        return
    ext = {}

    def img(name):
        if name not in ext:
            ext[name] = load("ext/" + name)
            ext[name + ".g"] = ext_geom(ext[name])
        return ext[name], ext[name + ".g"]

    for name, path in [
        ("ext4-full", "/many"),            # depth 1, a separate leaf block
        ("ext4-full", "/data/big.bin"),
        ("ext4-full", "/data/sparse.bin"),  # hole before the first extent
        ("ext4-huge", "/data/huge-sparse.bin"),  # extents past 2^20
        ("ext4-bigalloc", "/boot/vmlinuz-24"),
        ("ext4-64k", "/boot/vmlinuz-28"),
        ("ext4", "/boot/vmlinuz-5"),
        ("ext4-kernel", "/frag/depth2"),    # written by Linux: depth 2
        ("ext4-kernel", "/frag/depth1"),
        ("ext4-kernel", "/prealloc/partly-written"),  # unwritten extents
    ]:
        im, g = img(name)
        seed = ext_extent_seed(im, g, ext_ino(im, path))
        write("ext2_extents", name + path.replace("/", "_"), seed)
    for name, path in [
        ("ext4-1k-htree", "/many"),          # two levels, half_md4, csum tails
        ("ext4-htree-tea-unsigned", "/many"),
        ("ext4-casefold", "/many"),
        ("ext2-nofiletype-legacy", "/many"),  # block map, legacy names
        ("ext4-kernel", "/big"),             # built by Linux, 28 leaves
    ]:
        im, g = img(name)
        write("ext2_htree", name + path.replace("/", "_"), ext_dir_seed(im, g, path))
    # Linux's three-level large_dir htree (17 MB), cut to one descent.
    im, g = img("ext4-kernel-1k-inline")
    write("ext2_htree", "ext4-kernel-1k-inline_large-cut", ext_htree_path_seed(im, g, "/large"))
    for name, path in [
        ("ext4", "/"),
        ("ext4", "/etc"),
        ("ext4-1k-htree", "/"),
        ("ext4-64k", "/"),                   # rec_len 65536
        ("ext4-inline", "/boot"),           # inline directory
        ("ext2-1k", "/"),
        ("ext2-nofiletype-legacy", "/"),
        ("ext4-casefold", "/"),
    ]:
        im, g = img(name)
        seed = ext_dir_seed(im, g, path, max_blocks=4)
        write("ext2_dirblock", name + (path.replace("/", "_") if path != "/" else "_root"), seed)


def ext_file_blocks(img, g, raw):
    """Physical blocks of an inode's logical blocks 0.. (no holes expected)."""
    bs = g["bs"]
    ib = raw[0x28:0x28 + 60]
    iflags = struct.unpack_from("<I", raw, 0x20)[0]
    out = {}
    if iflags & 0x80000:
        def walk(node):
            magic, entries, mx, depth = struct.unpack_from("<HHHH", node, 0)
            for i in range(entries):
                o = 12 * (i + 1)
                if depth:
                    lo, hi = struct.unpack_from("<IH", node, o + 4)
                    b = lo | hi << 32
                    walk(img[b * bs:(b + 1) * bs])
                else:
                    lb, ln, hi, lo = struct.unpack_from("<IHHI", node, o)
                    for k in range(ln if ln <= 32768 else 0):
                        out[lb + k] = (lo | hi << 32) + k
        walk(ib)
    else:
        ptrs = struct.unpack_from("<15I", ib)
        for i in range(12):
            out[i] = ptrs[i]
        per = bs // 4
        if ptrs[12]:
            ind = struct.unpack_from("<%dI" % per, img, ptrs[12] * bs)
            for i in range(per):
                out[12 + i] = ind[i]
    n = (struct.unpack_from("<I", raw, 4)[0] + bs - 1) // bs
    return [out.get(i, 0) for i in range(n)]


def ufs_dir_chunks_ok(chunk, order, old):
    """Whether a 512-byte chunk is a well-formed run of directory records."""
    pos = 0
    while pos < 512:
        if pos + 8 > 512:
            return False
        ino, reclen = struct.unpack_from(order + "IH", chunk, pos)
        namlen = struct.unpack_from(order + "H", chunk, pos + 6)[0] if old else chunk[pos + 7]
        if reclen < 8 or reclen % 4 or pos + reclen > 512 or (ino and 8 + namlen > reclen):
            return False
        pos += reclen
    return True


def ufs_dirblock_seeds():
    """Directories of the UFS fixtures, found by their "." record at a
    512-byte boundary, kept while their 512-byte chunks are well formed."""
    for fname in sorted(os.listdir(os.path.join(FIX, "ufs"))):
        if not fname.endswith(".img.zst"):
            continue
        name = fname[: -len(".img.zst")]
        img = load("ufs/" + name)
        for sbo in (65536, 8192):
            m = img[sbo + 1372:sbo + 1376]
            if m in (b"\x54\x19\x01\x00", b"\x19\x01\x54\x19"):
                order = "<"
            elif m in (b"\x00\x01\x19\x54", b"\x19\x54\x01\x19"):
                order = ">"
            else:
                continue
            break
        ncg = struct.unpack_from(order + "I", img, sbo + 44)[0]
        bsize = struct.unpack_from(order + "I", img, sbo + 48)[0]
        ipg = struct.unpack_from(order + "I", img, sbo + 184)[0]
        flags = (1 if order == ">" else 0) | ((bsize // 4096).bit_length() - 1) << 2
        dot = struct.pack(order + "HBB", 12, 4, 1) + b".\0\0\0"
        found = []
        pos = img.find(dot, 4)
        while pos != -1:
            start = pos - 4
            if start % 512 == 0:
                end = start
                while end < len(img) and end - start < 64 * 1024 \
                        and ufs_dir_chunks_ok(img[end:end + 512], order, False):
                    end += 512
                if end > start:
                    found.append(img[start:end])
            pos = img.find(dot, pos + 1)
        # The first (the root) and the largest directory found.
        for i, d in enumerate([found[0], max(found, key=len)]):
            hdr = bytes([flags]) + struct.pack("<I", ncg * ipg)
            write("ufs_dirblock", "%s.%d" % (name, i), hdr + d)


def iso_records(img, lba, size):
    """(byte offset, record) of a directory's records."""
    out = []
    pos, end = lba * 2048, lba * 2048 + size
    while pos < end:
        n = img[pos]
        if n == 0:
            pos = (pos // 2048 + 1) * 2048
            continue
        out.append((pos, img[pos:pos + n]))
        pos += n
    return out


def iso_su(rec):
    nl = rec[32]
    return rec[33 + nl + (1 - nl % 2):]


def iso_inner_seeds():
    seen = set()
    for name in ("iso-rr", "iso-rr-joliet", "iso-genisoimage-rj", "iso-zisofs", "iso-eltorito-full",
                 "iso-zisofs2", "iso-zisofs2-big"):
        img = load("iso9660/" + name)
        pvd = img[16 * 2048:17 * 2048]
        root = pvd[156:190]
        lba, size = struct.unpack_from("<I", root, 2)[0], struct.unpack_from("<I", root, 10)[0]
        recs = iso_records(img, lba, size)
        dirs = [(lba, size)] + [
            (struct.unpack_from("<I", r, 2)[0], struct.unpack_from("<I", r, 10)[0])
            for _, r in recs[2:] if r[25] & 2
        ]
        for dl, ds in dirs[:4]:
            for off, rec in iso_records(img, dl, ds):
                su = bytearray(iso_su(rec))
                dev = b""
                # Move a CE area to the start of the device.
                p = 0
                sigs = []
                while p + 4 <= len(su) and su[p + 2] >= 4:
                    sig, ln = bytes(su[p:p + 2]), su[p + 2]
                    sigs.append(sig)
                    if sig == b"CE":
                        blk, o, ln2 = (struct.unpack_from("<I", su, p + q)[0] for q in (4, 12, 20))
                        area = img[blk * 2048 + o:blk * 2048 + o + ln2]
                        struct.pack_into("<I", su, p + 4, 0)
                        struct.pack_into(">I", su, p + 8, 0)
                        dev = bytes(o) + area
                    if sig == b"ZF" and name == "iso-zisofs":
                        zisofs_seed(img, rec, su[p:p + ln])
                    if sig in (b"ZF", b"Z2") and name.startswith("iso-zisofs2"):
                        zisofs_seed(img, rec, su[p:p + ln], v2=True)
                    p += ln
                key = (tuple(sigs), bool(dev))
                if key in seen or not su:
                    continue
                seen.add(key)
                hdr = bytes([0, 2]) + struct.pack("<H", len(su))
                write("iso9660_susp", "%s.%d" % (name, len(seen)), hdr + bytes(su) + dev)
                if len(sigs) >= 3 and not dev:
                    write("iso9660_susp", "%s.%d.ce" % (name, len(seen)), susp_ce_chain(bytes(su)))


def zisofs_seed(img, rec, zf, v2=False):
    """A zisofs file's bytes after the ZF entry's parameters, cut to its
    first four blocks (sizes in the ZF header and the file header adjusted).
    v2: a zisofs2 file (`fuzzing::zisofs2` layout: 64-bit size and block
    pointers), named z2-* so the regression test knows the layout; left out
    when the cut is still over 128 KiB (the target's max_len)."""
    hdr4, log2 = zf[6], zf[7]
    word, size_at = ("<Q", 12) if v2 else ("<I", 8)
    size = struct.unpack_from(word, zf, 8)[0]
    lba, length = struct.unpack_from("<I", rec, 2)[0], struct.unpack_from("<I", rec, 10)[0]
    data = bytearray(img[lba * 2048:lba * 2048 + length])
    bs = 1 << log2
    keep = min(size, 4 * bs)
    nblocks = (keep + bs - 1) // bs
    end = struct.unpack_from(word, data, hdr4 * 4 + struct.calcsize(word) * nblocks)[0]
    data = data[:end]
    struct.pack_into(word, data, size_at, keep)
    head = bytes([hdr4, log2]) + struct.pack(word, keep)
    if v2 and len(head) + len(data) > 131072:
        return
    name = ("z2-%d-%d" if v2 else "%d-%d") % (size, lba)
    write("zisofs", name, head + bytes(data))


def susp_ce(block, offset, length):
    both = lambda v: struct.pack("<I", v) + struct.pack(">I", v)
    return b"CE" + bytes([28, 1]) + both(block) + both(offset) + both(length)


def susp_ce_chain(su):
    """A real system use area split in three: its first entry and a CE to
    the next ones, which end with a CE to the rest (the device's blocks 0
    and 1, 2048-byte blocks)."""
    ents, p = [], 0
    while p + 4 <= len(su) and su[p + 2] >= 4:
        ents.append(su[p:p + su[p + 2]])
        p += su[p + 2]
    k = max(2, len(ents) // 2)
    second, third = b"".join(ents[1:k]), b"".join(ents[k:])
    area1 = second + susp_ce(1, 100, len(third))
    head = ents[0] + susp_ce(0, 0, len(area1))
    dev = area1.ljust(2048 + 100, b"\0") + third
    return bytes([0, 2]) + struct.pack("<H", len(head)) + head + dev


def reiserfs_nodes(img, bs):
    """(block, level) of every ReiserFS tree node, from the superblock's root."""
    root = struct.unpack_from("<I", img, 65536 + 8)[0]
    out, stack, seen = [], [root], set()
    while stack:
        b = stack.pop()
        if b in seen or (b + 1) * bs > len(img):
            continue
        seen.add(b)
        level, n = struct.unpack_from("<HH", img, b * bs)
        out.append((b, level))
        if 1 < level <= 5:
            for i in range(n + 1):
                stack.append(struct.unpack_from("<I", img, b * bs + 24 + n * 16 + i * 8)[0])
    return out


def reiserfs_seeds():
    """reiserfs_image: superblock and every tree node; a `.replay` variant
    (flag 2: journal=replay) adds the log with its header rewound to the
    oldest transaction in it. reiserfs_leaf: each leaf block."""
    for fname in sorted(os.listdir(os.path.join(FIX, "reiserfs"))):
        if not fname.endswith(".img.zst"):
            continue
        name = fname[: -len(".img.zst")]
        img = load("reiserfs/" + name)
        bs = struct.unpack_from("<H", img, 65536 + 44)[0]

        def blk(b):
            return (b * bs, img[b * bs:(b + 1) * bs])

        nodes = reiserfs_nodes(img, bs)
        chunks = [blk(65536 // bs)] + [blk(b) for b, _ in nodes]
        write("reiserfs_image", name, sparse(len(img), chunks))
        first, jsize = struct.unpack_from("<II", img, 65536 + 12)[0], struct.unpack_from("<I", img, 65536 + 20)[0]
        oldest = None
        for off in range(jsize):
            d = img[(first + off) * bs:(first + off + 1) * bs]
            if d[-12:-4] == b"ReIsErLB":
                tid, _, mount = struct.unpack_from("<III", d, 0)
                if oldest is None or tid < oldest[0]:
                    oldest = (tid, off, mount)
        if oldest:
            hdr = bytearray(img[(first + jsize) * bs:(first + jsize + 1) * bs])
            struct.pack_into("<III", hdr, 0, oldest[0] - 1, oldest[1], oldest[2])
            log = [blk(first + i) for i in range(min(jsize, 40)) if any(blk(first + i)[1])]
            write("reiserfs_image", name + ".replay",
                  sparse(len(img), chunks + log + [((first + jsize) * bs, bytes(hdr))], flags=2))
        for b, level in nodes:
            if level == 1:
                write("reiserfs_leaf", "%s.%d" % (name, b), img[b * bs:(b + 1) * bs])


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
            img, size = load_head(kind + "/" + name, 1 << 20)
            blocks, total = [], 0
            for off, b in ext_blocks(img, limit=1 << 20):
                if total + len(b) + 12 <= (240 << 10):
                    blocks.append((off, b))
                    total += len(b) + 12
            write(target, name, sparse(size, blocks))

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

    # Inner parsers: extent trees, htrees, leaf and UFS directory blocks,
    # SUSP areas (and CE chains cut from them), zisofs files.
    ext_inner_seeds()
    ufs_dirblock_seeds()
    iso_inner_seeds()
    reiserfs_seeds()


if __name__ == "__main__":
    sys.exit(main())
