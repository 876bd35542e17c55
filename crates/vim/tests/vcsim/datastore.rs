//! Datastore file access over /folder: uploads and ranged downloads of real
//! bytes, and the errors of missing files.

use std::time::Duration;

use ferry_vim::{ByteRange, DatastoreFile, Error, Value};
use tokio::io::AsyncReadExt as _;

use crate::common::{bounded, connected, property, vms};

const TRANSFER: Duration = Duration::from_secs(60);

/// Deterministic, non-repeating bytes.
fn content(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[tokio::test]
async fn upload_then_ranged_downloads_round_trip_the_bytes() {
    bounded("datastore round trip", async {
        let (_vcsim, client) = connected().await;
        let file = DatastoreFile {
            datacenter: "DC0".into(),
            datastore: "LocalDS_0".into(),
            path: "ferry test/dïsk #1 (copy).bin".into(),
        };
        let data = content(3 * 1024 * 1024 + 7);
        client
            .upload(&file, data.clone(), Some(data.len() as u64), TRANSFER)
            .await
            .unwrap();

        let whole = client
            .download_to_vec(&file, None, 16 << 20, TRANSFER)
            .await
            .unwrap();
        assert_eq!(whole.len(), data.len());
        assert!(whole == data, "the downloaded bytes differ");

        let range = ByteRange {
            start: 1_000_000,
            end: Some(1_999_999),
        };
        let mut download = client.download(&file, Some(range), TRANSFER).await.unwrap();
        assert!(download.partial);
        assert_eq!(download.content_length, Some(1_000_000));
        assert_eq!(download.total_size, Some(data.len() as u64));
        let mut middle = Vec::new();
        while let Some(chunk) = download.chunk().await.unwrap() {
            middle.extend(chunk);
        }
        assert!(middle == data[1_000_000..2_000_000], "the range differs");

        let tail = client
            .download(
                &file,
                Some(ByteRange {
                    start: data.len() as u64 - 10,
                    end: None,
                }),
                TRANSFER,
            )
            .await
            .unwrap();
        let mut bytes = Vec::new();
        tail.into_reader().read_to_end(&mut bytes).await.unwrap();
        assert_eq!(bytes, data[data.len() - 10..]);
    })
    .await;
}

#[tokio::test]
async fn a_vm_disk_file_can_be_filled_and_read_back() {
    bounded("vm disk", async {
        let (_vcsim, client) = connected().await;
        let vm = vms(&client).await.remove(0);
        let devices = property(&client, &vm, "config.hardware.device")
            .await
            .unwrap();
        let disk = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d.type_name() == Some("VirtualDisk"))
            .unwrap()
            .clone();
        let name = disk
            .path("backing.fileName")
            .and_then(Value::as_str)
            .unwrap();
        // The flat extent next to the descriptor, as the cold path reads it.
        let flat = name.replace(".vmdk", "-flat.vmdk");
        let file = DatastoreFile::from_datastore_path("DC0", &flat).unwrap();
        let data = content(1 << 20);
        let reader = std::io::Cursor::new(data.clone());
        client
            .upload_reader(&file, reader, Some(data.len() as u64), TRANSFER)
            .await
            .unwrap();
        let back = client
            .download_to_vec(&file, None, 2 << 20, TRANSFER)
            .await
            .unwrap();
        assert!(back == data);
    })
    .await;
}

#[tokio::test]
async fn missing_files_and_datacenters_are_http_404() {
    bounded("missing", async {
        let (_vcsim, client) = connected().await;
        let missing = DatastoreFile {
            datacenter: "DC0".into(),
            datastore: "LocalDS_0".into(),
            path: "no/such/file.vmdk".into(),
        };
        let error = client.download(&missing, None, TRANSFER).await.unwrap_err();
        assert!(
            matches!(error, Error::Http { status: 404, .. }),
            "{error:?}"
        );
        let no_dc = DatastoreFile {
            datacenter: "NoSuchDC".into(),
            ..missing
        };
        let error = client.download(&no_dc, None, TRANSFER).await.unwrap_err();
        assert!(
            matches!(error, Error::Http { status: 404, .. }),
            "{error:?}"
        );
    })
    .await;
}
