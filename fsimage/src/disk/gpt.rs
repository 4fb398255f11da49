//! GUID Partition Table.
//!
//! Layout and checks from UEFI 2.10 §5.3 "GUID Partition Table (GPT) Disk
//! Layout": header (Table 5.5) at LBA 1, HeaderCRC32 over HeaderSize bytes
//! with the CRC field zeroed, entry array (Table 5.6) at PartitionEntryLBA
//! with its own CRC32; on a bad primary, the backup header at the last LBA.
//! The logical block size is 512 or 4096: whichever has "EFI PART" at LBA 1.

use super::{DiskError, DiskLayout, PartType, Partition, Scheme, TableKind};
use fsimage_abi::ReadAt;
use zerocopy::byteorder::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

/// Largest entry array read (bytes): 64 times the usual 16 KiB, far above
/// anything a partitioning tool writes, small enough to allocate.
pub const MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;

const SIGNATURE: &[u8; 8] = b"EFI PART";
/// Legacy BIOS Bootable attribute (UEFI Table 5.7, bit 2).
pub const ATTR_LEGACY_BIOS_BOOTABLE: u64 = 1 << 2;

/// UEFI §5.3.2 Table 5.5: GPT header.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Clone)]
#[repr(C)]
struct GptHeader {
    signature: [u8; 8],
    revision: U32,
    header_size: U32,
    header_crc32: U32,
    reserved: U32,
    my_lba: U64,
    alternate_lba: U64,
    first_usable_lba: U64,
    last_usable_lba: U64,
    disk_guid: [u8; 16],
    partition_entry_lba: U64,
    number_of_partition_entries: U32,
    size_of_partition_entry: U32,
    partition_entry_array_crc32: U32,
}
const _: () = assert!(size_of::<GptHeader>() == 92);

/// UEFI §5.3.3 Table 5.6: GPT partition entry.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct GptPartitionEntry {
    partition_type_guid: [u8; 16],
    unique_partition_guid: [u8; 16],
    starting_lba: U64,
    ending_lba: U64,
    attributes: U64,
    partition_name: [U16; 36],
}
const _: () = assert!(size_of::<GptPartitionEntry>() == 128);

/// A GUID in the mixed-endian textual form sgdisk/sfdisk print
/// (`0FC63DAF-8483-4772-8E79-3D69D8477DE4`): the first three fields are
/// little-endian on disk, the last two are byte strings.
pub fn guid_string(g: &[u8; 16]) -> String {
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        g[3],
        g[2],
        g[1],
        g[0],
        g[5],
        g[4],
        g[7],
        g[6],
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

/// Role of a known partition type in root choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A root filesystem type (Solaris root, Linux root of any architecture).
    Root,
    /// EFI System, BIOS boot, or swap: never the root.
    NotRoot,
    /// Anything else.
    Other,
}

