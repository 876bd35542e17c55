//! Reading a descriptor (I/O): the `.ovf` text straight out of an `.ova` tar archive, or
//! a standalone `.ovf` file, without extracting anything. Upstream:
//! `ExtractEnvelope`/`ReadEnvelope` (`cmd/provider-common/ovf/ovf.go`).
//!
//! An archive is streamed member by member: the first member whose name ends in `.ovf`
//! (any case) is the descriptor, as upstream. Its size is checked against
//! [`Limits::max_descriptor_bytes`] before anything is read. After it, the remaining
//! member *headers* are read by seeking over the data (disks are never read), to learn
//! which disk files the archive holds, whether any member is a link or has an absolute
//! or `..` path, and whether the archive is cut short. Nothing is ever written.
//!
//! Descriptors must be UTF-8 (a byte-order mark is accepted); Go's decoder refuses other
//! encodings too.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use tar::{Archive, EntryType};

/// Bounds on what reading one appliance may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest descriptor read, in bytes. Real descriptors are kilobytes.
    pub max_descriptor_bytes: u64,
    /// The most archive members looked at. Real appliances have a handful.
    pub max_archive_members: usize,
    /// The most XML nodes parsed in one descriptor.
    pub max_xml_nodes: u32,
}

impl Default for Limits {
    /// 16 MiB descriptors, 100 000 members, 1 000 000 XML nodes.
    fn default() -> Self {
        Self {
            max_descriptor_bytes: 16 << 20,
            max_archive_members: 100_000,
            max_xml_nodes: 1_000_000,
        }
    }
}

/// Why a descriptor could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("the file cannot be read: {0}")]
    Io(#[from] io::Error),
    /// The archive's tar structure is broken before the descriptor.
    #[error(
        "the archive is not a valid tar file or is damaged before its descriptor ({0}); copy \
         the appliance again"
    )]
    Tar(String),
    /// The archive has no `.ovf` member.
    #[error(
        "the archive has no .ovf descriptor (it ended after {members} members); an OVA must \
         contain one, normally first"
    )]
    NoDescriptor {
        /// How many members were looked at.
        members: usize,
    },
    /// The archive has more members than the limit.
    #[error("the archive has more than {limit} members; it is refused as unreasonable")]
    TooManyMembers {
        /// The limit in force.
        limit: usize,
    },
    /// The descriptor member is a link, not a file.
    #[error(
        "the archive's descriptor member '{member}' is a link, not a file; re-export the \
         appliance"
    )]
    DescriptorIsLink {
        /// The member name.
        member: String,
    },
    /// The descriptor is larger than the limit.
    #[error("the descriptor is {size} bytes, more than the {limit} bytes Ferry reads")]
    DescriptorTooLarge {
        /// Its size.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The archive ends inside the descriptor.
    #[error(
        "the archive ends inside its descriptor '{member}' ({present} of {size} bytes); the \
         copy is incomplete"
    )]
    DescriptorTruncated {
        /// The member name.
        member: String,
        /// Bytes present.
        present: u64,
        /// Bytes announced.
        size: u64,
    },
    /// The descriptor is not UTF-8.
    #[error(
        "the descriptor is not valid UTF-8 (first invalid byte at offset {offset}); Ferry \
         reads UTF-8 descriptors only, as Forklift does"
    )]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
}

impl ReadError {
    /// A stable CamelCase reason for problem reports.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Io(_) => "FileUnreadable",
            Self::Tar(_) => "ArchiveDamaged",
            Self::NoDescriptor { .. } => "DescriptorMissing",
            Self::TooManyMembers { .. } => "ArchiveTooLarge",
            Self::DescriptorIsLink { .. } => "DescriptorIsLink",
            Self::DescriptorTooLarge { .. } => "DescriptorTooLarge",
            Self::DescriptorTruncated { .. } => "ArchiveTruncated",
            Self::NotUtf8 { .. } => "DescriptorNotUtf8",
        }
    }
}

/// What an archive holds besides its descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Names of regular members (without a leading `./`).
    pub files: HashSet<String>,
    /// Members that are links or whose path is absolute or climbs with `..`.
    pub unsafe_members: Vec<String>,
    /// How the archive is cut short or damaged after the descriptor, if it is.
    pub damage: Option<String>,
}

