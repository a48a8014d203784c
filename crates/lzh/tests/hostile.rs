//! Hostile archives are refused with a typed error, nothing is written outside the target
//! and no partial file is left behind.

use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use kx_lzh::{Budget, Crc16, Error, Limits, Writer, extract, unpack};

/// A level-0 header (the simplest to forge: no header CRC) followed by `body`.
fn level0(method: &[u8; 5], name: &[u8], size: u32, crc: u16, body: &[u8]) -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(method);
    header.extend_from_slice(&(body.len() as u32).to_le_bytes());
    header.extend_from_slice(&size.to_le_bytes());
    header.extend_from_slice(&0x5A21_0000u32.to_le_bytes());
    header.extend_from_slice(&[0x20, 0, name.len() as u8]);
    header.extend_from_slice(name);
    header.extend_from_slice(&crc.to_le_bytes());
    let checksum = header.iter().fold(0u8, |sum, &b| sum.wrapping_add(b));
    let mut out = vec![header.len() as u8, checksum];
    out.extend(header);
    out.extend_from_slice(body);
    out
}

fn stored(name: &[u8], data: &[u8]) -> Vec<u8> {
    level0(b"-lh0-", name, data.len() as u32, Crc16::of(data), data)
}

fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = entries.concat();
    out.push(0);
    out
}

