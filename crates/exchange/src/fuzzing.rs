//! The upload fuzz target's property (`fuzz/fuzz_targets/upload.rs`), here so that
//! `cargo test` replays the committed seeds through it.

use kx_crypto::{ENVELOPE_START_LIMIT, EnvelopeStart, check_envelope_start};

use crate::upload::{BadUpload, Sealed, UploadCheck};

/// One upload from arbitrary bytes: the first byte sets the frame size (1 to 256), the second
/// the name's length in bytes, then the name (as lossy UTF-8) and the body. The verdict must
/// not depend on how the body is framed, and must be what the envelope check says of the
/// body's first bytes.
pub fn upload(data: &[u8]) {
    let [frame, name_len, rest @ ..] = data else {
        return;
    };
    let (name, body) = rest.split_at(usize::from(*name_len).min(rest.len()));
    let name = String::from_utf8_lossy(name);
    let whole = judge(&name, body, body.len());
    let framed = judge(&name, body, usize::from(*frame) + 1);
    assert_eq!(whole, framed, "the verdict depends on the framing");
    let Ok(_) = UploadCheck::new(&name, None) else {
        return;
    };
    let start = check_envelope_start(&body[..body.len().min(ENVELOPE_START_LIMIT)]);
    match whole {
        Ok(Sealed::Enveloped) => assert_eq!(start.ok(), Some(EnvelopeStart::Enveloped)),
        Ok(Sealed::AuthEnveloped) => assert_eq!(start.ok(), Some(EnvelopeStart::AuthEnveloped)),
        Err(BadUpload::NotSealed) => assert!(matches!(start, Err(_) | Ok(EnvelopeStart::NeedMore))),
        Err(BadUpload::Empty) => assert!(body.is_empty()),
        Err(refusal) => panic!("{refusal:?} for {} bytes", body.len()),
    }
}

/// The verdict on an upload of `body` named `name`, fed in frames of `frame` bytes.
pub(crate) fn judge(name: &str, body: &[u8], frame: usize) -> Result<Sealed, BadUpload> {
    let mut check = UploadCheck::new(name, None)?;
    for part in body.chunks(frame.max(1)) {
        check.feed(part)?;
    }
    check.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_seeds_keep_the_property() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        let mut sealed = 0;
        for entry in std::fs::read_dir(&dir).expect("the upload seeds") {
            let path = entry.expect("a seed").path();
            let data = std::fs::read(&path).expect("a seed's bytes");
            println!("{}", path.display());
            super::upload(&data);
            let name_len = usize::from(data[1]);
            let name = String::from_utf8_lossy(&data[2..2 + name_len]);
            sealed += usize::from(super::judge(&name, &data[2 + name_len..], 4096).is_ok());
        }
        assert!(
            sealed >= 4,
            "only {sealed} seeds in {} are sealed files",
            dir.display()
        );
    }
}
