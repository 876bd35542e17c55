//! The generic, xsi:type-aware value tree that property values decode into.
//!
//! vim25 has no schema on this side of the wire, so a value keeps what the XML
//! says and no more:
//!
//! * A leaf with an `xsi:type` of an XML Schema primitive becomes [`Value::Bool`],
//!   [`Value::Int`], [`Value::Float`], [`Value::String`], [`Value::DateTime`] or
//!   [`Value::Binary`]. Top-level property values always carry one.
//! * A leaf with a vim25 `xsi:type` (an enum such as `VirtualMachinePowerState`)
//!   becomes [`Value::Typed`].
//! * A leaf without `xsi:type` (a field nested in a data object, whose type only
//!   the WSDL knows) becomes [`Value::Text`]; the accessors (`as_i64`, `as_bool`,
//!   `as_str`) read it as what the caller knows it to be.
//! * An element with a `type` attribute is a [`MoRef`].
//! * `ArrayOf…` values become [`Value::Array`]; its items take their type from
//!   their own `xsi:type`, else from the array's name (`ArrayOfGuestNicInfo` items
//!   are `GuestNicInfo` objects, `ArrayOfString` items are strings).
//! * Anything with child elements is a [`DataObject`]: its type name (from
//!   `xsi:type`, `None` when the schema implies it) and its fields **in document
//!   order, repeated fields repeated**. A nested array field (`device` inside
//!   `VirtualPCIController`, `childSnapshotList`) is just several fields with the
//!   same name: read it with [`DataObject::get_all`], which also covers the one-
//!   and zero-element cases that the XML cannot tell apart from a scalar.

use std::fmt;

/// A managed object reference: `type` and value, e.g. `VirtualMachine:vm-42`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MoRef {
    /// The managed object type (`VirtualMachine`, `Folder`, `Task`, ...).
    pub kind: String,
    /// The server's identifier of the object (`vm-42`, `group-d1`, `task-7`).
    pub value: String,
}

impl MoRef {
    /// A reference to the object `value` of type `kind`.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            value: value.into(),
        }
    }
}

impl fmt::Display for MoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// One decoded property value. See the module documentation for the rules.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `xsd:boolean`.
    Bool(bool),
    /// `xsd:long`, `xsd:int`, `xsd:short`, `xsd:byte`.
    Int(i64),
    /// `xsd:double`, `xsd:float`.
    Float(f64),
    /// `xsd:string` (and `xsd:anyURI`).
    String(String),
    /// `xsd:dateTime`, in its lexical form (e.g. `2024-05-01T10:00:00.5Z`).
    DateTime(String),
    /// `xsd:base64Binary`, decoded.
    Binary(Vec<u8>),
    /// A leaf whose `xsi:type` names a vim25 simple type (in practice an enum,
    /// e.g. `VirtualMachinePowerState` / `poweredOn`), or any leaf that must be
    /// sent with an explicit `xsi:type` (e.g. `xsd:string` inside an `anyType`
    /// field such as `OptionValue.value`).
    Typed {
        /// The `xsi:type`: a vim25 type name, or `xsd:<primitive>`.
        type_name: String,
        /// The text of the leaf.
        text: String,
    },
    /// A leaf without `xsi:type`: its type is the one the schema declares for
    /// the field (read it with `as_i64`, `as_bool`, `as_str`, ...).
    Text(String),
    /// A managed object reference.
    MoRef(MoRef),
    /// An `ArrayOf…` value.
    Array(Array),
    /// A data object.
    Object(DataObject),
}

/// An `ArrayOf…` value, e.g. `ArrayOfVirtualDevice`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Array {
    /// The array type, e.g. `ArrayOfManagedObjectReference`.
    pub type_name: String,
    /// The items, in order.
    pub items: Vec<Value>,
}

/// A data object: its type and its fields in document order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DataObject {
    /// The `xsi:type`, or the item type of the array it came from; `None` when
    /// only the schema knows it (a non-polymorphic nested field).
    pub type_name: Option<String>,
    /// The fields in document order; a repeated (array) field appears once per
    /// element.
    pub fields: Vec<(String, Value)>,
}

impl DataObject {
    /// An object of type `type_name` with no fields yet.
    pub fn new(type_name: impl Into<String>) -> Self {
        Self {
            type_name: Some(type_name.into()),
            fields: Vec::new(),
        }
    }