/// A descriptor read from an archive, with what else the archive holds.
#[derive(Debug, Clone)]
pub struct ArchiveDescriptor {
    /// The descriptor text.
    pub xml: String,
    /// The archive's members.
    pub members: Members,
}

/// Reads the descriptor of an `.ova` archive.
pub fn read_ova(path: &Path, limits: &Limits) -> Result<ArchiveDescriptor, ReadError> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut archive = Archive::new(file);
    let mut members = Members::default();
    let mut xml = None;
    let mut count = 0usize;
    let mut last_member = String::new();
    let entries = archive
        .entries_with_seek()
        .map_err(|error| ReadError::Tar(error.to_string()))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(error) if xml.is_none() => return Err(ReadError::Tar(error.to_string())),
            Err(error) => {
                members.damage = Some(format!("is damaged after member '{last_member}' ({error})"));
                break;
            }
        };
        count += 1;
        if count > limits.max_archive_members {
            return Err(ReadError::TooManyMembers {
                limit: limits.max_archive_members,
            });
        }
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let entry_type = entry.header().entry_type();
        let size = entry.size();
        let end = entry.raw_file_position().saturating_add(size);
        let link = matches!(entry_type, EntryType::Symlink | EntryType::Link);
        if link || !is_safe_member_path(&raw_name) {
            members.unsafe_members.push(name.clone());
        }
        let regular = matches!(
            entry_type,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
        );
        if xml.is_none() && has_suffix(&raw_name, b".ovf") {
            if !regular {
                return Err(ReadError::DescriptorIsLink { member: name });
            }
            if size > limits.max_descriptor_bytes {
                return Err(ReadError::DescriptorTooLarge {
                    size,
                    limit: limits.max_descriptor_bytes,
                });
            }
            if end > file_len {
                return Err(ReadError::DescriptorTruncated {
                    member: name,
                    present: size.saturating_sub(end - file_len),
                    size,
                });
            }
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            (&mut entry)
                .take(limits.max_descriptor_bytes)
                .read_to_end(&mut bytes)?;
            xml = Some(utf8(bytes)?);
        } else if end > file_len {
            if xml.is_none() {
                return Err(ReadError::Tar(format!(
                    "the archive ends inside member '{name}'"
                )));
            }
            members.damage = Some(format!(
                "ends inside member '{name}' ({} of {size} bytes present)",
                size.saturating_sub(end - file_len)
            ));
            // The member exists, cut short: the damage concern says so, not "missing".
            if regular && let Ok(text) = std::str::from_utf8(&raw_name) {
                members.files.insert(member_name(text));
            }
            break;
        }
        if regular && let Ok(text) = std::str::from_utf8(&raw_name) {
            members.files.insert(member_name(text));
        }
        last_member = name;
    }
    match xml {
        Some(xml) => Ok(ArchiveDescriptor { xml, members }),
        None => Err(ReadError::NoDescriptor { members: count }),
    }
}

/// Reads a standalone `.ovf` descriptor.
pub fn read_ovf(path: &Path, limits: &Limits) -> Result<String, ReadError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > limits.max_descriptor_bytes {
        return Err(ReadError::DescriptorTooLarge {
            size,
            limit: limits.max_descriptor_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limits.max_descriptor_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits.max_descriptor_bytes {
        return Err(ReadError::DescriptorTooLarge {
            size: bytes.len() as u64,
            limit: limits.max_descriptor_bytes,
        });
    }
    utf8(bytes)
}

/// Which of `names` are regular files in `dir` (following links only inside
/// `canonical_root`). Used for the disk files next to a standalone `.ovf`.
pub fn files_beside<'a>(
    dir: &Path,
    canonical_root: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> HashSet<String> {
    names
        .into_iter()
        .filter(|name| super::convert::is_plain_relative(name) && !name.is_empty())
        .filter(|name| {
            std::fs::canonicalize(dir.join(name))
                .is_ok_and(|target| target.starts_with(canonical_root) && target.is_file())
        })
        .map(str::to_owned)
        .collect()
}

fn utf8(mut bytes: Vec<u8>) -> Result<String, ReadError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|error| ReadError::NotUtf8 {
        offset: error.utf8_error().valid_up_to(),
    })
}