/// Known partition type GUIDs: textual form, name, role.
const KNOWN: &[(&str, &str, Role)] = &[
    (
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        "EFI System",
        Role::NotRoot,
    ),
    (
        "21686148-6449-6E6F-744E-656564454649",
        "BIOS boot",
        Role::NotRoot,
    ),
    (
        "024DEE41-33E7-11D3-9D69-0008C781F39F",
        "MBR partition scheme",
        Role::Other,
    ),
    (
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "Linux filesystem",
        Role::Other,
    ),
    (
        "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
        "Linux swap",
        Role::NotRoot,
    ),
    (
        "44479540-F297-41B2-9AF7-D131D5F0458A",
        "Linux root (x86)",
        Role::Root,
    ),
    (
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
        "Linux root (x86-64)",
        Role::Root,
    ),
    (
        "69DAD710-2CE4-4E3C-B16C-21A1D49ABED3",
        "Linux root (ARM)",
        Role::Root,
    ),
    (
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
        "Linux root (ARM-64)",
        Role::Root,
    ),
    (
        "993D8D3D-F80E-4225-855A-9DAF8ED7EA97",
        "Linux root (IA-64)",
        Role::Root,
    ),
    (
        "77055800-792C-4F94-B39A-98C91B762BB6",
        "Linux root (LoongArch-64)",
        Role::Root,
    ),
    (
        "60D5A7FE-8E7D-435C-B714-3DD8162144E1",
        "Linux root (RISC-V-32)",
        Role::Root,
    ),
    (
        "72EC70A6-CF74-40E6-BD49-4BDA08E8F224",
        "Linux root (RISC-V-64)",
        Role::Root,
    ),
    (
        "933AC7E1-2EB4-4F13-B844-0E14E2AEF915",
        "Linux home",
        Role::Other,
    ),
    (
        "3B8F8425-20E0-4F3B-907F-1A25A76F98E8",
        "Linux server data",
        Role::Other,
    ),
    (
        "4D21B016-B534-45C2-A9FB-5C16E091FD2D",
        "Linux variable data",
        Role::Other,
    ),
    (
        "8484680C-9521-48C6-9C11-B0720656F69E",
        "Linux /usr (x86-64)",
        Role::Other,
    ),
    (
        "BC13C2FF-59E6-4262-A352-B275FD6F7172",
        "Linux extended boot",
        Role::Other,
    ),
    (
        "E6D6D379-F507-44C2-A23C-238F2A3DF928",
        "Linux LVM",
        Role::Other,
    ),
    (
        "A19D880F-05FC-4D3B-A006-743F0F84911E",
        "Linux RAID",
        Role::Other,
    ),
    (
        "8DA63339-0007-60C0-C436-083AC8230908",
        "Linux reserved",
        Role::Other,
    ),
    (
        "6A82CB45-1DD2-11B2-99A6-080020736631",
        "Solaris boot",
        Role::Other,
    ),
    (
        "6A85CF4D-1DD2-11B2-99A6-080020736631",
        "Solaris root",
        Role::Root,
    ),
    (
        "6A898CC3-1DD2-11B2-99A6-080020736631",
        "Solaris /usr & Apple ZFS",
        Role::Other,
    ),
    (
        "6A87C46F-1DD2-11B2-99A6-080020736631",
        "Solaris swap",
        Role::NotRoot,
    ),
    (
        "6A8B642B-1DD2-11B2-99A6-080020736631",
        "Solaris backup",
        Role::Other,
    ),
    (
        "6A8EF2E9-1DD2-11B2-99A6-080020736631",
        "Solaris /var",
        Role::Other,
    ),
    (
        "6A90BA39-1DD2-11B2-99A6-080020736631",
        "Solaris /home",
        Role::Other,
    ),
    (
        "6A9283A5-1DD2-11B2-99A6-080020736631",
        "Solaris alternate sector",
        Role::Other,
    ),
    (
        "6A945A3B-1DD2-11B2-99A6-080020736631",
        "Solaris reserved",
        Role::Other,
    ),
    (
        "516E7CB4-6ECF-11D6-8FF8-00022D09712B",
        "FreeBSD data",
        Role::Other,
    ),
    (
        "83BD6B9D-7F41-11DC-BE0B-001560B84F0F",
        "FreeBSD boot",
        Role::Other,
    ),
    (
        "516E7CB5-6ECF-11D6-8FF8-00022D09712B",
        "FreeBSD swap",
        Role::NotRoot,
    ),
    (
        "516E7CB6-6ECF-11D6-8FF8-00022D09712B",
        "FreeBSD UFS",
        Role::Other,
    ),
    (
        "516E7CBA-6ECF-11D6-8FF8-00022D09712B",
        "FreeBSD ZFS",
        Role::Other,
    ),
    (
        "516E7CB8-6ECF-11D6-8FF8-00022D09712B",
        "FreeBSD Vinum",
        Role::Other,
    ),
    (
        "48465300-0000-11AA-AA11-00306543ECAC",
        "Apple HFS/HFS+",
        Role::Other,
    ),
    (
        "7C3457EF-0000-11AA-AA11-00306543ECAC",
        "Apple APFS",
        Role::Other,
    ),
    (
        "55465300-0000-11AA-AA11-00306543ECAC",
        "Apple UFS",
        Role::Other,
    ),
    (
        "426F6F74-0000-11AA-AA11-00306543ECAC",
        "Apple boot",
        Role::Other,
    ),
    (
        "E3C9E316-0B5C-4DB8-817D-F92DF00215AE",
        "Microsoft reserved",
        Role::Other,
    ),
    (
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        "Microsoft basic data",
        Role::Other,
    ),
    (
        "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC",
        "Windows recovery environment",
        Role::Other,
    ),
    (
        "49F48D32-B10E-11DC-B99B-0019D1879648",
        "NetBSD swap",
        Role::NotRoot,
    ),
    (
        "49F48D5A-B10E-11DC-B99B-0019D1879648",
        "NetBSD FFS",
        Role::Other,
    ),
    (
        "824CC7A0-36A8-11E3-890A-952519AD3F61",
        "OpenBSD data",
        Role::Other,
    ),
];

