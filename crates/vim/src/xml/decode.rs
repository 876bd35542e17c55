//! Parsed elements → values, faults and the SOAP body.

use base64::Engine as _;

use super::reader::{Element, XsiType};
use crate::error::{Fault, XmlError};
use crate::value::{Array, DataObject, MoRef, Value, parse_bool};

/// What a SOAP envelope's body holds.
#[derive(Debug)]
pub(crate) enum Body {
    /// The method's response element (`<MethodResponse>`).
    Response(Element),
    /// A SOAP fault.
    Fault(Fault),
}

/// Finds the body of a SOAP envelope. `Err` carries a description of the
/// unexpected shape.
pub(crate) fn envelope_body(root: Element) -> Result<Body, String> {
    if &*root.name != "Envelope" {
        return Err(format!("expected a SOAP Envelope, got <{}>", root.name));
    }
    let mut root = root;
    let mut body = root
        .take_child("Body")
        .ok_or_else(|| "the SOAP envelope has no Body".to_owned())?;
    if body.children.is_empty() {
        return Err("the SOAP Body is empty".to_owned());
    }
    let first = body.children.swap_remove(0);
    if &*first.name == "Fault" {
        Ok(Body::Fault(decode_fault(first)))
    } else {
        Ok(Body::Response(first))
    }
}

/// Decodes a `soapenv:Fault`: the fault type from `detail` (its `xsi:type`,
/// else its element name without the `Fault` suffix) and `faultstring`.
pub(crate) fn decode_fault(mut fault: Element) -> Fault {
    let message = fault
        .child_text("faultstring")
        .unwrap_or("")
        .trim()
        .to_owned();
    let detail = fault
        .take_child("detail")
        .and_then(|mut d| (!d.children.is_empty()).then(|| d.children.swap_remove(0)));
    match detail {
        Some(detail) => {
            let name = match &detail.xsi_type {
                Some(XsiType::Vim(t)) | Some(XsiType::Xsd(t)) => t.to_string(),
                None => detail
                    .name
                    .strip_suffix("Fault")
                    .unwrap_or(&detail.name)
                    .to_owned(),
            };
            Fault {
                name,
                message,
                detail: object_fields(detail.children, None).unwrap_or_default(),
            }
        }
        None => {
            let code = fault.child_text("faultcode").unwrap_or("").trim();
            Fault {
                // A fault without vim25 detail: name it by its SOAP code.
                name: if code.is_empty() {
                    "SoapFault".to_owned()
                } else {
                    code.rsplit(':').next().unwrap_or(code).to_owned()
                },
                message,
                detail: DataObject::default(),
            }
        }
    }
}

/// Decodes a `LocalizedMethodFault` (a task's `info.error`, a `missingSet`
/// entry's `fault`): `fault` (typed) and `localizedMessage`.
pub(crate) fn decode_localized_fault(value: &Value) -> Fault {
    let object = value.as_object();
    let inner = object
        .and_then(|o| o.get("fault"))
        .and_then(Value::as_object);
    let name = inner
        .and_then(|f| f.type_name.clone())
        .unwrap_or_else(|| "MethodFault".to_owned());
    let message = object
        .and_then(|o| o.get("localizedMessage"))
        .and_then(Value::as_str)
        .or_else(|| {
            inner
                .and_then(|f| f.get("faultMessage"))
                .and_then(|m| m.path("message"))
                .and_then(Value::as_str)
        })
        .unwrap_or("")
        .to_owned();
    Fault {
        name,
        message,
        detail: inner.cloned().unwrap_or_default(),
    }
}

/// Decodes an element that must be a managed object reference.
pub(crate) fn decode_moref(element: Element) -> Result<MoRef, String> {
    match element.moref_type {
        Some(kind) => Ok(MoRef {
            kind: kind.into_string(),
            value: element.text.trim().to_owned(),
        }),
        None => Err(format!(
            "<{}> is not a managed object reference",
            element.name
        )),
    }
}

/// Decodes any value element (see [`crate::value`] for the rules).
pub(crate) fn decode_value(element: Element) -> Result<Value, XmlError> {
    decode_with_default(element, None)
}

/// `default_type` is the item type an array implies for its elements.
fn decode_with_default(element: Element, default_type: Option<&str>) -> Result<Value, XmlError> {
    let Element {
        xsi_type,
        moref_type,
        text,
        children,
        ..
    } = element;
    if let Some(kind) = moref_type
        && children.is_empty()
    {
        return Ok(Value::MoRef(MoRef {
            kind: kind.into_string(),
            value: text.trim().to_owned(),
        }));
    }
    match xsi_type {
        Some(XsiType::Xsd(primitive)) => decode_primitive(&primitive, text),
        Some(XsiType::Vim(type_name)) => decode_vim_typed(type_name.into_string(), text, children),
        None => match default_type {
            Some(t) if is_xsd_item(t) => decode_primitive(t, text),
            Some(t) => decode_vim_typed(t.to_owned(), text, children),
            None if children.is_empty() => Ok(Value::Text(text)),
            None => Ok(Value::Object(object_fields(children, None)?)),
        },
    }
}

