//! 事業所一覧: the society's offices, searched by number or name, with the expiry of their
//! certificates; `?soon=1` keeps those with fewer than 60 days left (the office app offers the
//! renewal at its start, and the desk sees who has not renewed yet).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use kx_client::exchange::{self as ops, Office, search_offices};
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::App;
use crate::page::{self, Shown, Visit, when};
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new().route("/desk/offices", get(list))
}

/// The search of a list of offices.
#[derive(Default, Deserialize)]
pub(super) struct Search {
    /// Part of a number or a name.
    #[serde(default)]
    pub(super) q: String,
    /// Only the certificates expiring within 60 days.
    #[serde(default)]
    soon: Option<String>,
}

/// The search form, posting back to `action` (GET).
pub(super) fn search_form(visit: &Visit, action: &str, search: &Search) -> Markup {
    html! {
        form.search method="get" action=(action) role="search" {
            label for="q" { (visit.t(words::SEARCH)) }
            input #q type="search" name="q" value=(search.q);
            @if let Some(soon) = &search.soon { input type="hidden" name="soon" value=(soon); }
            button.secondary type="submit" { (visit.t(words::SHOW)) }
        }
    }
}

/// The offices' table; with `picked`, a checkbox per office that can receive (the ones
/// checked are those in `picked`).
pub(super) fn table(visit: &Visit, offices: &[&Office], picked: Option<&[String]>) -> Markup {
    html! {
        table {
            caption { (visit.t(words::OFFICES)) }
            thead { tr {
                @if picked.is_some() { th scope="col" { (visit.t(words::SELECT)) } }
                th scope="col" { (visit.t(words::OFFICE_NUMBER)) }
                th scope="col" { (visit.t(words::OFFICE_NAME)) }
                th scope="col" { (visit.t(words::CERT_EXPIRES)) }
                th scope="col" { (visit.t(words::DAYS_LEFT)) }
            } }
            tbody { @for o in offices { tr.warn[o.expires_soon()] {
                @if let Some(picked) = picked {
                    td { input type="checkbox" name="to" value=(o.number) id={ "o-" (o.number) }
                        aria-label={ (o.number) " " (o.name) }
                        checked[picked.contains(&o.number)] disabled[o.expires_at.is_none()]; }
                }
                td { label for={ "o-" (o.number) } { (o.number) } }
                td { (o.name) }
                td { @match o.expires_at {
                    Some(at) => (when(at)),
                    None => span.bad { (visit.t(words::NO_CERTIFICATE)) },
                } }
                td.num { (o.days_left.map(|d| d.to_string()).unwrap_or_else(|| "-".into())) }
            } } }
        }
    }
}

/// The offices, or why not.
pub(super) async fn listed(app: &Arc<App>) -> Result<Result<Vec<Office>, Shown>, Response> {
    Ok(app
        .with_session(|s| ops::offices(s))
        .await?
        .map_err(Shown::from))
}

/// `GET /desk/offices?q=…&soon=1`.
async fn list(State(app): State<Arc<App>>, visit: Visit, Query(search): Query<Search>) -> Response {
    let soon = search.soon.is_some();
    let title = if soon {
        words::EXPIRING
    } else {
        words::OFFICES
    };
    let body = match listed(&app).await {
        Ok(Ok(all)) => {
            let found: Vec<&Office> = search_offices(&all, &search.q)
                .into_iter()
                .filter(|o| !soon || o.expires_soon())
                .collect();
            html! {
                @if soon { p { (visit.t(words::EXPIRING_TEXT)) } }
                (search_form(&visit, "/desk/offices", &search))
                @if found.is_empty() {
                    p { (visit.t(if soon { words::NO_EXPIRING } else { words::NONE })) }
                } @else { (table(&visit, &found, None)) }
                div.actions { a.button href="/desk" { (visit.t(words::BACK)) } }
            }
        }
        Ok(Err(shown)) => page::failure(visit.lang, &shown),
        Err(elsewhere) => return elsewhere,
    };
    visit.page(title, &app.header(), body)
}
