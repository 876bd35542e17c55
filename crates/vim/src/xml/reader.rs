//! A bounded XML reader: the document becomes a small element tree, with limits
//! on depth and element count, no DTDs and no entities beyond the five XML
//! predefined ones (plus character references). Anything else is an
//! [`XmlError`], never a panic.

use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{XSD_NS, XSI_NS};
use crate::error::XmlError;

/// Bounds applied while parsing one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseLimits {
    /// Deepest element nesting accepted (the SOAP envelope counts).
    pub max_depth: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_depth: 128,
            max_elements: 1_000_000,
        }
    }
}

/// The `xsi:type` of an element, with its prefix resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum XsiType {
    /// An XML Schema primitive: `int`, `string`, `dateTime`, ...
    Xsd(Box<str>),
    /// A vim25 type name.
    Vim(Box<str>),
}

/// One parsed element: local name, the two attributes vim25 uses, its text and
/// its children.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Element {
    pub name: Box<str>,
    pub xsi_type: Option<XsiType>,
    /// The unqualified `type` attribute: set on managed object references.
    pub moref_type: Option<Box<str>>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| &*c.name == name)
    }

    /// Removes and returns the first child called `name`.
    pub fn take_child(&mut self, name: &str) -> Option<Element> {
        let index = self.children.iter().position(|c| &*c.name == name)?;
        Some(self.children.remove(index))
    }

    /// The text of the first child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Namespace declarations in scope: (prefix, uri, depth declared at).
struct Scope {
    decls: Vec<(String, String, usize)>,
}

impl Scope {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        self.decls
            .iter()
            .rev()
            .find(|(p, _, _)| p == prefix)
            .map(|(_, uri, _)| uri.as_str())
    }

    fn pop(&mut self, depth: usize) {
        while self.decls.last().is_some_and(|(_, _, d)| *d >= depth) {
            self.decls.pop();
        }
    }
}

/// Parses a whole document into its root element.
pub(crate) fn parse(input: &[u8], limits: ParseLimits) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(input).map_err(|e| XmlError::Encoding {
        offset: e.valid_up_to(),
    })?;
    let mut reader = Reader::from_str(text);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = true;
        config.trim_text(false);
    }
    let mut scope = Scope { decls: Vec::new() };
    let mut stack: Vec<Element> = Vec::new();
    let mut elements = 0usize;
    let mut root: Option<Element> = None;

    loop {
        let position = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            // "… not closed before the end of input": the document was cut.
            Err(quick_xml::Error::Syntax(e)) if e != SyntaxError::InvalidBangMarkup => {
                return Err(XmlError::Truncated {
                    open_elements: stack.len() + 1,
                });
            }
            Err(e) => {
                return Err(XmlError::Malformed {
                    offset: reader.error_position(),
                    message: e.to_string(),
                });
            }
        };
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::Malformed {
                        offset: position,
                        message: "content after the document element".into(),
                    });
                }
                let depth = stack.len() + 1;
                if depth > limits.max_depth {
                    return Err(XmlError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                elements += 1;
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                let element = start_element(&start, &mut scope, depth, position)?;
                stack.push(element);
            }
            Event::End(_) => {
                let depth = stack.len();
                scope.pop(depth);
                let Some(done) = stack.pop() else {
                    return Err(XmlError::Malformed {
                        offset: position,
                        message: "end tag without a start tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml_content(XmlVersion::Implicit1_0))?,
            Event::CData(c) => push_text(&mut stack, &c.xml_content(XmlVersion::Implicit1_0))?,
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch,
                    Ok(None) => predefined_entity(&r).ok_or_else(|| XmlError::Entity {
                        name: truncate(&r, 40),
                    })?,
                    Err(e) => {
                        return Err(XmlError::Malformed {
                            offset: position,
                            message: e.to_string(),
                        });
                    }
                };
                let mut buf = [0u8; 4];
                push_text(&mut stack, ch.encode_utf8(&mut buf))?;
            }
            Event::DocType(_) => return Err(XmlError::Dtd),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
                return Err(XmlError::Malformed {
                    offset: position,
                    message: "unexpected empty element event".into(),
                });
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Truncated {
            open_elements: stack.len(),
        });
    }
    root.ok_or(XmlError::Empty)
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed {
            offset: 0,
            message: "text outside the document element".into(),
        }),
    }
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn start_element(
    start: &BytesStart<'_>,
    scope: &mut Scope,
    depth: usize,
    position: u64,
) -> Result<Element, XmlError> {
    let malformed = |message: String| XmlError::Malformed {
        offset: position,
        message,
    };
    let name = start.name();
    let local = name.local_name();
    let local: &str = local.as_ref();
    let mut element = Element {
        name: local.into(),
        ..Element::default()
    };

    // Namespace declarations first: an xsi:type may use a prefix declared on
    // the same element (Go's encoder does exactly that).
    let mut typed: Option<(String, String)> = None;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| malformed(e.to_string()))?;
        let key: &str = attribute.key.as_ref();
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| malformed(e.to_string()))?;
        if key == "xmlns" {
            scope.decls.push((String::new(), value.into_owned(), depth));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            scope
                .decls
                .push((prefix.to_owned(), value.into_owned(), depth));
        } else if key == "type" {
            element.moref_type = Some(value.into_owned().into_boxed_str());
        } else if let Some((prefix, "type")) = key.split_once(':') {
            typed = Some((prefix.to_owned(), value.into_owned()));
        }
    }
    if let Some((prefix, value)) = typed
        && scope.resolve(&prefix) == Some(XSI_NS)
    {
        element.xsi_type = Some(resolve_type(&value, scope));
    }
    Ok(element)
}

