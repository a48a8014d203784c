//! How every console page looks: the language, the frame (title, navigation by role, the
//! language toggle, logout) and the small pieces pages are made of.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use kx_store::{ConsoleSession, OperatorRole};

/// The cookie that remembers the language.
const LANG_COOKIE: &str = "kx_lang";

/// The page's language: Japanese first, English by the toggle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Ja,
    En,
}

impl Lang {
    /// The language a request asked for with the toggle's cookie.
    pub(crate) fn of(headers: &HeaderMap) -> Lang {
        let english =
            super::cookies(headers).any(|(name, value)| name == LANG_COOKIE && value == "en");
        if english { Lang::En } else { Lang::Ja }
    }

    /// The text in this language.
    pub(crate) fn t(self, text: Text) -> &'static str {
        match self {
            Lang::Ja => text.0,
            Lang::En => text.1,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The `Set-Cookie` value that switches to `self`.
    pub(crate) fn cookie(self) -> String {
        format!(
            "{LANG_COOKIE}={}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=31536000",
            self.code()
        )
    }
}

/// A label in Japanese and English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) &'static str, pub(crate) &'static str);

/// The navigation of each role: (path, label).
const FEDERATION_NAV: &[(&str, Text)] = &[
    ("/", Text("ダッシュボード", "Dashboard")),
    ("/orgs", Text("組織", "Organisations")),
    ("/accounts", Text("ID", "Accounts")),
    ("/pipeline", Text("受付状況", "Pipeline")),
    ("/mailboxes", Text("メールボックス", "Mailboxes")),
    ("/results", Text("交換情報", "Results")),
    ("/contacts", Text("下り連絡", "Contacts")),
    ("/service", Text("サービス情報", "Service data")),
    ("/societies", Text("健康保険組合", "Societies")),
    ("/system", Text("システム", "System")),
    ("/audit", Text("監査ログ", "Audit log")),
];
const SOCIETY_NAV: &[(&str, Text)] = &[
    ("/", Text("概要", "Overview")),
    ("/offices", Text("事業所", "Offices")),
    ("/users", Text("利用者", "Users")),
    ("/destinations", Text("送信先", "Destinations")),
    ("/files", Text("ファイル", "Files")),
    ("/certificates", Text("証明書", "Certificates")),
];

const STYLE: &str = "
body { font-family: sans-serif; margin: 0; color: #222; }
header { background: #1d3d5c; color: #fff; padding: .5em 1em; display: flex; gap: 1em; align-items: center; flex-wrap: wrap; }
header a { color: #fff; }
header button { color: #fff; background: transparent; border: 1px solid #fff; border-radius: 3px; cursor: pointer; }
header .who { margin-left: auto; }
nav ul { list-style: none; display: flex; gap: .2em 1em; margin: 0; padding: 0; flex-wrap: wrap; }
nav a[aria-current=page] { font-weight: bold; text-decoration: none; }
main { padding: 1em 1.5em; max-width: 72em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
form.inline { display: inline; }
fieldset { margin: 1em 0; border: 1px solid #bbb; }
label { display: block; margin: .4em 0; }
input, select, button, textarea { font: inherit; padding: .2em .4em; }
label > input, label > select, label > textarea { margin-left: .5em; }
label > textarea { display: block; margin: .3em 0 0; }
.error { color: #a00; border: 1px solid #a00; padding: .5em; }
.ok { color: #060; border: 1px solid #060; padding: .5em; }
.secret { font-family: monospace; font-size: 1.2em; background: #ffd; padding: .2em .5em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
.figure { border: 1px solid #bbb; padding: .5em 1em; min-width: 12em; }
.figure .v { font-size: 1.6em; font-weight: bold; }
";

/// What the frame needs to know about the visit.
pub(crate) struct Frame<'a> {
    pub(crate) lang: Lang,
    pub(crate) path: &'a str,
    pub(crate) session: Option<&'a ConsoleSession>,
}

impl Frame<'_> {
    /// A whole page: `title` in the bar and as the heading, `body` below.
    pub(crate) fn page(&self, title: Text, notice: Option<&Notice>, body: Markup) -> Markup {
        let lang = self.lang;
        let signed_in = self
            .session
            .filter(|s| s.stage == kx_store::ConsoleStage::In);
        let nav = match signed_in.map(|s| s.operator.role) {
            Some(OperatorRole::Federation) => FEDERATION_NAV,
            Some(OperatorRole::Society(_)) => SOCIETY_NAV,
            None => &[],
        };
        let other = match lang {
            Lang::Ja => (Lang::En, "English"),
            Lang::En => (Lang::Ja, "日本語"),
        };
        html! {
            (DOCTYPE)
            html lang=(lang.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (lang.t(title)) " — KX " (lang.t(Text("管理コンソール", "console"))) }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        strong { "KX " (lang.t(Text("管理コンソール", "console"))) }
                        @if !nav.is_empty() {
                            nav aria-label=(lang.t(Text("メニュー", "Menu"))) {
                                ul {
                                    @for (href, label) in nav {
                                        li {
                                            @if *href == self.path {
                                                a href=(href) aria-current="page" { (lang.t(*label)) }
                                            } @else {
                                                a href=(href) { (lang.t(*label)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        span.who {
                            a href={ "/lang?to=" (other.0.code()) } lang=(other.0.code()) { (other.1) }
                            @if let Some(session) = self.session {
                                " · " (session.operator.id) " "
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    button type="submit" { (lang.t(Text("ログアウト", "Log out"))) }
                                }
                            }
                        }
                    }
                    main {
                        h1 { (lang.t(title)) }
                        @if let Some(notice) = notice { (notice.render()) }
                        (body)
                    }
                }
            }
        }
    }

    /// A whole page as the answer, with `status`.
    pub(crate) fn respond(
        &self,
        status: StatusCode,
        title: Text,
        notice: Option<&Notice>,
        body: Markup,
    ) -> Response {
        html_response(status, self.page(title, notice, body))
    }

    /// A form that adds or sets something: `fields` in a fieldset headed `legend`, with the
    /// session's CSRF token and a `submit` button, posted to `action`.
    pub(crate) fn add_form(
        &self,
        action: &str,
        legend: Text,
        submit: Text,
        fields: Markup,
    ) -> Markup {
        let lang = self.lang;
        html! {
            form method="post" action=(action) {
                fieldset {
                    legend { (lang.t(legend)) }
                    (self.csrf())
                    (fields)
                    button type="submit" { (lang.t(submit)) }
                }
            }
        }
    }

    /// The hidden CSRF field every form of a session carries.
    pub(crate) fn csrf(&self) -> Markup {
        html! {
            @if let Some(session) = self.session {
                input type="hidden" name="csrf" value=(session.csrf);
            }
        }
    }
}

/// What a notice says after something was added.
pub(crate) const ADDED: Text = Text("追加しました：", "Added:");

/// A message above a page's content.
pub(crate) enum Notice {
    /// Something was done.
    Done(String),
    /// Something was refused or failed.
    Error(String),
}

impl Notice {
    /// A fixed message in the page's language.
    pub(crate) fn error(lang: Lang, text: Text) -> Notice {
        Notice::Error(lang.t(text).to_owned())
    }

    /// `what` was done to `name`.
    pub(crate) fn done_to(lang: Lang, what: Text, name: &str) -> Notice {
        Notice::Done(format!("{} {name}", lang.t(what)))
    }

    /// `name` exists already.
    pub(crate) fn exists(lang: Lang, name: &str) -> Notice {
        Notice::Error(format!(
            "{} {name}",
            lang.t(Text("既にあります：", "Already exists:"))
        ))
    }

    /// A field's value was refused, for `problem`.
    pub(crate) fn invalid(lang: Lang, problem: &str) -> Notice {
        Notice::Error(format!(
            "{}: {problem}",
            lang.t(Text("入力が正しくありません", "Invalid input"))
        ))
    }

    fn render(&self) -> Markup {
        match self {
            Notice::Done(text) => html! { p.ok role="status" { (text) } },
            Notice::Error(text) => html! { p.error role="alert" { (text) } },
        }
    }
}

/// An HTML answer.
pub(crate) fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// Adds a `Set-Cookie` to an answer.
pub(crate) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A time as operators read it: local time, to the second.
pub(crate) fn time(at: kx_store::Timestamp) -> String {
    at.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A size in bytes, KB, MB or GB (decimal, as quotas are given).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")];
    for (unit, name) in UNITS {
        if n >= unit {
            #[allow(clippy::cast_precision_loss)]
            let value = n as f64 / unit as f64;
            return format!("{value:.1} {name}");
        }
    }
    format!("{n} B")
}

/// A form that changes a quota, given in MB.
#[derive(serde::Deserialize)]
pub(crate) struct QuotaForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    megabytes: String,
}

impl QuotaForm {
    /// The quota in bytes: a whole number of MB, at least 1.
    pub(crate) fn bytes(&self) -> Option<u64> {
        self.megabytes
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|mb| *mb > 0)
            .and_then(|mb| mb.checked_mul(1_000_000))
    }
}

/// What a refused [`QuotaForm`] is told.
pub(crate) const QUOTA_INVALID: Text = Text(
    "容量は1以上のMB数で指定してください。",
    "Give the quota as a whole number of MB, at least 1.",
);

/// The inline form posting a [`QuotaForm`] to `action` for the party `number`.
pub(crate) fn quota_form(frame: &Frame<'_>, action: &str, number: &str, current: u64) -> Markup {
    let lang = frame.lang;
    html! {
        form.inline method="post" action=(action) {
            (frame.csrf())
            label { span { (lang.t(Text("容量上限（MB）", "Quota (MB)"))) " " (number) }
                input type="number" name="megabytes" min="1" value=(current / 1_000_000); }
            button type="submit" { (lang.t(Text("変更", "Change"))) }
        }
    }
}
