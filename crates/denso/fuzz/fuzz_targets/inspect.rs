//! `inspect` on arbitrary bytes, with and without context: it must report, never panic.
#![no_main]

use kx_denso::{AccountId, Context, UpstreamDefinition, inspect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inspect(data, &Context::default());
    let account: AccountId = "K00000000130".parse().expect("a valid account");
    let upstream = [UpstreamDefinition {
        name: "SampleMail".into(),
        to: "info_hanyo@denso.test.kokuho".into(),
        max_files: Some(2),
        max_bytes: Some(1000),
        extensions: Some(vec!["doc".into()]),
    }];
    let context = Context {
        account: Some(&account),
        domain: Some("denso.test.kokuho"),
        transmit_address: Some("transmit@denso.test.kokuho"),
        upstream: Some(&upstream),
        used: None,
    };
    let _ = inspect(data, &context);
});
