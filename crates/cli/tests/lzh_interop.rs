//! `kx lzh` against the real LHA tools: `lhasa` and `jlha` must read what kx writes, and kx
//! must read what `jlha` writes, byte for byte, over a corpus like the 伝送 traffic.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use encoding_rs::SHIFT_JIS;

/// Relative path (`/`-separated, Unicode) → contents; `None` for a directory.
type Tree = BTreeMap<String, Option<Vec<u8>>>;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NAMES: [&str; 8] = [
    "山田太郎",
    "鈴木花子",
    "佐藤一郎",
    "高橋美咲",
    "田中健",
    "伊藤さくら",
    "渡辺翔",
    "中村愛",
];
const CLINICS: [&str; 4] = [
    "東京中央病院",
    "大阪北診療所",
    "名古屋歯科医院",
    "札幌東薬局",
];

/// Claims-like rows in Shift_JIS, e.g. `2,123,7111,202604,1312345678,山田太郎,…`.
fn claims_csv(rng: &mut Rng, bytes: usize) -> Vec<u8> {
    let mut text = String::new();
    while text.len() < bytes {
        text.push_str(&format!(
            "2,{},{},2026{:02},13{:08},{},{},{},{}\r\n",
            100 + rng.below(900),
            7000 + rng.below(300),
            1 + rng.below(12),
            rng.below(100_000_000),
            NAMES[rng.below(8) as usize],
            CLINICS[rng.below(4) as usize],
            rng.below(500_000),
            if rng.below(5) == 0 { "再請求" } else { "" },
        ));
    }
    SHIFT_JIS.encode(&text).0.into_owned()
}

/// Nested directories, Japanese names, several-MB Shift_JIS CSVs, random binary, empty files
/// and highly repetitive data; a few MB in all.
fn corpus() -> Tree {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut tree = Tree::new();
    for dir in [
        "1234567890",
        "1234567890/返戻",
        "1234567890/返戻/深い",
        "1234567890/返戻/深い/階層",
        "空のフォルダ",
    ] {
        tree.insert(dir.to_owned(), None);
    }
    let random: Vec<u8> = (0..300_000).map(|_| rng.next() as u8).collect();
    let repetitive = b"2,123,7111,202604,1312345678,,,0,\r\n".repeat(30_000);
    let files: [(&str, Vec<u8>); 8] = [
        ("1234567890/請求データ.CSV", claims_csv(&mut rng, 3_000_000)),
        (
            "1234567890/返戻/返戻一覧.csv",
            claims_csv(&mut rng, 1_200_000),
        ),
        ("1234567890/返戻/深い/階層/空.csv", Vec::new()),
        (
            "1234567890/返戻/深い/階層/小さい.txt",
            "あ".as_bytes().to_vec(),
        ),
        ("random.bin", random),
        ("repetitive.csv", repetitive),
        ("zeros.dat", vec![0; 200_000]),
        ("empty", Vec::new()),
    ];
    for (name, data) in files {
        tree.insert(name.to_owned(), Some(data));
    }
    tree
}

fn write_tree(root: &Path, tree: &Tree) {
    for (name, data) in tree {
        let path = root.join(name);
        match data {
            None => fs::create_dir_all(&path).expect("mkdir"),
            Some(data) => {
                fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                fs::write(&path, data).expect("write");
            }
        }
    }
}

/// Reads a directory back; `sjis_names` decodes names written as raw Shift_JIS bytes.
fn read_tree(root: &Path, sjis_names: bool) -> Tree {
    fn walk(dir: &Path, prefix: &str, sjis: bool, tree: &mut Tree) {
        for child in fs::read_dir(dir).expect("read_dir") {
            let child = child.expect("entry");
            let raw = child.file_name();
            let name = if sjis {
                SHIFT_JIS
                    .decode_without_bom_handling(raw.as_bytes())
                    .0
                    .into_owned()
            } else {
                raw.to_str().expect("UTF-8 name").to_owned()
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if child.file_type().expect("type").is_dir() {
                tree.insert(rel.clone(), None);
                walk(&child.path(), &rel, sjis, tree);
            } else {
                tree.insert(rel, Some(fs::read(child.path()).expect("read")));
            }
        }
    }
    let mut tree = Tree::new();
    walk(root, "", sjis_names, &mut tree);
    tree
}

fn assert_same_tree(actual: &Tree, expected: &Tree, who: &str) {
    let names = |t: &Tree| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "{who}: different entries");
    for (name, data) in expected {
        assert!(actual[name] == *data, "{who}: {name} differs");
    }
}

fn run(cmd: &mut Command) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|err| panic!("cannot run {cmd:?}: {err}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn kx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kx"))
}

/// jlha is Java: it needs a UTF-8 locale to see the names, and `y` to store them as Shift_JIS.
fn jlha(args: &str) -> Command {
    let mut cmd = Command::new("jlha");
    cmd.arg(args).env("LC_ALL", "C.UTF-8");
    cmd
}

/// The corpus written under `<tmp>/src`, with an extra file if any.
fn source_tree(tmp: &Path, extra: Option<(String, Vec<u8>)>) -> (PathBuf, Tree) {
    let src = tmp.join("src");
    let mut tree = corpus();
    if let Some((name, data)) = extra {
        tree.insert(name, Some(data));
    }
    write_tree(&src, &tree);
    (src, tree)
}

