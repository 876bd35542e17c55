//! Parsing an OVF descriptor (pure): the elements upstream's `ovf.go` decodes, with
//! Go `encoding/xml` matching rules, into an [`Envelope`].
//!
//! Matching, as upstream's Go decoder does it:
//!
//! - elements and attributes are matched by **local name** in any namespace
//!   (`ovf:capacity`, `rasd:ElementName`, `vmw:osType` all match), except `Config` and
//!   `ExtraConfig`, which must be in the VMware namespace ([`VMW_NS`]);
//! - only **direct children** are looked at: `VirtualSystem`s nested in a
//!   `VirtualSystemCollection` are not VMs (upstream does not support collections;
//!   Ferry reports them, see [`Envelope::has_system_collection`]);
//! - an element's text is its own character data, not that of nested elements;
//! - when a single-valued element or attribute repeats, the last one wins; repeated
//!   sections (`DiskSection`, `NetworkSection`, `References`, `VirtualHardwareSection`)
//!   accumulate;
//! - integers are trimmed and parsed in base 10, empty means 0.
//!
//! Where Ferry is more careful than upstream: a malformed number does not reject the
//! whole descriptor (upstream's decoder fails and the appliance silently disappears);
//! it is kept as [`Int::Invalid`] so the VM is listed with a concern saying which value
//! is wrong. Numbers are 64-bit throughout (upstream parses `VirtualQuantity` as 32-bit,
//! so memory given in bytes fails there). Descriptors with a DTD are refused outright
//! (no entity expansion of any kind: XXE, billion laughs), and the parser's node count
//! is bounded.

use roxmltree::{Document, Node, ParsingOptions};

/// The VMware OVF extension namespace (`vmw:`).
pub const VMW_NS: &str = "http://www.vmware.com/schema/ovf";
/// The namespace every XML document implicitly declares; not a product marker.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Why a descriptor cannot be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OvfError {
    /// The descriptor declares a DTD (`<!DOCTYPE ...>`).
    #[error(
        "the descriptor declares a DTD (<!DOCTYPE>); DTDs are refused so that no entity \
         can be expanded (XXE, billion laughs). Re-export the appliance, or remove the \
         DOCTYPE"
    )]
    Dtd,
    /// The descriptor has more XML nodes than the configured limit.
    #[error("the descriptor has more than {limit} XML nodes; it is refused as too large")]
    TooManyNodes {
        /// The limit in force.
        limit: u32,
    },
    /// The descriptor is not well-formed XML.
    #[error("the descriptor is not well-formed XML: {0}")]
    Xml(String),
    /// The root element is not an OVF `Envelope`.
    #[error("the root element is <{0}>, not an OVF <Envelope>")]
    NotAnEnvelope(String),
}

/// An integer read from the descriptor: upstream treats an empty value as 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Int {
    /// A valid (or empty → 0) value.
    Value(i64),
    /// Text that is not a 64-bit integer, as found.
    Invalid(String),
}

impl Int {
    fn parse(text: &str) -> Self {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Self::Value(0);
        }
        trimmed
            .parse()
            .map_or_else(|_| Self::Invalid(text.to_owned()), Self::Value)
    }

    /// The value, 0 when invalid.
    pub fn value(&self) -> i64 {
        match self {
            Self::Value(value) => *value,
            Self::Invalid(_) => 0,
        }
    }
}

impl Default for Int {
    fn default() -> Self {
        Self::Value(0)
    }
}

/// The parts of an OVF `Envelope` upstream reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The values of the `Envelope`'s namespace declarations and attributes, used to
    /// guess the exporting product.
    pub attribute_values: Vec<String>,
    /// `References/File/@href`, in order.
    pub files: Vec<String>,
    /// `DiskSection/Disk`, in order.
    pub disks: Vec<DiskDescriptor>,
    /// `NetworkSection/Network`, in order.
    pub networks: Vec<NetworkDescriptor>,
    /// `VirtualSystem`s that are direct children of the `Envelope`.
    pub systems: Vec<VirtualSystem>,
    /// Whether the envelope holds a `VirtualSystemCollection` (its systems are ignored).
    pub has_system_collection: bool,
}

