//! XML on the wire: the bounded reader, the request writer, and the decoding of
//! parsed elements into [`Value`](crate::Value)s, faults and SOAP envelopes.

mod decode;
mod reader;
mod writer;

pub(crate) use decode::{Body, decode_localized_fault, decode_moref, decode_value, envelope_body};
pub use reader::ParseLimits;
pub(crate) use reader::{Element, parse};
pub(crate) use writer::RequestWriter;

/// The XML Schema namespace (`xsd:`).
pub(crate) const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// The XML Schema instance namespace (`xsi:`).
pub(crate) const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