fn decode_vim_typed(
    type_name: String,
    text: String,
    children: Vec<Element>,
) -> Result<Value, XmlError> {
    if type_name == "ManagedObjectReference" {
        // Only reached without a `type` attribute: keep what there is.
        return Ok(Value::MoRef(MoRef {
            kind: String::new(),
            value: text.trim().to_owned(),
        }));
    }
    if let Some(item) = type_name.strip_prefix("ArrayOf") {
        let item_type = array_item_type(item);
        let items = children
            .into_iter()
            .map(|c| decode_with_default(c, Some(item_type)))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(Array { type_name, items }));
    }
    if children.is_empty() && !text.trim().is_empty() {
        return Ok(Value::Typed { type_name, text });
    }
    Ok(Value::Object(object_fields(children, Some(type_name))?))
}

fn object_fields(
    children: Vec<Element>,
    type_name: Option<String>,
) -> Result<DataObject, XmlError> {
    let mut fields = Vec::with_capacity(children.len());
    for child in children {
        let name = child.name.to_string();
        fields.push((name, decode_value(child)?));
    }
    Ok(DataObject { type_name, fields })
}

/// `ArrayOfString` → `string`, `ArrayOfInt` → `int`, `ArrayOfVirtualDevice` →
/// `VirtualDevice`.
fn array_item_type(item: &str) -> &str {
    match item {
        "String" => "string",
        "Int" => "int",
        "Long" => "long",
        "Short" => "short",
        "Byte" => "byte",
        "Boolean" => "boolean",
        "Double" => "double",
        "Float" => "float",
        "DateTime" => "dateTime",
        "Base64Binary" => "base64Binary",
        "AnyURI" | "Uri" => "anyURI",
        "AnyType" => "anyType",
        other => other,
    }
}

fn is_xsd_item(t: &str) -> bool {
    matches!(
        t,
        "string"
            | "int"
            | "long"
            | "short"
            | "byte"
            | "boolean"
            | "double"
            | "float"
            | "dateTime"
            | "base64Binary"
            | "anyURI"
            | "anyType"
    )
}

