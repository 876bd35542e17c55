//! Upstream-compatible OVA resource IDs: the first 36 hex characters of SHA-256 over
//! Go's `encoding/gob` encoding of a value (`cmd/provider-common/inventory/uuid.go`,
//! using the gob copy in `pkg/lib/gob`).
//!
//! Networks are hashed by their name (a gob `string`), disks by the whole `VmDisk`
//! record (a gob struct, type descriptor included). Existing NetworkMaps, StorageMaps and
//! Plans written against Forklift name these IDs, so they must come out bit for bit the
//! same. This module is a minimal gob *encoder* for exactly those two shapes, written
//! from the gob wire format:
//!
//! - a stream is a sequence of messages, each `uint(length) ‖ body`;
//! - an unsigned integer below 128 is one byte; otherwise a byte holding the negated
//!   byte count, then the big-endian bytes without leading zeros;
//! - a signed integer `i` is sent as the unsigned `i << 1`, or `(!i << 1) | 1` when
//!   negative;
//! - a top-level non-struct value is `int(type id) ‖ 0x00 ‖ value`; `string` is type 6;
//! - a struct value is a list of `uint(field delta) ‖ value` for its non-zero fields, and
//!   a terminating 0; a user-defined struct type is first described by a message whose
//!   body is `int(-id) ‖ wireType{StructT: structType{CommonType{Name, Id}, Field[]}}`.
//!   `VmDisk` is the first user type of the encoding process, so its id is 65.
//!
//! The test vectors below were produced with the gob copy in upstream's repository.

use sha2::{Digest, Sha256};

/// Gob's type id of `string`.
const STRING_TYPE: i64 = 6;
/// Gob's type id of `int` (every signed integer kind).
const INT_TYPE: i64 = 2;
/// The id gob assigns to the first user-defined type of a process: `VmDisk`.
const VM_DISK_TYPE: i64 = 65;

/// The `VmDisk` record upstream hashes for a disk ID (`cmd/provider-common/ovf/vm.go`),
/// with `ID` still empty, fields in upstream's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VmDiskRecord<'a> {
    /// `Name`: the disk file name (`References/File/@href`).
    pub name: &'a str,
    /// `FilePath`: the `.ova` path, or the `.ovf` directory with a trailing `/`.
    pub file_path: &'a str,
    /// `Capacity`, as written in the descriptor.
    pub capacity: i64,
    /// `CapacityAllocationUnits`.
    pub capacity_allocation_units: &'a str,
    /// `DiskId`.
    pub disk_id: &'a str,
    /// `FileRef`.
    pub file_ref: &'a str,
    /// `Format`.
    pub format: &'a str,
    /// `PopulatedSize`.
    pub populated_size: i64,
}

/// The upstream ID of a network: the hash of its name.
pub fn network_id(name: &str) -> String {
    id_of(&encode_string(name))
}

/// The upstream ID of a disk: the hash of its `VmDisk` record.
pub fn disk_id(disk: &VmDiskRecord<'_>) -> String {
    id_of(&encode_vm_disk(disk))
}

/// `hex(sha256(bytes))[:36]`.
fn id_of(bytes: &[u8]) -> String {
    let mut id = hex::encode(Sha256::digest(bytes));
    id.truncate(36);
    id
}

/// The gob stream of a single `string` value.
pub fn encode_string(value: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(value.len() + 12);
    put_int(&mut body, STRING_TYPE);
    put_uint(&mut body, 0);
    put_string(&mut body, value);
    message(&body)
}

/// The gob stream of a single `VmDisk` value: its type descriptor, then the value.
pub fn encode_vm_disk(disk: &VmDiskRecord<'_>) -> Vec<u8> {
    let mut stream = message(&vm_disk_descriptor());
    let mut body = Vec::new();
    put_int(&mut body, VM_DISK_TYPE);
    let mut fields = StructWriter::new(&mut body);
    // Field 0 is `ID`, always empty when upstream hashes the record.
    fields.string(1, disk.name);
    fields.string(2, disk.file_path);
    fields.int(3, disk.capacity);
    fields.string(4, disk.capacity_allocation_units);
    fields.string(5, disk.disk_id);
    fields.string(6, disk.file_ref);
    fields.string(7, disk.format);
    fields.int(8, disk.populated_size);
    fields.end();
    stream.extend_from_slice(&message(&body));
    stream
}

/// The body of the message that defines `VmDisk` as type 65.
fn vm_disk_descriptor() -> Vec<u8> {
    const FIELDS: [(&str, i64); 9] = [
        ("ID", STRING_TYPE),
        ("Name", STRING_TYPE),
        ("FilePath", STRING_TYPE),
        ("Capacity", INT_TYPE),
        ("CapacityAllocationUnits", STRING_TYPE),
        ("DiskId", STRING_TYPE),
        ("FileRef", STRING_TYPE),
        ("Format", STRING_TYPE),
        ("PopulatedSize", INT_TYPE),
    ];
    let mut body = Vec::with_capacity(160);
    put_int(&mut body, -VM_DISK_TYPE);
    // wireType{StructT (field 2): structType{...}}
    put_uint(&mut body, 3);
    // structType field 0: the embedded CommonType{Name, Id}.
    put_uint(&mut body, 1);
    put_uint(&mut body, 1);
    put_string(&mut body, "VmDisk");
    put_uint(&mut body, 1);
    put_int(&mut body, VM_DISK_TYPE);
    put_uint(&mut body, 0);
    // structType field 1: Field []fieldType{Name, Id}.
    put_uint(&mut body, 1);
    put_uint(&mut body, FIELDS.len() as u64);
    for (name, type_id) in FIELDS {
        put_uint(&mut body, 1);
        put_string(&mut body, name);
        put_uint(&mut body, 1);
        put_int(&mut body, type_id);
        put_uint(&mut body, 0);
    }
    // End of structType, end of wireType.
    put_uint(&mut body, 0);
    put_uint(&mut body, 0);
    body
}