/// `DiskSection/Disk` attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskDescriptor {
    /// `@capacity`.
    pub capacity: Int,
    /// `@capacityAllocationUnits`.
    pub capacity_allocation_units: String,
    /// `@diskId`.
    pub disk_id: String,
    /// `@fileRef`.
    pub file_ref: String,
    /// `@format`.
    pub format: String,
    /// `@populatedSize`.
    pub populated_size: Int,
}

/// `NetworkSection/Network`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkDescriptor {
    /// `@name`.
    pub name: String,
    /// `Description`.
    pub description: String,
}

/// A `VirtualSystem`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualSystem {
    /// `@id`.
    pub id: String,
    /// `Name`, if present.
    pub name: Option<String>,
    /// `OperatingSystemSection/@osType`.
    pub os_type: String,
    /// `OperatingSystemSection/Description`.
    pub os_description: String,
    /// `VirtualHardwareSection/Item`, across every hardware section, in order.
    pub items: Vec<Item>,
    /// `VirtualHardwareSection/vmw:Config`, in order.
    pub configs: Vec<Config>,
    /// `VirtualHardwareSection/vmw:ExtraConfig`, in order.
    pub extra_configs: Vec<Config>,
}

/// A `VirtualHardwareSection/Item` (a CIM resource allocation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// `AllocationUnits`.
    pub allocation_units: String,
    /// `Description`.
    pub description: String,
    /// `ElementName`.
    pub element_name: String,
    /// `InstanceID`.
    pub instance_id: String,
    /// `ResourceType` (3 CPU, 4 memory, 10 NIC, 17 disk, ...).
    pub resource_type: Int,
    /// `VirtualQuantity`.
    pub virtual_quantity: Int,
    /// `Address` (a MAC address for NICs).
    pub address: String,
    /// `ResourceSubType`.
    pub resource_sub_type: String,
    /// `Parent`.
    pub parent: String,
    /// `HostResource`.
    pub host_resource: String,
    /// `Connection`: the network name a NIC is attached to.
    pub connection: String,
    /// `CoresPerSocket` (VMware's `vmw:CoresPerSocket`), raw.
    pub cores_per_socket: String,
}

/// A `vmw:Config` or `vmw:ExtraConfig` key/value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `@key`.
    pub key: String,
    /// `@value`.
    pub value: String,
    /// `@required`.
    pub required: String,
}

/// Parses a descriptor. `max_nodes` bounds the XML tree size.
pub fn parse(xml: &str, max_nodes: u32) -> Result<Envelope, OvfError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: max_nodes,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(xml, options).map_err(|error| match error {
        roxmltree::Error::DtdDetected => OvfError::Dtd,
        roxmltree::Error::NodesLimitReached => OvfError::TooManyNodes { limit: max_nodes },
        other => OvfError::Xml(other.to_string()),
    })?;
    let root = document.root_element();
    if root.tag_name().name() != "Envelope" {
        return Err(OvfError::NotAnEnvelope(root.tag_name().name().to_owned()));
    }
    let mut envelope = Envelope::default();
    envelope.attribute_values.extend(
        root.namespaces()
            .filter(|namespace| namespace.uri() != XML_NS)
            .map(|namespace| namespace.uri().to_owned()),
    );
    envelope.attribute_values.extend(
        root.attributes()
            .map(|attribute| attribute.value().to_owned()),
    );
    for child in root.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "References" => envelope
                .files
                .extend(children(child, "File").map(|file| attribute(file, "href").to_owned())),
            "DiskSection" => envelope
                .disks
                .extend(children(child, "Disk").map(disk_descriptor)),
            "NetworkSection" => {
                envelope
                    .networks
                    .extend(children(child, "Network").map(|network| NetworkDescriptor {
                        name: attribute(network, "name").to_owned(),
                        description: text_of(network, "Description"),
                    }))
            }
            "VirtualSystem" => envelope.systems.push(virtual_system(child)),
            "VirtualSystemCollection" => envelope.has_system_collection = true,
            _ => {}
        }
    }
    Ok(envelope)
}

