//! Writes SOAP request envelopes.

use base64::Engine as _;

use crate::error::Error;
use crate::value::{MoRef, Value};

/// Builds one request: `<Method xmlns="urn:vim25"><_this ...>...</Method>` in a
/// SOAP envelope.
pub(crate) struct RequestWriter {
    buf: String,
    method: String,
    invalid_char: bool,
}

impl RequestWriter {
    /// Starts the request for `method` on `this`.
    pub fn new(method: &str, this: &MoRef) -> Self {
        let mut w = Self {
            buf: String::with_capacity(512),
            method: method.to_owned(),
            invalid_char: false,
        };
        w.buf.push_str(concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#,
            r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>"#
        ));
        w.buf.push('<');
        w.buf.push_str(method);
        w.buf.push_str(r#" xmlns="urn:vim25">"#);
        w.moref("_this", this);
        w
    }

    /// `<name>`.
    pub fn start(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name xsi:type="type_name">`.
    pub fn start_typed(&mut self, name: &str, type_name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(r#" xsi:type=""#);
        self.escape(type_name);
        self.buf.push_str(r#"">"#);
    }

    /// `</name>`.
    pub fn end(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name>text</name>`, escaped.
    pub fn text(&mut self, name: &str, text: &str) {
        self.start(name);
        self.escape(text);
        self.end(name);
    }

    /// `<name>true|false</name>`.
    pub fn bool(&mut self, name: &str, value: bool) {
        self.text(name, if value { "true" } else { "false" });
    }

    /// `<name>n</name>`.
    pub fn int(&mut self, name: &str, value: i64) {
        self.text(name, &value.to_string());
    }

    /// `<name type="Kind">value</name>`.
    pub fn moref(&mut self, name: &str, moref: &MoRef) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(r#" type=""#);
        self.escape(&moref.kind);
        self.buf.push_str(r#"">"#);
        self.escape(&moref.value);
        self.end(name);
    }

    /// Writes a generic value as the field `name`. Arrays become repeated
    /// elements (as vim25 requests carry them), data objects and
    /// [`Value::Typed`] leaves carry their `xsi:type`.
    pub fn value(&mut self, name: &str, value: &Value) {
        match value {
            Value::Bool(b) => self.bool(name, *b),
            Value::Int(i) => self.int(name, *i),
            Value::Float(f) => self.text(name, &f.to_string()),
            Value::String(s) | Value::Text(s) | Value::DateTime(s) => self.text(name, s),
            Value::Binary(bytes) => self.text(
                name,
                &base64::engine::general_purpose::STANDARD.encode(bytes),
            ),
            Value::Typed { type_name, text } => {
                self.start_typed(name, type_name);
                self.escape(text);
                self.end(name);
            }
            Value::MoRef(m) => self.moref(name, m),
            Value::Array(array) => {
                for item in &array.items {
                    self.value(name, item);
                }
            }
            Value::Object(object) => {
                match &object.type_name {
                    Some(t) => self.start_typed(name, t),
                    None => self.start(name),
                }
                for (field, v) in &object.fields {
                    self.value(field, v);
                }
                self.end(name);
            }
        }
    }

    /// Closes the envelope. Fails if a string held a character XML 1.0 cannot
    /// carry (a control character other than tab, newline and carriage return).
    pub fn finish(mut self) -> Result<String, Error> {
        if self.invalid_char {
            return Err(Error::InvalidArgument {
                message: format!(
                    "an argument of {} holds a control character that XML cannot carry",
                    self.method
                ),
            });
        }
        let method = std::mem::take(&mut self.method);
        self.end(&method);
        self.buf.push_str("</soapenv:Body></soapenv:Envelope>");
        Ok(self.buf)
    }

    fn escape(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '&' => self.buf.push_str("&amp;"),
                '<' => self.buf.push_str("&lt;"),
                '>' => self.buf.push_str("&gt;"),
                '"' => self.buf.push_str("&quot;"),
                '\'' => self.buf.push_str("&apos;"),
                // Kept as references so attribute and text normalisation on the
                // server does not turn them into spaces.
                '\r' => self.buf.push_str("&#13;"),
                '\t' | '\n' => self.buf.push(c),
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                    self.invalid_char = true;
                }
                c => self.buf.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Array, DataObject};

    #[test]
    fn writes_escaped_typed_requests() {
        let mut w = RequestWriter::new("Login", &MoRef::new("SessionManager", "SessionManager"));
        w.text("userName", "a<b>&\"c'");
        let spec = DataObject::new("VirtualMachineConfigSpec")
            .with("memoryMB", Value::Int(64))
            .with(
                "extraConfig",
                DataObject::new("OptionValue").with("key", "k").with(
                    "value",
                    Value::Typed {
                        type_name: "xsd:string".into(),
                        text: "v".into(),
                    },
                ),
            );
        w.value("spec", &Value::Object(spec));
        w.value(
            "type",
            &Value::Array(Array {
                type_name: "ArrayOfString".into(),
                items: vec!["A".into(), "B".into()],
            }),
        );
        let xml = w.finish().unwrap();
        assert!(xml.contains(
            r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>"#
        ));
        assert!(xml.contains("<userName>a&lt;b&gt;&amp;&quot;c&apos;</userName>"));
        assert!(xml.contains(r#"<spec xsi:type="VirtualMachineConfigSpec"><memoryMB>64</memoryMB><extraConfig xsi:type="OptionValue"><key>k</key><value xsi:type="xsd:string">v</value></extraConfig></spec>"#));
        assert!(xml.contains("<type>A</type><type>B</type>"));
        assert!(xml.ends_with("</Login></soapenv:Body></soapenv:Envelope>"));
    }

    #[test]
    fn control_characters_are_refused() {
        let mut w = RequestWriter::new("Login", &MoRef::new("SessionManager", "SessionManager"));
        w.text("password", "a\u{1}b");
        let err = w.finish().unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }));
        assert!(!err.to_string().contains("a\u{1}b"));
    }
}
