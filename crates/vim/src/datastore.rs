//! Datastore file access over HTTPS, as virt-v2v's vCenter input and CDI's
//! importer use it: `GET/PUT https://<host>/folder/<path>?dcPath=<dc>&dsName=<ds>`
//! with the session cookie, and `Range` requests for streaming reads.

use std::time::Duration;

use futures::TryStreamExt as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, COOKIE, HeaderValue, RANGE};
use reqwest::{Body, StatusCode, Url};
use tokio::io::AsyncRead;

use crate::client::Client;
use crate::error::Error;
use crate::soap::excerpt;

/// A file on a datastore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatastoreFile {
    /// The datacenter's inventory path (`dcPath`), e.g. `DC0` or `Folder/DC1`.
    pub datacenter: String,
    /// The datastore's name (`dsName`).
    pub datastore: String,
    /// The path within the datastore, e.g. `vm-1/vm-1-flat.vmdk`.
    pub path: String,
}

impl DatastoreFile {
    /// The file a backing names, e.g. `[LocalDS_0] vm/disk1.vmdk`, in
    /// `datacenter`.
    pub fn from_datastore_path(datacenter: &str, datastore_path: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidArgument {
            message: format!(
                "`{datastore_path}` is not a datastore path like `[datastore] dir/file`"
            ),
        };
        let rest = datastore_path
            .trim()
            .strip_prefix('[')
            .ok_or_else(invalid)?;
        let (datastore, path) = rest.split_once(']').ok_or_else(invalid)?;
        if datastore.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            datacenter: datacenter.to_owned(),
            datastore: datastore.to_owned(),
            path: path.trim_start().to_owned(),
        })
    }

    /// The `/folder` URL of this file on the server at `base`.
    pub fn url(&self, base: &Url) -> Result<Url, Error> {
        if self.path.split('/').any(|segment| segment == "..") {
            return Err(Error::InvalidArgument {
                message: format!("the datastore path `{}` climbs out with `..`", self.path),
            });
        }
        let mut url = base.clone();
        let mut path = String::from("/folder");
        for segment in self.path.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            path.push_str(&percent_encode(segment));
        }
        url.set_path(&path);
        url.set_query(Some(&format!(
            "dcPath={}&dsName={}",
            percent_encode(&self.datacenter),
            percent_encode(&self.datastore)
        )));
        url.set_fragment(None);
        Ok(url)
    }
}

/// A byte range of a file: `start..=end`, or from `start` to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive); `None` for the rest of the file.
    pub end: Option<u64>,
}

/// A download in progress.
#[derive(Debug)]
pub struct Download {
    /// Whether the server answered a range (206) rather than the whole file.
    pub partial: bool,
    /// Bytes in this response, if the server said.
    pub content_length: Option<u64>,
    /// The whole file's size, if known (from `Content-Range`, or the length of
    /// a full response).
    pub total_size: Option<u64>,
    response: reqwest::Response,
    what: String,
    timeout: Duration,
}

impl Download {
    /// The body as an async reader (streamed, never held whole).
    pub fn into_reader(self) -> impl AsyncRead + Send + Unpin {
        let what = self.what;
        let timeout = self.timeout;
        let stream = self.response.bytes_stream().map_err(move |e| {
            let kind = if e.is_timeout() {
                std::io::ErrorKind::TimedOut
            } else {
                std::io::ErrorKind::Other
            };
            std::io::Error::new(
                kind,
                format!("reading {what} failed after up to {timeout:?}: {e}"),
            )
        });
        tokio_util::io::StreamReader::new(stream)
    }

    /// The next chunk of the body, or `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        match self.response.chunk().await {
            Ok(chunk) => Ok(chunk.map(|c| c.to_vec())),
            Err(e) => Err(if e.is_timeout() {
                Error::Timeout {
                    what: self.what.clone(),
                    after: self.timeout,
                }
            } else {
                Error::Transport {
                    url: self.what.clone(),
                    message: e.to_string(),
                }
            }),
        }
    }
}