/// Runs `tool … ARCHIVE` in the fresh directory `dir` and reads back what it extracted.
fn extracted_by(mut tool: Command, archive: &Path, dir: &Path, sjis_names: bool) -> Tree {
    fs::create_dir(dir).expect("mkdir");
    run(tool.arg(archive).current_dir(dir));
    read_tree(dir, sjis_names)
}

fn lhasa(command: &str) -> Command {
    let mut cmd = Command::new("lhasa");
    cmd.arg(command);
    cmd
}

/// `kx lzh create [OPTIONS] ARCHIVE -C DIR PATH`
fn kx_create(archive: &Path, options: &[&str], dir: &Path, path: &str) {
    run(kx()
        .args(["lzh", "create"])
        .args(options)
        .arg(archive)
        .arg("-C")
        .arg(dir)
        .arg(path));
}

fn kx_list(archive: &Path) -> String {
    String::from_utf8_lossy(&run(kx().args(["lzh", "list"]).arg(archive)).stdout).into_owned()
}

#[test]
fn lhasa_and_jlha_read_what_kx_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Its level-2 header is 256 bytes: padded, since a size byte of 0 would end the archive.
    let long_name = (format!("{}.csv", "n".repeat(218)), b"long name".to_vec());
    let (src, expected) = source_tree(tmp.path(), Some(long_name));
    let archive = tmp.path().join("out.lzh");
    kx_create(&archive, &[], &src, ".");

    let listing = kx_list(&archive);
    assert!(
        ["-lh5-", "-lh0-", "-lhd-", "1234567890/請求データ.CSV"]
            .iter()
            .all(|s| listing.contains(s)),
        "{listing}"
    );

    let tested = run(lhasa("t").arg(&archive));
    let report = String::from_utf8_lossy(&tested.stdout).to_lowercase()
        + &String::from_utf8_lossy(&tested.stderr);
    assert!(
        !report.contains("error") && !report.contains("crc"),
        "lhasa t: {report}"
    );
    assert_eq!(
        report.matches("- tested").count(),
        9,
        "lhasa t tests every file: {report}"
    );

    let by_lhasa = extracted_by(lhasa("x"), &archive, &tmp.path().join("lhasa"), true);
    assert_same_tree(&by_lhasa, &expected, "lhasa");
    let by_jlha = extracted_by(jlha("xy"), &archive, &tmp.path().join("jlha"), false);
    assert_same_tree(&by_jlha, &expected, "jlha");
}

#[test]
fn kx_reads_what_jlha_writes_at_every_level_and_method() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, expected) = source_tree(tmp.path(), None);
    let top: Vec<String> = expected
        .keys()
        .filter(|name| !name.contains('/'))
        .cloned()
        .collect();
    for (options, method) in [
        ("cy", "-lh5-"),
        ("cyo6", "-lh6-"),
        ("cyo7", "-lh7-"),
        ("cyz", "-lh0-"),
        ("cy0", "-lh5-"),
        ("cy1", "-lh5-"),
    ] {
        let archive = tmp.path().join(format!("{options}.lzh"));
        run(jlha(options).arg(&archive).args(&top).current_dir(&src));
        assert!(
            kx_list(&archive).contains(method),
            "jlha {options} wrote no {method}"
        );
        let out = tmp.path().join(format!("out-{options}"));
        run(kx()
            .args(["lzh", "extract"])
            .arg(&archive)
            .arg("-d")
            .arg(&out));
        assert_same_tree(
            &read_tree(&out, false),
            &expected,
            &format!("kx after jlha {options}"),
        );
    }
}

#[test]
fn stored_archives_are_read_by_lhasa() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, expected) = source_tree(tmp.path(), None);
    let archive = tmp.path().join("stored.lzh");
    kx_create(&archive, &["--method", "lh0"], &src, "1234567890");
    let listing = kx_list(&archive);
    assert!(
        !listing.contains("-lh5-") && listing.contains("-lh0-"),
        "{listing}"
    );
    let subset: Tree = expected
        .into_iter()
        .filter(|(name, _)| name.starts_with("1234567890"))
        .collect();
    assert_same_tree(
        &extracted_by(lhasa("x"), &archive, &tmp.path().join("lhasa"), true),
        &subset,
        "lhasa",
    );
}

#[test]
fn failures_exit_non_zero_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("missing.lzh");
    let out = kx()
        .args(["lzh", "list"])
        .arg(&missing)
        .output()
        .expect("run kx");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.lzh"));

    let bad = tmp.path().join("bad.lzh");
    fs::write(&bad, b"this is not an archive at all").expect("write");
    let out = kx()
        .args(["lzh", "extract"])
        .arg(&bad)
        .arg("-d")
        .arg(tmp.path().join("x"))
        .output()
        .expect("run kx");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("entry #1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = kx()
        .args(["lzh", "create"])
        .arg(tmp.path().join("o.lzh"))
        .arg(&missing)
        .output()
        .expect("run kx");
    assert!(!out.status.success());
    assert!(
        !tmp.path().join("o.lzh").exists(),
        "no archive is left after a failed create"
    );
}