/// A member name as a descriptor's href names it (without a leading `./`).
fn member_name(text: &str) -> String {
    text.strip_prefix("./").unwrap_or(text).to_owned()
}

/// Upstream's descriptor test: the member name, lower-cased, ends in `.ovf`.
fn has_suffix(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// A member path that unpacks inside the current directory: relative, no `..`.
fn is_safe_member_path(name: &[u8]) -> bool {
    !name.starts_with(b"/") && name.split(|byte| *byte == b'/').all(|part| part != b"..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A tar built member by member, with raw control over names and types.
    struct TarWriter {
        bytes: Vec<u8>,
    }

    impl TarWriter {
        fn new() -> Self {
            Self { bytes: Vec::new() }
        }

        fn member(mut self, name: &[u8], entry_type: EntryType, data: &[u8]) -> Self {
            let mut header = tar::Header::new_gnu();
            {
                let gnu = header.as_gnu_mut().unwrap();
                gnu.name[..name.len()].copy_from_slice(name);
            }
            header.set_size(data.len() as u64);
            header.set_entry_type(entry_type);
            header.set_mode(0o644);
            if matches!(entry_type, EntryType::Symlink | EntryType::Link) {
                header.set_link_name("/etc/passwd").unwrap();
                header.set_size(0);
            }
            header.set_cksum();
            self.bytes.extend_from_slice(header.as_bytes());
            if !matches!(entry_type, EntryType::Symlink | EntryType::Link) {
                self.bytes.extend_from_slice(data);
                let pad = (512 - data.len() % 512) % 512;
                self.bytes.extend(std::iter::repeat_n(0, pad));
            }
            self
        }

        fn file(self, name: &str, data: &[u8]) -> Self {
            self.member(name.as_bytes(), EntryType::Regular, data)
        }

        fn finish(mut self) -> Vec<u8> {
            self.bytes.extend(std::iter::repeat_n(0, 1024));
            self.bytes
        }

        fn write_to(self, dir: &Path, name: &str) -> std::path::PathBuf {
            let path = dir.join(name);
            File::create(&path)
                .unwrap()
                .write_all(&self.finish())
                .unwrap();
            path
        }
    }

    const OVF: &[u8] = b"<Envelope/>";

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn reads_the_first_descriptor_and_lists_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = TarWriter::new()
            .file("vm.OVF", OVF)
            .file("./vm-disk1.vmdk", &[1; 1000])
            .file("second.ovf", b"<other/>")
            .write_to(dir.path(), "vm.ova");
        let read = read_ova(&path, &limits()).unwrap();
        assert_eq!(read.xml, "<Envelope/>");
        assert!(read.members.files.contains("vm-disk1.vmdk"));
        assert!(read.members.files.contains("second.ovf"));
        assert!(read.members.unsafe_members.is_empty());
        assert_eq!(read.members.damage, None);
    }

    #[test]
    fn unsafe_members_are_listed_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = TarWriter::new()
            .file("../escape.txt", b"x")
            .file("/etc/cron.d/evil", b"x")
            .member(b"link.vmdk", EntryType::Symlink, b"")
            .member(b"hard.vmdk", EntryType::Link, b"")
            .file("vm.ovf", OVF)
            .write_to(dir.path(), "vm.ova");
        let read = read_ova(&path, &limits()).unwrap();
        assert_eq!(
            read.members.unsafe_members,
            [
                "../escape.txt",
                "/etc/cron.d/evil",
                "link.vmdk",
                "hard.vmdk"
            ]
        );
        assert!(!read.members.files.contains("link.vmdk"));
        assert!(!dir.path().join("escape.txt").exists());
    }

    #[test]
    fn a_linked_descriptor_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = TarWriter::new()
            .member(b"vm.ovf", EntryType::Symlink, b"")
            .write_to(dir.path(), "vm.ova");
        let error = read_ova(&path, &limits()).unwrap_err();
        assert!(
            matches!(error, ReadError::DescriptorIsLink { .. }),
            "{error}"
        );
    }

    #[test]
    fn no_descriptor_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = TarWriter::new()
            .file("disk.vmdk", b"x")
            .write_to(dir.path(), "vm.ova");
        let error = read_ova(&path, &limits()).unwrap_err();
        assert_eq!(error.reason(), "DescriptorMissing");
        assert!(error.to_string().contains("after 1 members"));
    }

    #[test]
    fn truncation_before_and_after_the_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = TarWriter::new()
            .file("vm.ovf", &[b' '; 3000])
            .file("disk.vmdk", &[7; 5000])
            .finish();
        let cut_in_disk = dir.path().join("disk-cut.ova");
        std::fs::write(&cut_in_disk, &bytes[..4096 + 100]).unwrap();
        let read = read_ova(&cut_in_disk, &limits()).unwrap();
        assert_eq!(
            read.members.damage.as_deref(),
            Some("ends inside member 'disk.vmdk' (100 of 5000 bytes present)")
        );
        let cut_in_ovf = dir.path().join("ovf-cut.ova");
        std::fs::write(&cut_in_ovf, &bytes[..1000]).unwrap();
        let error = read_ova(&cut_in_ovf, &limits()).unwrap_err();
        assert_eq!(error.reason(), "ArchiveTruncated", "{error}");
        let cut_in_header = dir.path().join("header-cut.ova");
        std::fs::write(&cut_in_header, &bytes[..100]).unwrap();
        let error = read_ova(&cut_in_header, &limits()).unwrap_err();
        assert!(
            matches!(error, ReadError::Tar(_) | ReadError::NoDescriptor { .. }),
            "{error}"
        );
        let garbage = dir.path().join("garbage.ova");
        std::fs::write(&garbage, [0xAB; 4096]).unwrap();
        assert!(read_ova(&garbage, &limits()).is_err());
    }

    #[test]
    fn descriptor_size_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let small = Limits {
            max_descriptor_bytes: 100,
            ..limits()
        };
        let path = TarWriter::new()
            .file("vm.ovf", &[b' '; 101])
            .write_to(dir.path(), "vm.ova");
        assert!(matches!(
            read_ova(&path, &small),
            Err(ReadError::DescriptorTooLarge {
                size: 101,
                limit: 100
            })
        ));
        let ovf = dir.path().join("big.ovf");
        std::fs::write(&ovf, [b' '; 101]).unwrap();
        assert!(matches!(
            read_ovf(&ovf, &small),
            Err(ReadError::DescriptorTooLarge { .. })
        ));
    }

    #[test]
    fn ten_thousand_members() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = TarWriter::new();
        for i in 0..10_000 {
            writer = writer.file(&format!("f{i}.bin"), b"x");
        }
        let path = writer.file("vm.ovf", OVF).write_to(dir.path(), "vm.ova");
        let read = read_ova(&path, &limits()).unwrap();
        assert_eq!(read.members.files.len(), 10_001);
        let bounded = Limits {
            max_archive_members: 5000,
            ..limits()
        };
        assert!(matches!(
            read_ova(&path, &bounded),
            Err(ReadError::TooManyMembers { limit: 5000 })
        ));
    }

    #[test]
    fn descriptors_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.ovf");
        std::fs::write(&path, b"<Envelope><Name>caf\xe9</Name></Envelope>").unwrap();
        let error = read_ovf(&path, &limits()).unwrap_err();
        assert!(
            matches!(error, ReadError::NotUtf8 { offset: 19 }),
            "{error}"
        );
        std::fs::write(&path, b"\xEF\xBB\xBF<Envelope/>").unwrap();
        assert_eq!(read_ovf(&path, &limits()).unwrap(), "<Envelope/>");
    }

    #[test]
    fn files_beside_a_descriptor_stay_inside_the_catalog() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.vmdk"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("disk.vmdk"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.vmdk"), root.join("link.vmdk")).unwrap();
        let present = files_beside(
            &root,
            &root,
            ["disk.vmdk", "link.vmdk", "gone.vmdk", "../x.vmdk"],
        );
        assert_eq!(present, HashSet::from(["disk.vmdk".to_owned()]));
    }
}
