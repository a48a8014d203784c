//! The screens' frame: language (Japanese first, English by a toggle), the header, the
//! manual's dialogs (errors with their code, message and 対応方法; confirmations), tables of
//! results. Pages are rendered on the server (maud); the only script is our own
//! `assets/app.js` (progress bars and the file list's running total).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Local, Utc};
use kx_client::exchange::Failure;
use kx_client::kx_exchange::Code;
use maud::{DOCTYPE, Markup, html};

use crate::guard;
use crate::words::{self, Tr};

/// The language cookie.
const LANG_COOKIE: &str = "kx_lang";

/// The language of the screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// 日本語 (the default).
    Ja,
    /// English.
    En,
}

impl Lang {
    /// The `lang` attribute and cookie value.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The other language, the toggle's target.
    fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// The language named by `tag`, Japanese for anything else.
    pub(crate) fn from_tag(tag: &str) -> Lang {
        if tag == "en" { Lang::En } else { Lang::Ja }
    }

    /// The `Set-Cookie` value choosing this language.
    pub(crate) fn set_cookie(self) -> String {
        format!("{LANG_COOKIE}={}; Path=/; SameSite=Strict", self.tag())
    }
}

/// One request to a screen: its language and path (where the language toggle comes back to).
pub(crate) struct Visit {
    /// The language.
    pub(crate) lang: Lang,
    /// The path asked for.
    pub(crate) path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Visit, Self::Rejection> {
        let lang = guard::cookie(&parts.headers, LANG_COOKIE).map_or(Lang::Ja, Lang::from_tag);
        Ok(Visit {
            lang,
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }
}

impl Visit {
    /// A text in the visit's language.
    pub(crate) fn t(&self, text: Tr) -> &'static str {
        text.get(self.lang)
    }

    /// A whole screen: header (app name, who is logged in, the language toggle, the way back
    /// to the function list) and `body`.
    pub(crate) fn page(&self, title: Tr, header: &Header, body: Markup) -> Response {
        let lang = self.lang;
        let markup = html! {
            (DOCTYPE)
            html lang=(lang.tag()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title.get(lang)) " — " (header.app.get(lang)) }
                    link rel="stylesheet" href="/assets/app.css";
                    script src="/assets/app.js" defer {}
                }
                body data-locks-after=[header.locks_after.map(|d| d.as_secs())] {
                    header.bar {
                        span.app { (header.app.get(lang)) }
                        @if let Some(who) = &header.who { span.who { (who) } }
                        nav aria-label=(words::NAVIGATION.get(lang)) {
                            @if header.menu {
                                a href="/menu" { (words::MENU.get(lang)) }
                            }
                            a href={ "/lang?to=" (lang.other().tag()) "&back=" (encode(&self.path)) }
                                lang=(lang.other().tag()) { (words::OTHER_LANGUAGE.get(lang)) }
                            @if header.logout {
                                form method="post" action="/logout" class="inline" {
                                    button type="submit" { (words::LOGOUT.get(lang)) }
                                }
                            }
                        }
                    }
                    main {
                        h1 { (title.get(lang)) }
                        (body)
                    }
                }
            }
        };
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            markup.into_string(),
        )
            .into_response()
    }
}

/// What the header shows.
pub(crate) struct Header {
    /// The app's name: office app or society desk.
    pub(crate) app: Tr,
    /// Who is logged in (number and name), once known.
    pub(crate) who: Option<String>,
    /// Whether to offer the function list (only in an open session, once started).
    pub(crate) menu: bool,
    /// Whether to offer logout: in any open session, also before 起動確認's はい and on the
    /// password change a temporary password forces.
    pub(crate) logout: bool,
    /// In an open session, the time without use after which the app locks itself: the screen
    /// then goes back to the PIN screen by itself rather than keep showing what it shows.
    pub(crate) locks_after: Option<std::time::Duration>,
}