/// Writes the non-zero fields of a struct value with gob's field deltas.
struct StructWriter<'a> {
    out: &'a mut Vec<u8>,
    last: i64,
}

impl<'a> StructWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, last: -1 }
    }

    fn field(&mut self, index: i64) {
        put_uint(self.out, (index - self.last) as u64);
        self.last = index;
    }

    fn string(&mut self, index: i64, value: &str) {
        if !value.is_empty() {
            self.field(index);
            put_string(self.out, value);
        }
    }

    fn int(&mut self, index: i64, value: i64) {
        if value != 0 {
            self.field(index);
            put_int(self.out, value);
        }
    }

    fn end(self) {
        put_uint(self.out, 0);
    }
}

/// `uint(len(body)) ‖ body`.
fn message(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    put_uint(&mut out, body.len() as u64);
    out.extend_from_slice(body);
    out
}

fn put_uint(out: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    let bytes = value.to_be_bytes();
    let skip = (value.leading_zeros() / 8) as usize;
    let count = bytes.len() - skip;
    out.push((count as u8).wrapping_neg());
    out.extend_from_slice(&bytes[skip..]);
}

fn put_int(out: &mut Vec<u8>, value: i64) {
    let folded = if value < 0 {
        ((!value as u64) << 1) | 1
    } else {
        (value as u64) << 1
    };
    put_uint(out, folded);
}

fn put_string(out: &mut Vec<u8>, value: &str) {
    put_uint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM_OPTIMIZED: &str =
        "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

    #[test]
    fn network_ids_match_upstream() {
        assert_eq!(
            hex::encode(encode_string("VM Network")),
            "0d0c000a564d204e6574776f726b"
        );
        assert_eq!(
            network_id("VM Network"),
            "ae1badc8c693926f492a01e2f357d6af321b"
        );
        assert_eq!(
            network_id("Network 1"),
            "1a45ba1b60b03ce5360b3fff82e16668d795"
        );
        assert_eq!(network_id(""), "c230a088c614efa573bac9119c52b022adfc");
        assert_eq!(
            network_id("héllo wörld"),
            "9428f316c7c11d50ed710639b3eea504e648"
        );
    }

    #[test]
    fn long_strings_use_multi_byte_lengths() {
        // 124 bytes is the longest string whose message length fits one byte.
        assert_eq!(
            network_id(&"x".repeat(124)),
            "f633b1fd137fe0011b249577179f1e9e01c4"
        );
        assert!(hex::encode(encode_string(&"y".repeat(125))).starts_with("ff800c007d"));
        assert_eq!(
            network_id(&"y".repeat(125)),
            "26464acbcb93b32c9ea859af0009c682444d"
        );
        assert!(hex::encode(encode_string(&"z".repeat(300))).starts_with("fe01310c00fe012c"));
        assert_eq!(
            network_id(&"z".repeat(300)),
            "9999fc24eae378897c0d9ab98d1bff8013a2"
        );
        assert_eq!(
            network_id(&"w".repeat(70000)),
            "08231cb7d0adba4ea94d517636d1075a2d4c"
        );
    }

    #[test]
    fn centos44_disk_id_matches_upstream() {
        let disk = VmDiskRecord {
            name: "centos44_new-disk1.vmdk",
            file_path: "/ova/centos44.ova",
            capacity: 8_589_934_592,
            capacity_allocation_units: "byte",
            disk_id: "vmdisk1",
            file_ref: "file1",
            format: STREAM_OPTIMIZED,
            populated_size: 0,
        };
        assert_eq!(
            hex::encode(encode_vm_disk(&disk)),
            concat!(
                "ff8eff8103010106566d4469736b01ff8200010901024944010c0001044e616d65010c",
                "00010846696c6550617468010c000108436170616369747901040001174361706163",
                "697479416c6c6f636174696f6e556e697473010c0001064469736b4964010c000107",
                "46696c65526566010c000106466f726d6174010c00010d506f70756c617465645369",
                "7a650104000000ff97ff82021763656e746f7334345f6e65772d6469736b312e766d",
                "646b01112f6f76612f63656e746f7334342e6f766101fb0400000000010462797465",
                "0107766d6469736b31010566696c65310149687474703a2f2f7777772e766d776172",
                "652e636f6d2f696e74657266616365732f73706563696669636174696f6e732f766d",
                "646b2e68746d6c2373747265616d4f7074696d697a656400"
            )
        );
        assert_eq!(disk_id(&disk), "dfe5d9e97ea86a094492a5958373f748252e");
    }

    #[test]
    fn disk_ids_with_zero_negative_and_extreme_fields_match_upstream() {
        let negative = VmDiskRecord {
            name: "d.vmdk",
            file_path: "/ova/sub/",
            capacity: -5,
            populated_size: 123_456_789,
            ..VmDiskRecord::default()
        };
        assert_eq!(disk_id(&negative), "b8ca6c08cb820d67b072c431a3a6d5a98ff3");
        assert_eq!(
            disk_id(&VmDiskRecord::default()),
            "cf294db47626fe13b0024696b19c0bb4e066"
        );
        let name = "n".repeat(200);
        let path = "p".repeat(5000);
        let extreme = VmDiskRecord {
            name: &name,
            file_path: &path,
            capacity: i64::MAX,
            capacity_allocation_units: "byte * 2^20",
            disk_id: "vmdisk2",
            file_ref: "file2",
            format: "f",
            populated_size: i64::MIN,
        };
        assert_eq!(disk_id(&extreme), "4a49ca122158c63403c05658d4220dce1ba6");
    }
}