/// Every file and directory under `root`, relative, sorted.
fn contents(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for child in fs::read_dir(&dir).expect("read_dir") {
            let path = child.expect("entry").path();
            found.push(
                path.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
            );
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Extracts `archive` into `<tmp>/target` and returns the error and what `<tmp>` holds.
fn extract_hostile(archive: &[u8], limits: &Limits) -> (Error, Vec<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = extract(
        archive,
        &tmp.path().join("target"),
        &mut Budget::new(*limits),
    )
    .expect_err("hostile archive accepted");
    (err, contents(tmp.path()))
}

#[test]
fn path_traversal_absolute_paths_and_drive_letters_are_refused() {
    for name in [
        &b"../evil.txt"[..],
        b"ok/../../evil.txt",
        b"/tmp/evil.txt",
        b"\\evil.txt",
        b"C:\\evil.txt",
        b"c:evil",
    ] {
        let (err, left) = extract_hostile(&archive(&[stored(name, b"owned")]), &Limits::default());
        assert!(
            matches!(err, Error::InvalidPath { .. }),
            "{}: {err}",
            String::from_utf8_lossy(name)
        );
        assert_eq!(left, ["target"], "{}", String::from_utf8_lossy(name));
    }
}

#[test]
fn traversal_after_good_entries_stops_there() {
    let bytes = archive(&[
        stored(b"good.txt", b"fine"),
        stored(b"../../evil.txt", b"owned"),
    ]);
    let (err, left) = extract_hostile(&bytes, &Limits::default());
    assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
    assert_eq!(left, ["target", "target/good.txt"]);
    assert!(matches!(
        unpack(&bytes, &mut Budget::default()),
        Err(Error::InvalidPath { .. })
    ));
}

#[test]
fn symbolic_links_are_refused() {
    let link = level0(b"-lhd-", b"innocent|/etc/passwd", 0, 0, b"");
    let (err, left) = extract_hostile(&archive(&[link]), &Limits::default());
    assert!(matches!(err, Error::Link { .. }), "{err}");
    assert_eq!(left, ["target"]);
}

#[test]
fn links_planted_in_the_target_are_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (target, outside) = (tmp.path().join("target"), tmp.path().join("outside"));
    fs::create_dir_all(&target).expect("mkdir");
    fs::create_dir_all(&outside).expect("mkdir");
    std::os::unix::fs::symlink(&outside, target.join("link")).expect("symlink");
    let err = extract(
        archive(&[stored(b"link/evil.txt", b"owned")]).as_slice(),
        &target,
        &mut Budget::default(),
    )
    .expect_err("extracted through a link");
    assert!(
        matches!(err, Error::Obstructed { found: "link", .. }),
        "{err}"
    );
    assert!(contents(&outside).is_empty());
}

#[test]
fn bad_crc_is_refused_and_leaves_no_file() {
    let bytes = archive(&[level0(b"-lh0-", b"data.csv", 5, 0x1234, b"hello")]);
    let (err, left) = extract_hostile(&bytes, &Limits::default());
    assert!(
        matches!(
            err,
            Error::CrcMismatch {
                expected: 0x1234,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(left, ["target"]);
}

fn compressed_archive(data: &[u8]) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    writer.add_file("data.csv", UNIX_EPOCH, data).expect("add");
    writer.finish().expect("finish")
}

fn csv_like(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"0123456789,\r\n"[(i * 7 + i / 13) % 13])
        .collect()
}

#[test]
fn corrupt_compressed_data_is_refused_and_leaves_no_file() {
    let good = compressed_archive(&csv_like(200_000));
    let data_start = usize::from(u16::from_le_bytes([good[0], good[1]]));
    for offset in [data_start + 40, good.len() / 2, good.len() - 10] {
        let mut bad = good.clone();
        bad[offset] ^= 0x55;
        let (err, left) = extract_hostile(&bad, &Limits::default());
        assert!(
            matches!(
                err,
                Error::CrcMismatch { .. } | Error::CorruptData { .. } | Error::Truncated { .. }
            ),
            "{err}"
        );
        assert_eq!(left, ["target"], "flipped byte {offset}");
    }
}

#[test]
fn truncated_archives_are_refused_and_leave_no_file() {
    let good = compressed_archive(&csv_like(100_000));
    for cut in [1, 10, 30, good.len() / 2, good.len() - 2] {
        let (err, left) = extract_hostile(&good[..cut], &Limits::default());
        assert!(
            matches!(err, Error::Truncated { .. } | Error::MalformedHeader { .. }),
            "cut at {cut}: {err}"
        );
        assert_eq!(left, ["target"], "cut at {cut}");
    }
}

#[test]
fn decompression_bombs_are_refused_before_decoding() {
    // 16 MiB of zeros packs to a few hundred bytes.
    let bomb = compressed_archive(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 4096);
    let (err, left) = extract_hostile(&bomb, &Limits::default());
    assert!(
        matches!(err, Error::RatioExceeded { limit: 1_000, .. }),
        "{err}"
    );
    assert_eq!(left, ["target"]);

    // A header that lies about the unpacked size is caught the same way.
    let liar = archive(&[level0(b"-lh5-", b"liar.csv", u32::MAX, 0, &[0; 64])]);
    assert!(matches!(
        unpack(&liar, &mut Budget::default()),
        Err(Error::TotalSizeExceeded { .. })
    ));
    let limits = Limits {
        max_total_size: u64::MAX,
        ..Limits::default()
    };
    assert!(matches!(
        unpack(&liar, &mut Budget::new(limits)),
        Err(Error::RatioExceeded { .. })
    ));
}

#[test]
fn total_size_and_entry_count_are_limited() {
    let many: Vec<Vec<u8>> = (0..20)
        .map(|i| stored(format!("f{i}.txt").as_bytes(), b"0123456789"))
        .collect();
    let bytes = archive(&many);
    let few = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(matches!(
        unpack(&bytes, &mut Budget::new(few)),
        Err(Error::TooManyEntries { limit: 10 })
    ));
    let small = Limits {
        max_total_size: 150,
        ..Limits::default()
    };
    match unpack(&bytes, &mut Budget::new(small)) {
        Err(Error::TotalSizeExceeded { entry, limit: 150 }) => assert_eq!(entry, "f15.txt"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        unpack(&bytes, &mut Budget::default())
            .expect("within limits")
            .len(),
        20
    );
}

#[test]
fn unsupported_methods_are_listed_but_not_decoded() {
    let bytes = archive(&[level0(b"-lh1-", b"old.txt", 3, 0, b"abc")]);
    let entries = kx_lzh::list(bytes.as_slice(), &mut Budget::default()).expect("list");
    assert_eq!(entries[0].method.to_string(), "-lh1-");
    assert!(matches!(
        unpack(&bytes, &mut Budget::default()),
        Err(Error::UnsupportedMethod { .. })
    ));
}

/// `count` compressed archives of one file `data` each.
fn copies(count: usize, data: &[u8]) -> Vec<Vec<u8>> {
    (0..count).map(|_| compressed_archive(data)).collect()
}

#[test]
fn one_budget_is_shared_by_every_archive_of_a_message() {
    let limits = Limits {
        max_total_size: 300_000,
        ..Limits::default()
    };
    // Each inside the total alone.
    let archives = copies(4, &csv_like(100_000));
    for archive in &archives {
        unpack(archive, &mut Budget::new(limits)).expect("one alone fits");
    }
    let mut budget = Budget::new(limits);
    for archive in &archives[..3] {
        unpack(archive, &mut budget).expect("three fit together");
    }
    assert_eq!(budget.unpacked(), 300_000);
    assert_eq!(budget.entries(), 3);
    // The fourth crosses the total at its header: refused before a byte of it is decoded,
    // and nothing of it is drawn.
    let mut reader = kx_lzh::Reader::new(archives[3].as_slice(), &mut budget);
    match reader.next_entry() {
        Err(Error::TotalSizeExceeded { entry, limit }) => {
            assert_eq!((entry.as_str(), limit), ("data.csv", 300_000));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(budget.unpacked(), 300_000);

    let few = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let mut budget = Budget::new(few);
    unpack(&archives[0], &mut budget).expect("first");
    unpack(&archives[1], &mut budget).expect("second");
    assert!(matches!(
        unpack(&archives[2], &mut budget),
        Err(Error::TooManyEntries { limit: 2 })
    ));
}

#[test]
fn small_entries_each_under_the_ratio_floor_break_the_running_ratio() {
    let limits = Limits {
        max_ratio: 100,
        ..Limits::default()
    };
    // Each 512 KiB of zeros is exempt alone (under the 1 MiB floor); three of them pass the
    // floor together at far more than 100:1.
    let archives = copies(3, &vec![0u8; 512 << 10]);
    let mut budget = Budget::new(limits);
    unpack(&archives[0], &mut budget).expect("first");
    unpack(&archives[1], &mut budget).expect("second");
    match unpack(&archives[2], &mut budget) {
        Err(
            err @ Error::RatioExceeded {
                size, limit: 100, ..
            },
        ) => {
            assert_eq!(size, 3 * (512 << 10), "{err}");
            assert!(err.is_over_budget());
        }
        other => panic!("{other:?}"),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(64))]

    /// However a message's data is split over archives, one budget lets through exactly what
    /// fits its total and never draws more.
    #[test]
    fn a_shared_budget_never_draws_past_its_total(
        sizes in proptest::collection::vec(0usize..20_000, 1..8),
        limit in 0u64..100_000,
    ) {
        let limits = Limits { max_total_size: limit, ..Limits::unlimited() };
        let mut budget = Budget::new(limits);
        let mut outcome = Ok(());
        for size in &sizes {
            outcome = unpack(&compressed_archive(&csv_like(*size)), &mut budget).map(drop);
            if outcome.is_err() {
                break;
            }
        }
        let total: u64 = sizes.iter().map(|s| *s as u64).sum();
        proptest::prop_assert!(budget.unpacked() <= limit);
        match outcome {
            Ok(()) => proptest::prop_assert!(total <= limit),
            Err(err) => {
                proptest::prop_assert!(total > limit);
                proptest::prop_assert!(matches!(err, Error::TotalSizeExceeded { .. }), "{}", err);
            }
        }
    }
}
