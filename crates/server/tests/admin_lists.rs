//! Every `kxd admin … list`: an aligned table for a person (checked with Python's
//! `unicodedata`, which counts a Japanese character as two columns) and `--json` for scripts,
//! with the values the installation holds.

use kx_testkit::{Installation, Python};
use serde_json::{Value, json};

const DOMAIN: &str = "denso.test.kokuho";
const SOCIETY: &str = "06139999";

/// An installation with one of everything the lists show.
fn installation() -> Installation {
    let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN).create();
    installation.admin([
        "org",
        "add",
        "--kind",
        "office",
        "--number",
        "1312345678",
        "--name",
        "東京事業所",
        "--network",
        "127.0.0.0/8",
    ]);
    installation.add_account("J13123456781", "pw-J13123456781-secret");
    installation.admin(["account", "add", "--id", "J13123456782"]);
    installation.admin(["account", "lock", "--id", "J13123456782"]);
    installation.admin(["org", "add", "--kind", "prefecture", "--number", "13"]);
    installation.define_upstream("SampleMail", &format!("info@{DOMAIN}"), 2);
    installation.add_society(SOCIETY, "テスト健康保険組合", "soc-admin");
    installation.add_destination(SOCIETY, "給付課");
    installation.add_office(SOCIETY, "0001", "大阪支店", Some(1_000_000));
    installation.add_office_user("office1", SOCIETY, "0001");
    installation
}

fn json_of(installation: &Installation, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = installation.admin(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

/// Asserts that every line of `table` starts each column at the display column where its
/// header starts, as a terminal shows it.
fn assert_aligned(table: &str, columns: usize) {
    let out = Python::new(
        "import json, re, sys, unicodedata\n\
         def width(text):\n    \
             return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in text)\n\
         def starts(line):\n    \
             cells = re.split(r'(  +)', line)\n    \
             at, out = 0, []\n    \
             for i, part in enumerate(cells):\n        \
                 if i % 2 == 0:\n            \
                     out.append(at)\n        \
                 at += width(part)\n    \
             return out\n\
         lines = sys.stdin.read().splitlines()\n\
         print(json.dumps([starts(line) for line in lines]))",
    )
    .stdin(table.as_bytes().to_vec())
    .run();
    let starts: Vec<Vec<usize>> = serde_json::from_str(&out).expect("JSON");
    assert_eq!(starts[0].len(), columns, "{table}");
    for line in &starts[1..] {
        assert_eq!(line, &starts[0][..line.len()], "{table}");
    }
}

#[test]
fn every_list_prints_an_aligned_table_and_json_of_what_is_there() {
    let installation = installation();

    let orgs = json_of(&installation, &["org", "list"]);
    assert_eq!(
        orgs,
        json!([
            {"code": "0000000013", "kind": "prefecture", "number": "13", "name": "", "networks": []},
            {"code": "1312345678", "kind": "office", "number": "1312345678",
             "name": "東京事業所", "networks": ["127.0.0.0/8"]}
        ])
    );
    let accounts = json_of(&installation, &["account", "list"]);
    let rows: Vec<(&str, &str, bool)> = accounts
        .as_array()
        .expect("an array")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id"),
                a["password"].as_str().expect("password"),
                a["locked"].as_bool().expect("locked"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("J13123456781", "set", false),
            ("J13123456782", "temporary", true)
        ]
    );
    assert_eq!(
        json_of(&installation, &["upstream", "list"]),
        json!([{"name": "SampleMail", "to": format!("info@{DOMAIN}"), "max_files": 2,
                "max_bytes": null, "extensions": null}])
    );
    assert_eq!(
        json_of(&installation, &["society", "list"]),
        json!([{"number": SOCIETY, "name": "テスト健康保険組合", "quota_bytes": 2_147_483_648u64,
                "used_bytes": 0, "set_up": false}])
    );
    assert_eq!(
        json_of(
            &installation,
            &["destination", "list", "--society", SOCIETY]
        ),
        json!([{"nickname": "給付課"}])
    );
    assert_eq!(
        json_of(&installation, &["office", "list", "--society", SOCIETY]),
        json!([{"number": "0001", "name": "大阪支店", "quota_bytes": 1_000_000,
                "used_bytes": 0, "current_certificates": 0}])
    );
    let users = json_of(&installation, &["user", "list", "--society", SOCIETY]);
    assert_eq!(
        users,
        json!([
            {"id": "soc-admin", "party": "society", "number": SOCIETY, "mail": false,
             "password": "temporary", "locked": false, "locked_until": null},
            {"id": "office1", "party": "office", "number": "0001", "mail": false,
             "password": "temporary", "locked": false, "locked_until": null}
        ])
    );

    let table = installation.admin(["org", "list"]);
    assert_eq!(
        table.lines().next(),
        Some("CODE        KIND        NUMBER      NAME        NETWORKS"),
        "a header line first:\n{table}"
    );
    assert_aligned(&table, 5);
    assert_aligned(
        &installation.admin(["office", "list", "--society", SOCIETY]),
        5,
    );
    assert_aligned(&installation.admin(["user", "list"]), 7);
    assert!(
        !installation
            .admin(["account", "list"])
            .contains("AccountId"),
        "no debug structs"
    );
}

#[test]
fn an_empty_list_says_so_and_its_json_is_empty() {
    let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN).create();
    assert_eq!(
        installation.admin(["upstream", "list"]),
        "NAME  TO  MAX FILES  MAX BYTES  EXTENSIONS\n(なし / none)\n"
    );
    assert_eq!(json_of(&installation, &["account", "list"]), json!([]));
}
