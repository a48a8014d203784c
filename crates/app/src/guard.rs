//! Who may talk to the app: only the browser the user launched it in, only on this machine.
//!
//! - The launch URL carries a one-time token; exchanged once, it becomes a random
//!   `HttpOnly`, `SameSite=Strict` cookie and the browser is sent on to a URL without it.
//! - Every other request needs that cookie: another local user or program gets 403.
//! - `Host` must be ours (`127.0.0.1:PORT` or `localhost:PORT`): a page of another site that
//!   rebinds its name to 127.0.0.1 (DNS rebinding) is refused.
//! - A request that changes anything must come from our own origin (`Origin`, and
//!   `Sec-Fetch-Site` when sent): a form on another site cannot post here (CSRF).
//! - Every answer is `no-store`, framed by nobody, under a CSP that allows our own assets only.
//!
//! Only hashes of the tokens and cookies are kept, compared in constant time.

use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie of a launched browser.
pub(crate) const COOKIE: &str = "kx_app";

/// The header with which a second `kx app` asks the running one for a launch token.
pub(crate) const CONTROL_HEADER: &str = "x-kx-control";

/// The answers' security headers.
pub(crate) const HEADERS: [(header::HeaderName, &str); 6] = [
    (header::CACHE_CONTROL, "no-store"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    // Not `no-referrer`: under it a browser posts forms with `Origin: null`.
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `Host` is not ours.
    ForeignHost,
    /// A change from another origin, or without one.
    ForeignOrigin,
    /// No valid cookie: not the launched browser.
    NotLaunched,
    /// A launch token used already, or never issued.
    StaleLaunch,
}

/// The tokens and cookies of one running app.
pub(crate) struct Guard {
    port: u16,
    control: [u8; 32],
    launches: Mutex<Vec<[u8; 32]>>,
    cookies: Mutex<Vec<[u8; 32]>>,
}

/// A fresh random token, as 64 hex digits.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // Without the OS's randomness nothing here is safe: better not to start.
    getrandom::fill(&mut bytes).expect("the operating system's random numbers");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn holds(set: &[[u8; 32]], token: &str) -> bool {
    let wanted = digest(token);
    set.iter()
        .fold(false, |found, held| found | bool::from(held.ct_eq(&wanted)))
}

impl Guard {
    /// The guard of an app listening on `port`; `control` is the secret a second instance
    /// reads from the profile to ask for a launch token.
    pub(crate) fn new(port: u16, control: &str) -> Guard {
        Guard {
            port,
            control: digest(control),
            launches: Mutex::new(Vec::new()),
            cookies: Mutex::new(Vec::new()),
        }
    }

    /// A new one-time launch token.
    pub(crate) fn launch_token(&self) -> String {
        let token = random_token();
        lock(&self.launches).push(digest(&token));
        token
    }

    /// The launch URL carrying a new token.
    pub(crate) fn launch_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/launch/{}",
            self.port,
            self.launch_token()
        )
    }

    /// Exchanges a launch token (once) for a new cookie value.
    pub(crate) fn exchange(&self, token: &str) -> Result<String, Refusal> {
        let wanted = digest(token);
        let mut launches = lock(&self.launches);
        let before = launches.len();
        launches.retain(|held| !bool::from(held.ct_eq(&wanted)));
        if launches.len() == before {
            return Err(Refusal::StaleLaunch);
        }
        drop(launches);
        let cookie = random_token();
        lock(&self.cookies).push(digest(&cookie));
        Ok(cookie)
    }

    /// Whether `secret` is the control secret of this instance.
    pub(crate) fn is_control(&self, secret: &str) -> bool {
        bool::from(digest(secret).ct_eq(&self.control))
    }

    /// The `Set-Cookie` value for a launched browser.
    pub(crate) fn set_cookie(cookie: &str) -> String {
        format!("{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict")
    }

    /// Checks `Host`, the cookie and, for a change, the origin.
    pub(crate) fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
        self.check_host(headers)?;
        if !cookie(headers, COOKIE).is_some_and(|c| holds(&lock(&self.cookies), c)) {
            return Err(Refusal::NotLaunched);
        }
        if !matches!(*method, Method::GET | Method::HEAD) {
            self.check_origin(headers)?;
        }
        Ok(())
    }

    /// `Host` must name us: 127.0.0.1 or localhost with our port.
    pub(crate) fn check_host(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let ours = host.is_some_and(|host| {
            host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
        });
        if ours {
            Ok(())
        } else {
            Err(Refusal::ForeignHost)
        }
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
        let ours = origin.is_some_and(|origin| {
            origin == format!("http://127.0.0.1:{}", self.port)
                || origin == format!("http://localhost:{}", self.port)
        });
        let site = headers
            .get("sec-fetch-site")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("same-origin");
        if ours && matches!(site, "same-origin" | "none") {
            Ok(())
        } else {
            Err(Refusal::ForeignOrigin)
        }
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Adds the security headers to an answer.
pub(crate) fn secure(headers: &mut HeaderMap) {
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_static(name),
                HeaderValue::from_str(value).expect("header"),
            );
        }
        map
    }

    #[test]
    fn a_launch_token_is_good_once() {
        let guard = Guard::new(4000, "control");
        let token = guard.launch_token();
        let cookie = guard.exchange(&token).expect("first use");
        assert_eq!(guard.exchange(&token), Err(Refusal::StaleLaunch));
        assert_eq!(guard.exchange("made-up"), Err(Refusal::StaleLaunch));
        let ok = headers(&[
            ("host", "127.0.0.1:4000"),
            ("cookie", &format!("lang=en; {COOKIE}={cookie}")),
        ]);
        assert_eq!(guard.check(&Method::GET, &ok), Ok(()));
    }

    #[test]
    fn foreign_hosts_origins_and_strangers_are_refused() {
        let guard = Guard::new(4000, "control");
        let cookie = guard.exchange(&guard.launch_token()).expect("launch");
        let with = |extra: &[(&'static str, &str)]| {
            let c = format!("{COOKIE}={cookie}");
            let mut pairs = vec![("cookie", c.as_str())];
            pairs.extend_from_slice(extra);
            guard.check(&Method::POST, &headers(&pairs))
        };
        assert_eq!(
            with(&[
                ("host", "evil.example:4000"),
                ("origin", "http://127.0.0.1:4000")
            ]),
            Err(Refusal::ForeignHost)
        );
        assert_eq!(
            with(&[
                ("host", "127.0.0.1:4000"),
                ("origin", "http://evil.example")
            ]),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            with(&[("host", "127.0.0.1:4000")]),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            with(&[
                ("host", "localhost:4000"),
                ("origin", "http://localhost:4000"),
                ("sec-fetch-site", "cross-site")
            ]),
            Err(Refusal::ForeignOrigin)
        );
        assert_eq!(
            with(&[
                ("host", "localhost:4000"),
                ("origin", "http://localhost:4000")
            ]),
            Ok(())
        );
        let stranger = headers(&[("host", "127.0.0.1:4000"), ("cookie", "kx_app=guess")]);
        assert_eq!(
            guard.check(&Method::GET, &stranger),
            Err(Refusal::NotLaunched)
        );
        assert!(guard.is_control("control") && !guard.is_control("other"));
    }
}