impl Client {
    /// Starts reading a datastore file (all of it, or `range`), with the
    /// session cookie. `timeout` bounds the whole transfer.
    ///
    /// A missing file is [`Error::Http`] 404; an unsatisfiable range 416.
    pub async fn download(
        &self,
        file: &DatastoreFile,
        range: Option<ByteRange>,
        timeout: Duration,
    ) -> Result<Download, Error> {
        let transport = self.transport();
        let url = file.url(&transport.url)?;
        let what = format!("[{}] {}", file.datastore, file.path);
        let mut request = transport.http.get(url).timeout(timeout);
        if let Some(cookie) = transport.cookie()
            && let Ok(value) = HeaderValue::from_str(cookie.expose())
        {
            request = request.header(COOKIE, value);
        }
        if let Some(range) = range {
            let header = match range.end {
                Some(end) => format!("bytes={}-{end}", range.start),
                None => format!("bytes={}-", range.start),
            };
            request = request.header(RANGE, header);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport.send_error(e, &what, timeout))?;
        let status = response.status();
        if status != StatusCode::OK && status != StatusCode::PARTIAL_CONTENT {
            return Err(http_error(&what, response).await);
        }
        let content_length = header_u64(&response, CONTENT_LENGTH.as_str());
        let partial = status == StatusCode::PARTIAL_CONTENT;
        let total_size = if partial {
            response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|t| t.trim().parse().ok())
        } else {
            content_length
        };
        Ok(Download {
            partial,
            content_length,
            total_size,
            response,
            what,
            timeout,
        })
    }

    /// Reads a whole (small) datastore file into memory, refusing more than
    /// `max_bytes`.
    pub async fn download_to_vec(
        &self,
        file: &DatastoreFile,
        range: Option<ByteRange>,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, Error> {
        let mut download = self.download(file, range, timeout).await?;
        let mut out = Vec::new();
        while let Some(chunk) = download.chunk().await? {
            if out.len() + chunk.len() > max_bytes {
                return Err(Error::ResponseTooLarge {
                    method: format!("GET {}", download.what),
                    limit: max_bytes,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Writes a datastore file (creating directories), streaming `body` of
    /// `length` bytes. `timeout` bounds the whole transfer.
    pub async fn upload(
        &self,
        file: &DatastoreFile,
        body: impl Into<Body>,
        length: Option<u64>,
        timeout: Duration,
    ) -> Result<(), Error> {
        let transport = self.transport();
        let url = file.url(&transport.url)?;
        let what = format!("[{}] {}", file.datastore, file.path);
        let mut request = transport.http.put(url).timeout(timeout).body(body);
        if let Some(cookie) = transport.cookie()
            && let Ok(value) = HeaderValue::from_str(cookie.expose())
        {
            request = request.header(COOKIE, value);
        }
        if let Some(length) = length {
            request = request.header(CONTENT_LENGTH, length);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport.send_error(e, &what, timeout))?;
        if !response.status().is_success() {
            return Err(http_error(&what, response).await);
        }
        Ok(())
    }

    /// Streams an `AsyncRead` into a datastore file.
    pub async fn upload_reader<R>(
        &self,
        file: &DatastoreFile,
        reader: R,
        length: Option<u64>,
        timeout: Duration,
    ) -> Result<(), Error>
    where
        R: AsyncRead + Send + Sync + 'static,
    {
        let stream = tokio_util::io::ReaderStream::new(reader);
        self.upload(file, Body::wrap_stream(stream), length, timeout)
            .await
    }
}

fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

async fn http_error(what: &str, response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map(|b| excerpt(&b))
        .unwrap_or_default();
    Error::Http {
        url: what.to_owned(),
        status,
        message: body,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backing_paths_and_urls() {
        let file =
            DatastoreFile::from_datastore_path("DC0", "[LocalDS_0] my vm/disk #1ä.vmdk").unwrap();
        assert_eq!(file.datastore, "LocalDS_0");
        assert_eq!(file.path, "my vm/disk #1ä.vmdk");
        let base = Url::parse("https://127.0.0.1:8989/sdk").unwrap();
        assert_eq!(
            file.url(&base).unwrap().as_str(),
            "https://127.0.0.1:8989/folder/my%20vm/disk%20%231%C3%A4.vmdk?dcPath=DC0&dsName=LocalDS_0"
        );
        let nested = DatastoreFile {
            datacenter: "F0/DC 1".into(),
            datastore: "ds&x".into(),
            path: "a".into(),
        };
        assert!(
            nested
                .url(&base)
                .unwrap()
                .as_str()
                .ends_with("/folder/a?dcPath=F0%2FDC%201&dsName=ds%26x")
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(DatastoreFile::from_datastore_path("DC0", "no brackets").is_err());
        assert!(DatastoreFile::from_datastore_path("DC0", "[] x").is_err());
        let file = DatastoreFile::from_datastore_path("DC0", "[ds] ../etc/passwd").unwrap();
        let base = Url::parse("https://h/sdk").unwrap();
        assert!(matches!(
            file.url(&base),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