/// Percent-encodes a path for a query value.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A failure as the user sees it: the code, the manual's message in both languages, what to
/// do (対応方法) and what happened.
#[derive(Clone, Debug)]
pub(crate) struct Shown {
    /// The code.
    pub(crate) code: Code,
    /// The manual's message, filled.
    pub(crate) message: String,
    /// The same in English, filled.
    pub(crate) english: String,
    /// What happened (the server's English, a cause), never a secret.
    pub(crate) detail: Option<String>,
    /// What to do next, when the library knows more than the code.
    pub(crate) hint: Option<&'static str>,
}

impl From<Failure> for Shown {
    fn from(failure: Failure) -> Shown {
        Shown {
            code: failure.code,
            message: failure.message,
            english: failure.english,
            detail: failure.detail,
            hint: failure.hint,
        }
    }
}

impl From<kx_client::Error> for Shown {
    fn from(err: kx_client::Error) -> Shown {
        match err.into_failure() {
            Ok(failure) => {
                if failure.code == Code::E9999 {
                    tracing::error!(detail = ?failure.detail, "unexpected failure");
                }
                failure.into()
            }
            Err(other) => Shown {
                code: Code::E9999,
                message: Code::E9999.japanese().to_owned(),
                english: Code::E9999.english().to_owned(),
                detail: Some(other.to_string()),
                hint: None,
            },
        }
    }
}

/// The error dialog (the manual's エラーメッセージ): code, message, English beside it, the
/// 対応方法, and what happened. A result table holds one per file that failed: each has ids
/// of its own for its name and description.
pub(crate) fn failure(lang: Lang, shown: &Shown) -> Markup {
    static DIALOGS: AtomicU64 = AtomicU64::new(1);
    let n = DIALOGS.fetch_add(1, Ordering::Relaxed);
    let (title, message) = (format!("failure-{n}-title"), format!("failure-{n}-message"));
    html! {
        section.dialog.error role="alertdialog" aria-labelledby=(title) aria-describedby=(message) {
            h2 id=(title) { (words::ERROR.get(lang)) " " (shown.code.code()) }
            p id=(message) lang="ja" { (shown.message) }
            p lang="en" { (shown.english) }
            h3 { (words::REMEDY.get(lang)) }
            p lang="ja" { (shown.code.remedy()) }
            p lang="en" { (shown.code.remedy_english()) }
            @if let Some(detail) = &shown.detail { p.detail { (detail) } }
            @if let Some(hint) = shown.hint { p.detail { (hint) } }
        }
    }
}

/// A confirmation dialog (the manual's 「はい」/「いいえ」): `question`, then a form posting
/// `fields` to `action` with yes, or back to `back` with no.
pub(crate) fn confirm(
    lang: Lang,
    question: Markup,
    action: &str,
    fields: &[(&str, String)],
    back: &str,
) -> Markup {
    html! {
        section.dialog role="dialog" aria-labelledby="confirm-title" {
            h2 #confirm-title { (words::CONFIRM.get(lang)) }
            (question)
            form method="post" action=(action) {
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                input type="hidden" name="confirmed" value="yes";
                button type="submit" autofocus { (words::YES.get(lang)) }
                a.button href=(back) { (words::NO.get(lang)) }
            }
        }
    }
}

/// A notice of success.
pub(crate) fn done(message: &str) -> Markup {
    html! { p.done role="status" { (message) } }
}

/// A local date and time as the screens show it.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y/%m/%d %H:%M")
        .to_string()
}

/// A size in bytes for people.
pub(crate) fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// A refusal page: for a request that is not from the launched browser.
pub(crate) fn refused(status: StatusCode, why: Tr) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="ja" {
            head { meta charset="utf-8"; title { "KX" } }
            body {
                h1 lang="ja" { (why.ja) }
                p lang="en" { (why.en) }
            }
        }
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A table's column headings.
pub(crate) fn columns(lang: Lang, headings: &[Tr]) -> Markup {
    html! {
        thead { tr { @for h in headings { th scope="col" { (h.get(lang)) } } } }
    }
}