fn decode_primitive(primitive: &str, text: String) -> Result<Value, XmlError> {
    let invalid = |text: &str| XmlError::InvalidValue {
        type_name: format!("xsd:{primitive}"),
        text: text.chars().take(64).collect(),
    };
    Ok(match primitive {
        "string" | "anyURI" | "anySimpleType" | "anyType" => Value::String(text),
        "boolean" => Value::Bool(parse_bool(&text).ok_or_else(|| invalid(&text))?),
        "long" | "int" | "short" | "byte" | "integer" | "unsignedInt" | "unsignedShort"
        | "unsignedByte" => Value::Int(text.trim().parse().map_err(|_| invalid(&text))?),
        "double" | "float" | "decimal" => {
            Value::Float(text.trim().parse().map_err(|_| invalid(&text))?)
        }
        "dateTime" => Value::DateTime(text.trim().to_owned()),
        "base64Binary" => {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            Value::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|_| invalid(&text))?,
            )
        }
        other => Value::Typed {
            type_name: format!("xsd:{other}"),
            text,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{ParseLimits, parse};

    fn value(xml: &str) -> Result<Value, XmlError> {
        let doc = format!(
            r#"<r xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xml}</r>"#
        );
        let mut root = parse(doc.as_bytes(), ParseLimits::default()).unwrap();
        decode_value(root.children.swap_remove(0))
    }

    #[test]
    fn primitives_by_xsi_type() {
        assert_eq!(
            value(r#"<val xsi:type="xsd:int">32</val>"#).unwrap(),
            Value::Int(32)
        );
        assert_eq!(
            value(r#"<val xsi:type="xsd:long">-9000000000</val>"#).unwrap(),
            Value::Int(-9_000_000_000)
        );
        assert_eq!(
            value(r#"<val xsi:type="xsd:boolean">false</val>"#).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            value(r#"<val xsi:type="xsd:string"></val>"#).unwrap(),
            Value::String(String::new())
        );
        assert_eq!(
            value(r#"<val xsi:type="xsd:base64Binary">aGk=</val>"#).unwrap(),
            Value::Binary(b"hi".to_vec())
        );
        assert!(matches!(
            value(r#"<val xsi:type="xsd:int">x</val>"#),
            Err(XmlError::InvalidValue { .. })
        ));
    }

    #[test]
    fn enums_empty_objects_and_morefs() {
        assert_eq!(
            value(r#"<val xsi:type="VirtualMachinePowerState">poweredOn</val>"#).unwrap(),
            Value::Typed {
                type_name: "VirtualMachinePowerState".into(),
                text: "poweredOn".into()
            }
        );
        assert_eq!(
            value(r#"<val xsi:type="VirtualMachineBootOptions"></val>"#).unwrap(),
            Value::Object(DataObject::new("VirtualMachineBootOptions"))
        );
        assert_eq!(
            value(r#"<val type="Folder" xsi:type="ManagedObjectReference">group-2</val>"#).unwrap(),
            Value::MoRef(MoRef::new("Folder", "group-2"))
        );
    }

    #[test]
    fn arrays_take_item_types_from_their_name() {
        let v = value(
            r#"<val xsi:type="ArrayOfGuestNicInfo"><GuestNicInfo><macAddress>00:0c</macAddress><connected>true</connected></GuestNicInfo></val>"#,
        )
        .unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(items[0].as_object().unwrap().type_name(), "GuestNicInfo");
        assert_eq!(
            items[0].get("connected").and_then(Value::as_bool),
            Some(true)
        );

        let v =
            value(r#"<val xsi:type="ArrayOfString"><string>a</string><string>b/ü</string></val>"#)
                .unwrap();
        assert_eq!(
            v.as_array().unwrap(),
            &[Value::String("a".into()), Value::String("b/ü".into())]
        );
        let v = value(r#"<val xsi:type="ArrayOfInt"><int>1</int><int>2</int></val>"#).unwrap();
        assert_eq!(v.as_array().unwrap(), &[Value::Int(1), Value::Int(2)]);
        let v = value(
            r#"<val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Datastore">datastore-1</ManagedObjectReference></val>"#,
        )
        .unwrap();
        assert_eq!(
            v.as_array().unwrap()[0].as_moref(),
            Some(&MoRef::new("Datastore", "datastore-1"))
        );
        let v = value(r#"<val xsi:type="ArrayOfVirtualDevice"></val>"#).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 0);
    }

    #[test]
    fn polymorphic_nested_objects_keep_their_types() {
        let v = value(
            r#"<val xsi:type="ArrayOfVirtualDevice"><VirtualDevice xsi:type="VirtualDisk"><key>204</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[LocalDS_0] a/b.vmdk</fileName><datastore type="Datastore">datastore-59</datastore></backing><capacityInBytes>10737418240</capacityInBytes></VirtualDevice></val>"#,
        )
        .unwrap();
        let disk = &v.as_array().unwrap()[0];
        assert_eq!(disk.type_name(), Some("VirtualDisk"));
        assert_eq!(disk.get("key").and_then(Value::as_i64), Some(204));
        assert_eq!(
            disk.path("backing.datastore").and_then(Value::as_moref),
            Some(&MoRef::new("Datastore", "datastore-59"))
        );
        assert_eq!(
            disk.get("backing").and_then(Value::type_name),
            Some("VirtualDiskFlatVer2BackingInfo")
        );
        assert_eq!(
            disk.get("capacityInBytes").and_then(Value::as_i64),
            Some(10_737_418_240)
        );
    }

    #[test]
    fn faults_by_detail_type_and_by_element_name() {
        let doc = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted</faultstring><detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-56</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let root = parse(doc.as_bytes(), ParseLimits::default()).unwrap();
        let Body::Fault(fault) = envelope_body(root).unwrap() else {
            panic!("not a fault")
        };
        assert_eq!(fault.name, "ManagedObjectNotFound");
        assert_eq!(fault.message, "The object has already been deleted");
        assert_eq!(
            fault.detail.get("obj").and_then(Value::as_moref),
            Some(&MoRef::new("VirtualMachine", "vm-56"))
        );

        let doc = r#"<Envelope><Body><Fault><faultcode>ServerFaultCode</faultcode><faultstring>x</faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25"/></detail></Fault></Body></Envelope>"#;
        let root = parse(doc.as_bytes(), ParseLimits::default()).unwrap();
        let Body::Fault(fault) = envelope_body(root).unwrap() else {
            panic!("not a fault")
        };
        assert_eq!(fault.name, "NotAuthenticated");

        let doc = r#"<Envelope><Body><Fault><faultcode>soapenv:Client</faultcode><faultstring>bad request</faultstring></Fault></Body></Envelope>"#;
        let root = parse(doc.as_bytes(), ParseLimits::default()).unwrap();
        let Body::Fault(fault) = envelope_body(root).unwrap() else {
            panic!("not a fault")
        };
        assert_eq!(fault.name, "Client");
    }

    #[test]
    fn not_an_envelope_is_refused() {
        let root = parse(b"<html><body>502</body></html>", ParseLimits::default()).unwrap();
        assert!(envelope_body(root).is_err());
        let root = parse(b"<Envelope><Body/></Envelope>", ParseLimits::default()).unwrap();
        assert!(envelope_body(root).is_err());
    }
}