fn lookup(g: &[u8; 16]) -> Option<(&'static str, Role)> {
    let s = guid_string(g);
    KNOWN
        .iter()
        .find(|(text, _, _)| *text == s)
        .map(|&(_, name, role)| (name, role))
}

/// Name of a known partition type GUID.
pub fn type_name(g: &[u8; 16]) -> Option<&'static str> {
    lookup(g).map(|(n, _)| n)
}

/// Root-choice role of a partition type GUID.
pub fn role(g: &[u8; 16]) -> Role {
    lookup(g).map_or(Role::Other, |(_, r)| r)
}

/// 512 or 4096 if "EFI PART" is at byte 512 or 4096 (LBA 1 of either).
pub fn detect_sector_size(disk: &dyn ReadAt) -> Option<u32> {
    [512u32, 4096].into_iter().find(|&ss| {
        let mut sig = [0u8; 8];
        disk.read_exact_at(u64::from(ss), &mut sig).is_ok() && &sig == SIGNATURE
    })
}

/// A header that passed every check, with its entry array.
struct GoodHeader {
    header: GptHeader,
    entries: Vec<u8>,
}

/// Reads and checks the header at `lba` and its entry array.
fn read_header(disk: &dyn ReadAt, ss: u32, lba: u64) -> Result<GoodHeader, String> {
    let ss64 = u64::from(ss);
    let at = lba
        .checked_mul(ss64)
        .ok_or_else(|| "LBA overflows a byte offset".to_owned())?;
    let block = disk
        .read_vec_at(at, ss as usize)
        .map_err(|e| e.to_string())?;
    let header = GptHeader::read_from_prefix(&block)
        .map_err(|_| "block shorter than a header".to_owned())?
        .0;
    if &header.signature != SIGNATURE {
        return Err("no \"EFI PART\" signature".to_owned());
    }
    let hsize = header.header_size.get();
    if hsize < 92 || hsize > ss {
        return Err(format!("HeaderSize {hsize} not in 92..={ss}"));
    }
    let mut copy = block.get(..hsize as usize).unwrap_or_default().to_vec();
    if let Some(crc_field) = copy.get_mut(16..20) {
        crc_field.fill(0);
    }
    let crc = crc32fast::hash(&copy);
    if crc != header.header_crc32.get() {
        return Err(format!(
            "HeaderCRC32 0x{:08x} but the header sums to 0x{crc:08x}",
            header.header_crc32.get()
        ));
    }
    if header.my_lba.get() != lba {
        return Err(format!(
            "MyLBA {} but the header is at LBA {lba}",
            header.my_lba.get()
        ));
    }
    let (first, last) = (header.first_usable_lba.get(), header.last_usable_lba.get());
    if first > last {
        return Err(format!("FirstUsableLBA {first} > LastUsableLBA {last}"));
    }
    let esize = header.size_of_partition_entry.get();
    // UEFI: 128 * 2^n bytes.
    if esize < 128 || !esize.is_power_of_two() {
        return Err(format!("SizeOfPartitionEntry {esize} is not 128 x 2^n"));
    }
    let count = header.number_of_partition_entries.get();
    let total = u64::from(count) * u64::from(esize);
    if total > MAX_ENTRY_ARRAY_BYTES {
        return Err(format!(
            "entry array of {count} x {esize} bytes exceeds the {MAX_ENTRY_ARRAY_BYTES}-byte limit"
        ));
    }
    let array_at = header
        .partition_entry_lba
        .get()
        .checked_mul(ss64)
        .ok_or_else(|| "PartitionEntryLBA overflows".to_owned())?;
    // total <= 1 MiB: fits usize.
    let entries = disk.read_vec_at(array_at, total as usize).map_err(|e| {
        format!(
            "entry array at LBA {}: {e}",
            header.partition_entry_lba.get()
        )
    })?;
    let crc = crc32fast::hash(&entries);
    if crc != header.partition_entry_array_crc32.get() {
        return Err(format!(
            "PartitionEntryArrayCRC32 0x{:08x} but the array sums to 0x{crc:08x}",
            header.partition_entry_array_crc32.get()
        ));
    }
    Ok(GoodHeader { header, entries })
}

