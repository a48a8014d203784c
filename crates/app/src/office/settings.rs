//! 設定変更 (the manual's §5.3): the user name, user code and mail address on the server; and
//! this computer's part: the receive folder and the minutes until the app locks itself.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use kx_client::exchange::{self as ops, Failure};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::{ProfileUpdate, User};
use maud::{Markup, html};

use crate::app::{App, Preferences};
use crate::form::Fields;
use crate::jobs::lock;
use crate::page::{self, Shown, Visit};
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/settings", get(form).post(update))
        .route("/settings/local", post(local))
}

/// The user's name, code and mail address as the form shows them.
fn shown(user: &User) -> ProfileUpdate {
    ProfileUpdate {
        name: user.name.clone(),
        code: user.code.clone(),
        mail: user.mail.clone(),
    }
}

/// The screen: `kept` in the form (the user's values, or those just refused).
fn settings_page(
    app: &App,
    visit: &Visit,
    kept: &ProfileUpdate,
    note: Option<Markup>,
    failure: Option<&Shown>,
) -> Markup {
    let preferences = lock(&app.preferences).clone();
    let folder = preferences
        .receive_dir
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    html! {
        @if let Some(note) = note { (note) }
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        form method="post" action="/settings" {
            label for="name" { (visit.t(words::USER_NAME)) }
            input #name type="text" name="name" required value=(kept.name);
            label for="code" { (visit.t(words::USER_CODE)) }
            input #code type="text" name="code" value=(kept.code);
            label for="mail" { (visit.t(words::MAIL)) }
            input #mail type="email" name="mail" required value=(kept.mail);
            p.detail { (visit.t(words::MAIL_NOTE)) }
            div.actions { button type="submit" { (visit.t(words::APPLY)) } }
        }
        h2 { (visit.t(words::LOCAL_SETTINGS)) }
        form method="post" action="/settings/local" {
            label for="folder" { (visit.t(words::RECEIVE_FOLDER)) }
            input #folder type="text" name="folder" value=(folder);
            label for="idle" { (visit.t(words::IDLE_MINUTES)) }
            input #idle type="number" name="idle" min="1" max="240" value=(preferences.idle_minutes);
            div.actions { button type="submit" { (visit.t(words::SAVE_SETTINGS)) } }
        }
    }
}

/// The user as last known, or where to go without an open session.
async fn user(app: &Arc<App>) -> Result<User, Response> {
    app.with_session(|s| s.user().clone()).await
}

/// `GET /settings`: the user's values as the server has them.
async fn form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let user = match user(&app).await {
        Ok(user) => user,
        Err(elsewhere) => return elsewhere,
    };
    let body = settings_page(&app, &visit, &shown(&user), None, None);
    visit.page(words::SETTINGS, &app.header(), body)
}

/// `POST /settings`: 変更情報を反映 (checked before it is sent: E1001, E1006–E1009).
async fn update(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let update = ProfileUpdate {
        name: fields.one("name").to_owned(),
        code: fields.one("code").to_owned(),
        mail: fields.one("mail").to_owned(),
    };
    let asked = update.clone();
    let changed = match app.with_session(move |s| ops::set_profile(s, &asked)).await {
        Ok(changed) => changed,
        Err(elsewhere) => return elsewhere,
    };
    let body = match changed {
        Ok(user) => settings_page(
            &app,
            &visit,
            &shown(&user),
            Some(page::done(visit.t(words::PROFILE_CHANGED))),
            None,
        ),
        Err(err) => settings_page(&app, &visit, &update, None, Some(&Shown::from(err))),
    };
    visit.page(words::SETTINGS, &app.header(), body)
}

/// `POST /settings/local`: the receive folder must exist. Only in an open session: a locked
/// app's folder is not changed without the PIN.
async fn local(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let user = match user(&app).await {
        Ok(user) => shown(&user),
        Err(elsewhere) => return elsewhere,
    };
    let folder = fields.one("folder").trim();
    let receive_dir = (!folder.is_empty()).then(|| PathBuf::from(folder));
    let idle_minutes = fields.one("idle").parse().unwrap_or(10u32).clamp(1, 240);
    let saved = match &receive_dir {
        Some(dir) if !dir.is_dir() => Err(Shown::from(
            Failure::new(Code::E1001, &["受信フォルダ"]).detail(visit.t(words::FOLDER_MISSING)),
        )),
        _ => app
            .set_preferences(Preferences {
                receive_dir,
                idle_minutes,
            })
            .map_err(Shown::from),
    };
    let body = match saved {
        Ok(()) => settings_page(
            &app,
            &visit,
            &user,
            Some(page::done(visit.t(words::SETTINGS_SAVED))),
            None,
        ),
        Err(refused) => settings_page(&app, &visit, &user, None, Some(&refused)),
    };
    visit.page(words::SETTINGS, &app.header(), body)
}
