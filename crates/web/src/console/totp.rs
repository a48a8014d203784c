//! The console's second factor: RFC 6238 time-based one-time passwords (SHA-1, 6 digits,
//! 30-second steps, the parameters every authenticator app reads from an `otpauth://` URL),
//! and the enrolment's QR code as inline SVG (no image request, no third party).

use std::time::{SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per step.
const STEP: u64 = 30;
/// Digits per code.
const DIGITS: usize = 6;
/// Bytes of a new secret: 160 bits, RFC 4226's recommendation for HMAC-SHA-1.
pub(crate) const SECRET_BYTES: usize = 20;
/// The issuer shown in authenticator apps.
const ISSUER: &str = "KX";

/// A new random secret.
pub(crate) fn new_secret() -> Result<Vec<u8>, getrandom::Error> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)?;
    Ok(secret)
}

/// The secret in base32, as apps take it when typed.
pub(crate) fn base32(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => String::new(),
    }
}

/// The `otpauth://` URL an app reads from the QR code.
pub(crate) fn otpauth_url(secret: &[u8], operator: &str) -> String {
    let label: String =
        form_urlencoded::byte_serialize(format!("{ISSUER}:{operator}").as_bytes()).collect();
    format!(
        "otpauth://totp/{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        base32(secret)
    )
}

/// The QR code of `text` as an SVG element (dark modules on white, with the quiet zone).
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

/// The step `code` is valid for with `secret` at `now` (Unix seconds): the current step or
/// one either side, for clocks a little apart. `None` when it matches none.
pub(crate) fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP, secret.to_vec());
    let current = now / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| {
            let expected = totp.generate(step * STEP);
            bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
        })
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the secret is the ASCII "12345678901234567890" and the
    /// 8-digit codes end in these 6 digits.
    #[test]
    fn codes_match_the_rfc_vectors_within_one_step() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(matching_step(secret, code, time), Some(time / STEP));
            assert_eq!(matching_step(secret, code, time + STEP), Some(time / STEP));
            assert_eq!(matching_step(secret, code, time + 3 * STEP), None);
        }
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "28708x", 59), None);
    }

    #[test]
    fn the_enrolment_url_and_qr_code_carry_the_secret() {
        let url = otpauth_url(b"12345678901234567890", "ops.tanaka");
        assert_eq!(
            url,
            "otpauth://totp/KX%3Aops.tanaka?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=KX&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&url).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    }
}