    /// Appends a field (builder style, for request arguments).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.fields.push((name.into(), value.into()));
    }

    /// The first field called `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Every field called `name`, in order: the items of a nested array field.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Follows a dotted path of first-matching fields, e.g. `backing.fileName`.
    pub fn path(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut current = self.get(first)?;
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(current)
    }

    /// The type name, or `""` when unknown.
    pub fn type_name(&self) -> &str {
        self.type_name.as_deref().unwrap_or("")
    }
}

impl Value {
    /// The text of a string-like value: `String`, `Text`, `Typed` (an enum's
    /// value) or `DateTime`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Text(s) | Value::DateTime(s) => Some(s),
            Value::Typed { text, .. } => Some(text),
            _ => None,
        }
    }

    /// An integer: `Int`, or a `Text`/`Typed` leaf that parses as one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(s) | Value::Typed { text: s, .. } => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean: `Bool`, or a `Text`/`Typed` leaf `true`/`false`/`1`/`0`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Text(s) | Value::Typed { text: s, .. } => parse_bool(s),
            _ => None,
        }
    }

    /// A number: `Float`, `Int`, or a `Text`/`Typed` leaf that parses as one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Text(s) | Value::Typed { text: s, .. } => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A managed object reference.
    pub fn as_moref(&self) -> Option<&MoRef> {
        match self {
            Value::MoRef(m) => Some(m),
            _ => None,
        }
    }

    /// A data object.
    pub fn as_object(&self) -> Option<&DataObject> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The items of an `ArrayOf…` value.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(&a.items),
            _ => None,
        }
    }

    /// The `xsi:type` this value came with (or, for a data object, its known
    /// type), if any.
    pub fn type_name(&self) -> Option<&str> {
        match self {
            Value::Bool(_) => Some("xsd:boolean"),
            Value::Int(_) => Some("xsd:long"),
            Value::Float(_) => Some("xsd:double"),
            Value::String(_) => Some("xsd:string"),
            Value::DateTime(_) => Some("xsd:dateTime"),
            Value::Binary(_) => Some("xsd:base64Binary"),
            Value::Typed { type_name, .. } => Some(type_name),
            Value::Text(_) => None,
            Value::MoRef(_) => Some("ManagedObjectReference"),
            Value::Array(a) => Some(&a.type_name),
            Value::Object(o) => o.type_name.as_deref(),
        }
    }

    /// For a data object, the field `name` (see [`DataObject::get`]).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_object()?.get(name)
    }

    /// For a data object, a dotted path of fields (see [`DataObject::path`]).
    pub fn path(&self, path: &str) -> Option<&Value> {
        self.as_object()?.path(path)
    }
}

pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<MoRef> for Value {
    fn from(m: MoRef) -> Self {
        Value::MoRef(m)
    }
}

impl From<DataObject> for Value {
    fn from(o: DataObject) -> Self {
        Value::Object(o)
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Self {
        Value::Array(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_read_untyped_leaves_as_the_caller_expects() {
        assert_eq!(Value::Text("42".into()).as_i64(), Some(42));
        assert_eq!(Value::Text("true".into()).as_bool(), Some(true));
        assert_eq!(Value::Text("x".into()).as_i64(), None);
        let power = Value::Typed {
            type_name: "VirtualMachinePowerState".into(),
            text: "poweredOff".into(),
        };
        assert_eq!(power.as_str(), Some("poweredOff"));
        assert_eq!(power.type_name(), Some("VirtualMachinePowerState"));
    }

    #[test]
    fn paths_and_repeated_fields() {
        let backing = DataObject::new("VirtualDiskFlatVer2BackingInfo")
            .with("fileName", Value::Text("[ds] vm/disk.vmdk".into()));
        let controller = DataObject::new("VirtualPCIController")
            .with("key", Value::Text("100".into()))
            .with("device", Value::Text("500".into()))
            .with("device", Value::Text("12000".into()))
            .with("backing", backing);
        let v = Value::Object(controller);
        assert_eq!(
            v.path("backing.fileName").and_then(Value::as_str),
            Some("[ds] vm/disk.vmdk")
        );
        let devices: Vec<i64> = v
            .as_object()
            .map(|o| o.get_all("device").filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        assert_eq!(devices, vec![500, 12000]);
        assert!(v.path("backing.missing").is_none());
    }
}