fn disk_descriptor(disk: Node<'_, '_>) -> DiskDescriptor {
    DiskDescriptor {
        capacity: Int::parse(attribute(disk, "capacity")),
        capacity_allocation_units: attribute(disk, "capacityAllocationUnits").to_owned(),
        disk_id: attribute(disk, "diskId").to_owned(),
        file_ref: attribute(disk, "fileRef").to_owned(),
        format: attribute(disk, "format").to_owned(),
        populated_size: Int::parse(attribute(disk, "populatedSize")),
    }
}

fn virtual_system(node: Node<'_, '_>) -> VirtualSystem {
    let mut system = VirtualSystem {
        id: attribute(node, "id").to_owned(),
        name: last_child(node, "Name").map(own_text),
        ..VirtualSystem::default()
    };
    if let Some(os) = last_child(node, "OperatingSystemSection") {
        system.os_type = attribute(os, "osType").to_owned();
        system.os_description = text_of(os, "Description");
    }
    for hardware in children(node, "VirtualHardwareSection") {
        for child in hardware.children().filter(Node::is_element) {
            match child.tag_name().name() {
                "Item" => system.items.push(item(child)),
                "Config" if is_vmware(child) => system.configs.push(config(child)),
                "ExtraConfig" if is_vmware(child) => system.extra_configs.push(config(child)),
                _ => {}
            }
        }
    }
    system
}

fn item(node: Node<'_, '_>) -> Item {
    Item {
        allocation_units: text_of(node, "AllocationUnits"),
        description: text_of(node, "Description"),
        element_name: text_of(node, "ElementName"),
        instance_id: text_of(node, "InstanceID"),
        resource_type: Int::parse(&text_of(node, "ResourceType")),
        virtual_quantity: Int::parse(&text_of(node, "VirtualQuantity")),
        address: text_of(node, "Address"),
        resource_sub_type: text_of(node, "ResourceSubType"),
        parent: text_of(node, "Parent"),
        host_resource: text_of(node, "HostResource"),
        connection: text_of(node, "Connection"),
        cores_per_socket: text_of(node, "CoresPerSocket"),
    }
}

fn config(node: Node<'_, '_>) -> Config {
    Config {
        key: attribute(node, "key").to_owned(),
        value: attribute(node, "value").to_owned(),
        required: attribute(node, "required").to_owned(),
    }
}

fn is_vmware(node: Node<'_, '_>) -> bool {
    node.tag_name().namespace() == Some(VMW_NS)
}

/// Direct child elements with a local name.
fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

/// The last direct child element with a local name (Go overwrites on repeats).
fn last_child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .rfind(|child| child.is_element() && child.tag_name().name() == name)
}

/// The own text of the last direct child with a local name, or empty.
fn text_of(node: Node<'_, '_>, name: &str) -> String {
    last_child(node, name).map(own_text).unwrap_or_default()
}

/// An element's own character data (text and CDATA), without nested elements' text.
fn own_text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|text| text.text())
        .collect()
}

