//! A misbehaving server: malformed, truncated, oversized, hostile and faulty
//! answers must become typed errors (never panics), and unusual but valid
//! content must decode exactly.

use std::sync::Arc;

use ferry_vim::{
    Client, ConnectConfig, Error, FaultKind, Limits, PropertyFilterSpec, PropertySpec, Value,
    XmlError,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::common::bounded;

const ENVELOPE_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>"#;
const ENVELOPE_END: &str = "</soapenv:Body></soapenv:Envelope>";

fn envelope(body: &str) -> String {
    format!("{ENVELOPE_START}{body}{ENVELOPE_END}")
}

fn service_content() -> String {
    envelope(concat!(
        r#"<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval>"#,
        r#"<rootFolder type="Folder">group-d1</rootFolder>"#,
        r#"<propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>"#,
        r#"<viewManager type="ViewManager">ViewManager</viewManager>"#,
        r#"<about><name>Fake</name><apiType>VirtualCenter</apiType><apiVersion>8.0.3.0</apiVersion>"#,
        r#"<instanceUuid>fake</instanceUuid></about>"#,
        r#"<sessionManager type="SessionManager">SessionManager</sessionManager>"#,
        r#"</returnval></RetrieveServiceContentResponse>"#
    ))
}

/// What the fake answers to a call (other than RetrieveServiceContent).
#[derive(Clone)]
struct Answer {
    status: u16,
    body: Vec<u8>,
    /// Announce more bytes than are sent, then close.
    short_by: usize,
}

impl Answer {
    fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            short_by: 0,
        }
    }
}

/// Serves the service content, then `answer` to everything else.
async fn fake(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                loop {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    let (status, body, short_by) = if request.contains("<RetrieveServiceContent") {
                        (200, service_content().into_bytes(), 0)
                    } else {
                        (answer.status, answer.body.clone(), answer.short_by)
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
                        body.len() + short_by
                    );
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(&body).await.is_err()
                    {
                        return;
                    }
                    if short_by > 0 {
                        let _ = stream.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}/sdk")
}

/// Reads one HTTP request; returns its body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned())
}

async fn client_for(answer: Answer, limits: Limits) -> Client {
    let url = fake(answer).await;
    let config = ConnectConfig {
        limits,
        ..ConnectConfig::new(&url, "u", "p").unwrap()
    };
    Client::unauthenticated(config).await.unwrap()
}

/// Makes one retrieval call against a fake answering `answer`.
async fn retrieve_with(
    answer: Answer,
    limits: Limits,
) -> Result<Vec<ferry_vim::ObjectContent>, Error> {
    let client = client_for(answer, limits).await;
    let spec = PropertyFilterSpec::for_objects(
        &[ferry_vim::MoRef::new("VirtualMachine", "vm-1")],
        vec![PropertySpec::new("VirtualMachine", &["name"])],
    );
    client
        .retrieve_properties(&spec, None)
        .await
        .map(|page| page.objects)
}

fn objects_response(objects: &str) -> String {
    envelope(&format!(
        r#"<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>{objects}</returnval></RetrievePropertiesExResponse>"#
    ))
}

fn vm_object(id: usize, name: &str) -> String {
    format!(
        r#"<objects><obj type="VirtualMachine">vm-{id}</obj><propSet><name>name</name><val xsi:type="xsd:string">{name}</val></propSet><propSet><name>config.hardware.memoryMB</name><val xsi:type="xsd:int">{id}</val></propSet></objects>"#
    )
}

