//! Write → read round trips through the public API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kx_lzh::{Budget, Compression, Error, Limits, Method, Writer, unpack};
use proptest::prelude::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn round_trip(
    files: &[(String, Vec<u8>)],
    compression: Compression,
) -> Vec<(String, Vec<u8>, Method)> {
    let mut writer = Writer::with_compression(Vec::new(), compression);
    for (name, data) in files {
        writer.add_file(name, at(1_700_000_000), data).expect("add");
    }
    let archive = writer.finish().expect("finish");
    unpack(&archive, &mut Budget::new(Limits::unlimited()))
        .expect("unpack")
        .into_iter()
        .map(|u| (u.entry.path.to_string(), u.data, u.entry.method))
        .collect()
}

/// Bytes drawn from a small alphabet in runs, so that matches of every length and distance
/// occur.
fn compressible() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((0u8..6, 1usize..40), 0..2000).prop_map(|runs| {
        runs.into_iter()
            .flat_map(|(b, n)| std::iter::repeat_n(b"ab,\n12"[usize::from(b)], n))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lh5_round_trips_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..20_000)) {
        let files = vec![("f.bin".to_owned(), data)];
        let back = round_trip(&files, Compression::Lh5);
        prop_assert_eq!(&back[0].1, &files[0].1);
    }

    #[test]
    fn lh5_round_trips_compressible_data(data in compressible(), repeat in 1usize..4) {
        let data = data.repeat(repeat);
        let files = vec![("f.csv".to_owned(), data)];
        let back = round_trip(&files, Compression::Lh5);
        prop_assert_eq!(&back[0].1, &files[0].1);
        if files[0].1.len() > 1000 {
            prop_assert_eq!(back[0].2, Method::Lh5);
        }
    }

    #[test]
    fn lh0_round_trips(data in proptest::collection::vec(any::<u8>(), 0..5_000)) {
        let files = vec![("stored".to_owned(), data)];
        let back = round_trip(&files, Compression::Lh0);
        prop_assert_eq!(&back[0].1, &files[0].1);
        prop_assert_eq!(back[0].2, Method::Lh0);
    }
}

/// Incompressible bytes (xorshift64).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn incompressible_files_are_stored_and_empty_files_too() {
    let noise = noise(4096);
    let back = round_trip(
        &[
            ("noise".into(), noise.clone()),
            ("empty".into(), Vec::new()),
        ],
        Compression::Lh5,
    );
    assert_eq!(back[0], ("noise".into(), noise, Method::Lh0));
    assert_eq!(back[1], ("empty".into(), Vec::new(), Method::Lh0));
}

#[test]
fn long_runs_cross_many_blocks() {
    let mut data = vec![0u8; 3 << 20];
    data.extend((0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()));
    let back = round_trip(&[("big".into(), data.clone())], Compression::Lh5);
    assert_eq!(back[0].1, data);
}

/// A Result-style archive: `1234567890/`, `1234567890/空/` and `1234567890/結果.CSV`
/// holding `csv`, directories dated 2020-09-13 and the file 2023-11-14.
fn result_archive(csv: &[u8]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    writer
        .add_directory("1234567890", at(1_600_000_000))
        .expect("dir");
    writer
        .add_directory("1234567890/空", at(1_600_000_000))
        .expect("dir");
    writer
        .add_file("1234567890/結果.CSV", at(1_700_000_000), csv)
        .expect("file");
    writer.finish().expect("finish")
}

#[test]
fn directories_names_and_times_survive() {
    let entries = unpack(
        &result_archive("1,2,３\r\n".as_bytes()),
        &mut Budget::default(),
    )
    .expect("unpack");
    let summary: Vec<_> = entries
        .iter()
        .map(|u| {
            (
                u.entry.path.to_string(),
                u.entry.is_directory,
                u.entry.method,
                u.entry.modified,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "1234567890".to_owned(),
                true,
                Method::Lhd,
                Some(at(1_600_000_000))
            ),
            (
                "1234567890/空".to_owned(),
                true,
                Method::Lhd,
                Some(at(1_600_000_000))
            ),
            (
                "1234567890/結果.CSV".to_owned(),
                false,
                Method::Lh0,
                Some(at(1_700_000_000))
            ),
        ]
    );
    assert_eq!(entries[2].data, "1,2,３\r\n".as_bytes());
}