/// The last attribute with a local name, in any namespace, or empty.
fn attribute<'a>(node: Node<'a, '_>, name: &str) -> &'a str {
    node.attributes()
        .rfind(|attribute| attribute.name() == name)
        .map_or("", |attribute| attribute.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u32 = 100_000;

    #[test]
    fn reads_every_element_upstream_reads() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-1" xmlns="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
    xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="a.vmdk" ovf:id="file1"/><File ovf:href="b.vmdk" ovf:id="file2"/></References>
  <DiskSection><Info>x</Info>
    <Disk ovf:capacity=" 16 " ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1"
          ovf:fileRef="file1" ovf:format="fmt" ovf:populatedSize="123"/>
    <Disk ovf:capacity="${size}" ovf:diskId="vmdisk2" ovf:fileRef="file2"/>
  </DiskSection>
  <NetworkSection><Network ovf:name="VM Network"><Description>The VM Network</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="vm1">
    <Name>first</Name>
    <OperatingSystemSection ovf:id="80" vmw:osType="rhel9_64Guest"><Description>RHEL</Description></OperatingSystemSection>
    <VirtualHardwareSection>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>4 virtual CPU(s)</rasd:ElementName>
        <rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>4</rasd:VirtualQuantity>
        <vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket></Item>
      <Item><rasd:Address>00:50:56:aa:bb:cc</rasd:Address><rasd:Connection>VM Network</rasd:Connection>
        <rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:ResourceType>10</rasd:ResourceType>
        <vmw:Config ovf:required="false" vmw:key="wakeOnLanEnabled" vmw:value="true"/></Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
      <Config key="firmware" value="ignored: not in the VMware namespace"/>
      <vmw:ExtraConfig vmw:key="uefi.secureBoot.enabled" vmw:value="TRUE"/>
    </VirtualHardwareSection>
    <VirtualHardwareSection><Item><rasd:ResourceType>abc</rasd:ResourceType></Item></VirtualHardwareSection>
  </VirtualSystem>
  <VirtualSystemCollection><VirtualSystem ovf:id="nested"/></VirtualSystemCollection>
</Envelope>"#;
        let envelope = parse(xml, LIMIT).unwrap();
        assert!(
            envelope
                .attribute_values
                .iter()
                .any(|value| value == VMW_NS)
        );
        assert!(envelope.attribute_values.iter().any(|v| v == "build-1"));
        assert_eq!(envelope.files, ["a.vmdk", "b.vmdk"]);
        assert_eq!(envelope.disks[0].capacity, Int::Value(16));
        assert_eq!(envelope.disks[0].capacity_allocation_units, "byte * 2^30");
        assert_eq!(envelope.disks[0].populated_size, Int::Value(123));
        assert_eq!(envelope.disks[1].capacity, Int::Invalid("${size}".into()));
        assert_eq!(envelope.disks[1].populated_size, Int::Value(0));
        assert_eq!(envelope.networks[0].description, "The VM Network");
        assert!(envelope.has_system_collection);
        assert_eq!(envelope.systems.len(), 1, "nested systems are not VMs");
        let system = &envelope.systems[0];
        assert_eq!(system.id, "vm1");
        assert_eq!(system.name.as_deref(), Some("first"));
        assert_eq!(system.os_type, "rhel9_64Guest");
        assert_eq!(system.items.len(), 3, "hardware sections accumulate");
        assert_eq!(system.items[0].cores_per_socket, "2");
        assert_eq!(system.items[0].allocation_units, "hertz * 10^6");
        assert_eq!(system.items[1].address, "00:50:56:aa:bb:cc");
        assert_eq!(system.items[2].resource_type, Int::Invalid("abc".into()));
        assert_eq!(system.configs.len(), 1);
        assert_eq!(system.configs[0].key, "firmware");
        assert_eq!(system.configs[0].required, "false");
        assert_eq!(system.extra_configs[0].value, "TRUE");
    }

    #[test]
    fn text_is_own_character_data_and_last_repeat_wins() {
        let xml = r#"<ovf:Envelope xmlns:ovf="urn:x"><ovf:VirtualSystem ovf:id="i">
            <Name>old</Name><Name>new<b>ignored</b><![CDATA[ &more]]></Name>
        </ovf:VirtualSystem></ovf:Envelope>"#;
        let envelope = parse(xml, LIMIT).unwrap();
        assert_eq!(envelope.systems[0].name.as_deref(), Some("new &more"));
    }

    #[test]
    fn dtds_are_refused_before_any_expansion() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <Envelope><VirtualSystem><Name>&xxe;</Name></VirtualSystem></Envelope>"#;
        assert_eq!(parse(xxe, LIMIT), Err(OvfError::Dtd));
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
            <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
            <Envelope><VirtualSystem><Name>&lol3;</Name></VirtualSystem></Envelope>"#;
        assert_eq!(parse(laughs, LIMIT), Err(OvfError::Dtd));
    }

    #[test]
    fn malformed_and_foreign_documents_are_errors() {
        assert!(matches!(parse("<Envelope>", LIMIT), Err(OvfError::Xml(_))));
        assert_eq!(
            parse("<html/>", LIMIT),
            Err(OvfError::NotAnEnvelope("html".into()))
        );
        let many = format!("<Envelope>{}</Envelope>", "<a/>".repeat(50));
        assert_eq!(parse(&many, 10), Err(OvfError::TooManyNodes { limit: 10 }));
    }
}