#[tokio::test]
async fn malformed_xml_is_a_typed_error() {
    bounded("malformed", async {
        let error = retrieve_with(
            Answer::ok(envelope(
                "<RetrievePropertiesExResponse><returnval></wrong>",
            )),
            Limits::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Xml {
                    source: XmlError::Malformed { .. },
                    ..
                }
            ),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn truncated_xml_is_a_typed_error() {
    bounded("truncated", async {
        let full = objects_response(&vm_object(1, "a"));
        let half = full[..full.len() / 2].to_owned();
        let error = retrieve_with(Answer::ok(half), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Xml {
                    source: XmlError::Truncated { .. },
                    ..
                }
            ),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_connection_closed_mid_body_is_a_transport_error() {
    bounded("short body", async {
        let answer = Answer {
            short_by: 1000,
            ..Answer::ok(objects_response(&vm_object(1, "a")))
        };
        let error = retrieve_with(answer, Limits::default()).await.unwrap_err();
        assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn a_soap_fault_keeps_its_name_and_message() {
    bounded("fault", async {
        let body = envelope(concat!(
            "<soapenv:Fault><faultcode>ServerFaultCode</faultcode>",
            "<faultstring>A specified parameter was not correct: spec</faultstring>",
            r#"<detail><InvalidArgumentFault xmlns="urn:vim25" xsi:type="InvalidArgument">"#,
            "<invalidProperty>spec</invalidProperty></InvalidArgumentFault></detail>",
            "</soapenv:Fault>"
        ));
        let answer = Answer {
            status: 500,
            ..Answer::ok(body)
        };
        let error = retrieve_with(answer, Limits::default()).await.unwrap_err();
        let fault = error.fault().expect("a fault");
        assert_eq!(fault.kind(), FaultKind::InvalidArgument);
        assert_eq!(fault.message, "A specified parameter was not correct: spec");
        assert_eq!(
            fault.detail.get("invalidProperty").and_then(Value::as_str),
            Some("spec")
        );
        assert_eq!(
            error.to_string(),
            "RetrievePropertiesEx: InvalidArgument: A specified parameter was not correct: spec"
        );
    })
    .await;
}

#[tokio::test]
async fn a_proxy_error_page_is_an_http_error() {
    bounded("proxy page", async {
        let answer = Answer {
            status: 502,
            ..Answer::ok("<html><body>Bad Gateway</body></html>")
        };
        let error = retrieve_with(answer, Limits::default()).await.unwrap_err();
        assert!(
            matches!(error, Error::Http { status: 502, .. }),
            "{error:?}"
        );
        assert!(error.is_connection_failure());
        // A 500 that is not SOAP is an HTTP error too, not a parse error.
        let answer = Answer {
            status: 500,
            ..Answer::ok("Internal Server Error")
        };
        let error = retrieve_with(answer, Limits::default()).await.unwrap_err();
        assert!(
            matches!(error, Error::Http { status: 500, .. }),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn well_formed_but_not_soap_is_a_protocol_error() {
    bounded("not soap", async {
        let error = retrieve_with(Answer::ok("<hello/>"), Limits::default())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Protocol { .. }), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn entity_expansion_and_deep_nesting_are_refused() {
    bounded("hostile xml", async {
        let laughs = format!(
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>{}"#,
            objects_response(&vm_object(1, "&lol2;"))
        );
        let error = retrieve_with(Answer::ok(laughs), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Xml { source: XmlError::Dtd, .. }),
            "{error:?}"
        );

        let undefined = objects_response(&vm_object(1, "&undefined;"));
        let error = retrieve_with(Answer::ok(undefined), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Xml { source: XmlError::Entity { .. }, .. }),
            "{error:?}"
        );

        let deep = format!(
            r#"<objects><obj type="VirtualMachine">vm-1</obj><propSet><name>x</name><val xsi:type="Deep">{}{}</val></propSet></objects>"#,
            "<a>".repeat(100_000),
            "</a>".repeat(100_000)
        );
        let error = retrieve_with(Answer::ok(objects_response(&deep)), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Xml { source: XmlError::TooDeep { .. }, .. }),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_10_mb_answer_decodes_and_a_smaller_limit_refuses_it() {
    bounded("10 MB", async {
        let count = 45_000;
        let objects: String = (0..count)
            .map(|i| vm_object(i, &format!("vm {i}")))
            .collect();
        let body = objects_response(&objects);
        assert!(body.len() > 10_000_000, "{} bytes", body.len());

        let decoded = retrieve_with(Answer::ok(body.clone()), Limits::default())
            .await
            .unwrap();
        assert_eq!(decoded.len(), count);
        assert_eq!(decoded[count - 1].obj.value, format!("vm-{}", count - 1));
        assert_eq!(
            decoded[123].get("config.hardware.memoryMB"),
            Some(&Value::Int(123))
        );

        let small = Limits {
            max_response_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let error = retrieve_with(Answer::ok(body), small).await.unwrap_err();
        assert!(matches!(error, Error::ResponseTooLarge { .. }), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn names_with_slashes_escapes_and_non_ascii_decode_exactly() {
    bounded("names", async {
        let names = [
            ("a/b\\c", "a/b\\c"),
            ("%2Fescaped%2f", "%2Fescaped%2f"),
            ("Zürich — 東京 🚀", "Zürich — 東京 🚀"),
            ("&lt;tag&gt; &amp; &quot;q&quot; &apos;", "<tag> & \"q\" '"),
            ("&#x41;&#66;", "AB"),
            ("<![CDATA[raw <b>]]>", "raw <b>"),
            ("  spaced  ", "  spaced  "),
        ];
        let objects: String = names
            .iter()
            .enumerate()
            .map(|(i, (raw, _))| vm_object(i, raw))
            .collect();
        let decoded = retrieve_with(Answer::ok(objects_response(&objects)), Limits::default())
            .await
            .unwrap();
        for (object, (_, expected)) in decoded.iter().zip(names) {
            assert_eq!(object.get("name").and_then(Value::as_str), Some(expected));
        }
    })
    .await;
}

#[tokio::test]
async fn invalid_utf8_and_bad_typed_values_are_typed_errors() {
    bounded("bad values", async {
        let mut bytes = objects_response(&vm_object(1, "x")).into_bytes();
        let at = bytes.iter().position(|b| *b == b'x').unwrap();
        bytes[at] = 0xff;
        let error = retrieve_with(Answer::ok(bytes), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Xml { source: XmlError::Encoding { .. }, .. }),
            "{error:?}"
        );

        let bad_int = objects_response(
            r#"<objects><obj type="VirtualMachine">vm-1</obj><propSet><name>n</name><val xsi:type="xsd:int">many</val></propSet></objects>"#,
        );
        let error = retrieve_with(Answer::ok(bad_int), Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Xml { source: XmlError::InvalidValue { .. }, .. }),
            "{error:?}"
        );
    })
    .await;
}