#[test]
fn writer_refuses_unsafe_and_unencodable_names() {
    let mut writer = Writer::new(Vec::new());
    for bad in ["../x", "/abs", "C:/x", "😀.csv"] {
        assert!(
            matches!(
                writer.add_file(bad, at(0), b"x"),
                Err(Error::InvalidPath { .. })
            ),
            "{bad}"
        );
    }
}

/// Hands out at most `step` bytes per read, as sockets and pipes do.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn streamed_files_match_in_memory_ones_and_read_back_through_short_reads() {
    let text: Vec<u8> = (0..300_000u32)
        .flat_map(|i| format!("{},{}\r\n", i % 977, i % 13).into_bytes())
        .collect();
    let noise = noise(70_000);
    let mut streamed = Writer::new(Vec::new());
    let mut in_memory = Writer::new(Vec::new());
    let mut spool = std::io::Cursor::new(Vec::new());
    for (name, data) in [("text.csv", &text), ("noise.bin", &noise)] {
        let source = std::io::Cursor::new(data.as_slice());
        let method = streamed
            .add_file_from(name, at(1), source, &mut spool)
            .expect("stream");
        assert_eq!(method, in_memory.add_file(name, at(1), data).expect("add"));
    }
    let streamed = streamed.finish().expect("finish");
    assert_eq!(streamed, in_memory.finish().expect("finish"));

    let mut budget = Budget::default();
    let mut reader = kx_lzh::Reader::new(
        Trickle {
            data: &streamed,
            step: 7,
        },
        &mut budget,
    );
    for (expected, method) in [(&text, Method::Lh5), (&noise, Method::Lh0)] {
        let entry = reader.next_entry().expect("header").expect("entry");
        assert_eq!(entry.method, method);
        let mut data = Vec::new();
        assert_eq!(
            reader.read_data(&mut data).expect("data"),
            expected.len() as u64
        );
        assert_eq!(&data, expected);
    }
    assert!(reader.next_entry().expect("end").is_none());
}

#[test]
fn headers_whose_size_ends_in_a_zero_byte_are_padded() {
    // A 222-byte name makes a 256-byte header, whose first byte would read as the end mark.
    let name = format!("{}.csv", "n".repeat(218));
    let mut writer = Writer::new(Vec::new());
    writer.add_file(&name, at(1), b"data").expect("add");
    let archive = writer.finish().expect("finish");
    assert_eq!(&archive[..2], &[1, 1], "257-byte header");
    let entries = unpack(&archive, &mut Budget::default()).expect("unpack");
    assert_eq!(entries[0].entry.path.to_string(), name);
    assert_eq!(entries[0].data, b"data");
}

#[test]
fn extract_writes_files_directories_and_times() {
    let csv = "1,請求\r\n".repeat(1000);
    let archive = result_archive(csv.as_bytes());

    let tmp = tempfile::tempdir().expect("tempdir");
    let done =
        kx_lzh::extract(archive.as_slice(), tmp.path(), &mut Budget::default()).expect("extract");
    assert_eq!(
        (done.files, done.directories, done.bytes),
        (1, 2, csv.len() as u64)
    );
    assert!(tmp.path().join("1234567890/空").is_dir());
    let file = tmp.path().join("1234567890/結果.CSV");
    assert_eq!(std::fs::read(&file).expect("read"), csv.as_bytes());
    let modified = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(modified, at(1_700_000_000));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("1234567890"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .filter(|name| name.to_string_lossy().starts_with(".kx-lzh-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