/// Resolves the QName in an `xsi:type` value against the namespaces in scope.
fn resolve_type(value: &str, scope: &Scope) -> XsiType {
    let value = value.trim();
    match value.split_once(':') {
        Some((prefix, local)) => {
            let xsd = match scope.resolve(prefix) {
                Some(uri) => uri == XSD_NS,
                // An undeclared prefix: vSphere servers always mean XML Schema by `xsd`.
                None => prefix == "xsd",
            };
            if xsd {
                XsiType::Xsd(local.into())
            } else {
                XsiType::Vim(local.into())
            }
        }
        None => XsiType::Vim(value.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(xml: &str) -> Result<Element, XmlError> {
        parse(xml.as_bytes(), ParseLimits::default())
    }

    #[test]
    fn resolves_go_style_xsi_prefixes_and_moref_types() {
        let root = parse_str(
            r#"<r xmlns:xsd="http://www.w3.org/2001/XMLSchema"><val xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="xsd:int">32</val><parent type="Folder">group-1</parent></r>"#,
        )
        .unwrap();
        let val = root.child("val").unwrap();
        assert_eq!(val.xsi_type, Some(XsiType::Xsd("int".into())));
        assert_eq!(val.text, "32");
        let parent = root.child("parent").unwrap();
        assert_eq!(parent.moref_type.as_deref(), Some("Folder"));
    }

    #[test]
    fn a_type_attribute_in_another_namespace_is_not_xsi_type() {
        let root = parse_str(r#"<r xmlns:o="urn:other"><v o:type="xsd:int">1</v></r>"#).unwrap();
        assert_eq!(root.child("v").unwrap().xsi_type, None);
    }

    #[test]
    fn predefined_entities_and_char_refs_expand() {
        let root = parse_str("<r>a&lt;b&amp;c&#x41;&#66;&quot;&apos;&gt;</r>").unwrap();
        assert_eq!(root.text, "a<b&cAB\"'>");
    }

    #[test]
    fn non_ascii_and_slashes_survive() {
        let root = parse_str("<r><name>VM/ä%2fé 日本</name></r>").unwrap();
        assert_eq!(root.child_text("name"), Some("VM/ä%2fé 日本"));
    }

    #[test]
    fn hostile_documents_are_typed_errors() {
        assert!(matches!(
            parse_str(r#"<!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>"#),
            Err(XmlError::Dtd)
        ));
        assert!(matches!(
            parse_str("<r>&x;</r>"),
            Err(XmlError::Entity { .. })
        ));
        assert!(matches!(
            parse_str("<r><a></r>"),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse_str("<r><a>text"),
            Err(XmlError::Truncated { .. })
        ));
        assert!(matches!(parse_str(""), Err(XmlError::Empty)));
        assert!(matches!(
            parse(b"<r>\xff</r>", ParseLimits::default()),
            Err(XmlError::Encoding { .. })
        ));
        assert!(matches!(
            parse_str("<r/><r/>"),
            Err(XmlError::Malformed { .. })
        ));
    }

    #[test]
    fn depth_and_count_limits_hold() {
        let deep = "<a>".repeat(200) + &"</a>".repeat(200);
        assert!(matches!(
            parse_str(&deep),
            Err(XmlError::TooDeep { limit: 128 })
        ));
        let many = format!("<r>{}</r>", "<a/>".repeat(50));
        let limits = ParseLimits {
            max_depth: 8,
            max_elements: 20,
        };
        assert!(matches!(
            parse(many.as_bytes(), limits),
            Err(XmlError::TooManyElements { limit: 20 })
        ));
    }

    #[test]
    fn every_prefix_of_a_document_fails_cleanly() {
        let doc = r#"<?xml version="1.0"?><e xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><v xsi:type="xsd:string">a&amp;b</v><o type="Folder">f</o></e>"#;
        for cut in 0..doc.len() {
            let result = parse_str(&doc[..cut]);
            assert!(result.is_err(), "prefix of {cut} bytes parsed");
        }
        assert!(parse_str(doc).is_ok());
    }
}