/// Fills `layout` from the GPT: the primary header if it is good, else the
/// backup (warned). Fails when neither is usable.
pub fn parse(disk: &dyn ReadAt, layout: &mut DiskLayout) -> Result<(), DiskError> {
    let sizes: Vec<u32> = match detect_sector_size(disk) {
        Some(ss) => vec![ss],
        None => vec![512, 4096],
    };
    let mut faults = Vec::new();
    for &ss in &sizes {
        let primary = read_header(disk, ss, 1);
        let good = match primary {
            Ok(g) => g,
            Err(why_primary) => {
                let last = (disk.size() / u64::from(ss)).saturating_sub(1);
                match read_header(disk, ss, last) {
                    Ok(g) => {
                        layout.warnings.push(format!(
                            "primary GPT header at LBA 1 is bad ({why_primary}); using the backup header at LBA {last}"
                        ));
                        g
                    }
                    Err(why_backup) => {
                        faults.push(format!(
                            "{ss}-byte sectors: primary header at LBA 1: {why_primary}; backup header at LBA {last}: {why_backup}"
                        ));
                        continue;
                    }
                }
            }
        };
        fill(disk, ss, &good, layout);
        return Ok(());
    }
    Err(DiskError::Gpt(faults.join("; ")))
}

fn fill(disk: &dyn ReadAt, ss: u32, good: &GoodHeader, layout: &mut DiskLayout) {
    layout.table = TableKind::Gpt;
    layout.sector_size = ss;
    let ss64 = u64::from(ss);
    let esize = good.header.size_of_partition_entry.get() as usize;
    let disk_size = disk.size();
    for (i, raw) in good.entries.chunks_exact(esize).enumerate() {
        let Ok((e, _)) = GptPartitionEntry::ref_from_prefix(raw) else {
            continue;
        };
        if e.partition_type_guid == [0u8; 16] {
            continue; // unused entry
        }
        let (first, last) = (e.starting_lba.get(), e.ending_lba.get());
        let name_units: Vec<u16> = e
            .partition_name
            .iter()
            .map(|u| u.get())
            .take_while(|&u| u != 0)
            .collect();
        let name = char::decode_utf16(name_units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>();
        let attributes = e.attributes.get();
        let start = first.checked_mul(ss64);
        let size = last
            .checked_sub(first)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_mul(ss64));
        let base = Partition {
            name: Some(name),
            bootable: attributes & ATTR_LEGACY_BIOS_BOOTABLE != 0,
            attributes,
            ..Partition::new(
                (i + 1).to_string(),
                Scheme::Gpt,
                start.unwrap_or(u64::MAX),
                size.unwrap_or(0),
                PartType::Gpt(e.partition_type_guid),
            )
        };
        let p = match (start, size) {
            (None, _) | (_, None) if last < first => {
                base.invalid(format!("EndingLBA {last} is before StartingLBA {first}"))
            }
            (None, _) | (_, None) => base.invalid("LBA range overflows a byte offset"),
            _ => Partition::checked(base, (0, disk_size), "the disk"),
        };
        layout.partitions.push(p);
    }
}
