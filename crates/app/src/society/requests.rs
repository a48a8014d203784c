//! 電子証明書の発行申請: the offices' certificate requests waiting for the society (the server
//! checked their one-time codes), approved with the society's CA — whose key stays in this
//! process, opened with the PIN of the session — or refused with a reason the office app shows.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use kx_client::exchange::{self as ops, Approval, CERTIFICATE_DAYS, Failure};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::{PendingRequest, RequestKind};
use maud::{Markup, html};

use crate::app::App;
use crate::form::Fields;
use crate::page::{self, Shown, Visit, when};
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new().route("/desk/requests", get(list).post(decide))
}

fn requests_page(visit: &Visit, pending: &[PendingRequest], failure: Option<&Shown>) -> Markup {
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        @if pending.is_empty() { p { (visit.t(words::NO_REQUESTS)) } }
        form method="post" action="/desk/requests" {
            @if !pending.is_empty() {
                table {
                    caption { (visit.t(words::REQUESTS)) }
                    (page::columns(visit.lang, &[words::SELECT, words::REQUESTED_AT, words::OFFICE_NUMBER, words::OFFICE_NAME, words::USER_ID, words::REQUEST_KIND]))
                    tbody { @for r in pending { tr {
                        td { input type="checkbox" name="id" value=(r.request) id={ "r-" (r.request) }
                            aria-label={ (r.office_number) " " (r.office_name) " " (r.user_id) }; }
                        td { (when(r.created_at)) }
                        td { label for={ "r-" (r.request) } { (r.office_number) } }
                        td { (r.office_name) }
                        td { (r.user_id) }
                        td { (visit.t(match r.kind {
                            RequestKind::Enrol => words::REQUEST_NEW,
                            RequestKind::Renew => words::REQUEST_RENEWAL,
                        })) }
                    } } }
                }
                label for="reason" { (visit.t(words::REFUSE_REASON)) }
                input #reason type="text" name="reason" maxlength="200";
            }
            div.actions {
                button type="submit" name="action" value="approve" { (visit.t(words::APPROVE)) }
                button.secondary type="submit" name="action" value="refuse" { (visit.t(words::REFUSE)) }
                a.button href="/desk" { (visit.t(words::BACK)) }
            }
        }
    }
}

async fn pending(app: &Arc<App>) -> Result<Result<Vec<PendingRequest>, Shown>, Response> {
    Ok(app
        .with_session(|s| ops::pending_requests(s))
        .await?
        .map_err(Shown::from))
}

/// `GET /desk/requests`.
async fn list(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let body = match pending(&app).await {
        Ok(Ok(pending)) => requests_page(&visit, &pending, None),
        Ok(Err(shown)) => requests_page(&visit, &[], Some(&shown)),
        Err(elsewhere) => return elsewhere,
    };
    visit.page(words::REQUESTS, &app.header(), body)
}

/// `POST /desk/requests`: 承認 or 却下 of the requests checked, after a confirmation.
async fn decide(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let ids = fields.all("id");
    let approving = fields.one("action") == "approve";
    let reason = fields.one("reason").trim().to_owned();
    let all = match pending(&app).await {
        Ok(Ok(all)) => all,
        Ok(Err(shown)) => return show(&app, &visit, &[], shown),
        Err(elsewhere) => return elsewhere,
    };
    let operation = if approving { "承認" } else { "却下" };
    let chosen: Vec<PendingRequest> = all
        .iter()
        .filter(|r| ids.contains(&r.request))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return show(
            &app,
            &visit,
            &all,
            Failure::new(Code::E2001, &[operation]).into(),
        );
    }
    if !approving && reason.is_empty() {
        return show(
            &app,
            &visit,
            &all,
            Failure::new(Code::E1001, &["却下の理由"]).into(),
        );
    }
    if !fields.confirmed() {
        let question = html! {
            p { (visit.t(if approving { words::APPROVE_QUESTION } else { words::REFUSE_QUESTION })) }
            ul { @for r in &chosen { li { (r.office_number) " " (r.office_name) " (" (r.user_id) ")" } } }
        };
        let mut keep: Vec<(&str, String)> = ids.iter().map(|id| ("id", id.clone())).collect();
        keep.push(("action", fields.one("action").to_owned()));
        keep.push(("reason", reason));
        let body = page::confirm(
            visit.lang,
            question,
            "/desk/requests",
            &keep,
            "/desk/requests",
        );
        return visit.page(words::REQUESTS, &app.header(), body);
    }
    let decided = app
        .with_session(move |s| {
            if approving {
                ops::approve(s, &chosen, CERTIFICATE_DAYS, &mut |_| Ok(true)).map(|decided| {
                    decided
                        .into_iter()
                        .filter_map(|(r, approval)| Some((r, approval?)))
                        .collect::<Vec<_>>()
                })
            } else {
                chosen
                    .into_iter()
                    .map(|r| {
                        ops::refuse(s, &r, &reason)?;
                        Ok((r, Approval::Refused(reason.clone())))
                    })
                    .collect()
            }
        })
        .await;
    let body = match decided {
        Ok(Ok(decided)) => decisions(&visit, &decided),
        Ok(Err(err)) => return show(&app, &visit, &all, Shown::from(err)),
        Err(elsewhere) => return elsewhere,
    };
    visit.page(words::DECISION_RESULT, &app.header(), body)
}

fn show(app: &App, visit: &Visit, pending: &[PendingRequest], shown: Shown) -> Response {
    visit.page(
        words::REQUESTS,
        &app.header(),
        requests_page(visit, pending, Some(&shown)),
    )
}

/// 処理結果: a line per request.
fn decisions(visit: &Visit, decided: &[(PendingRequest, Approval)]) -> Markup {
    html! {
        table {
            caption { (visit.t(words::DECISION_RESULT)) }
            (page::columns(visit.lang, &[words::OFFICE_NUMBER, words::OFFICE_NAME, words::USER_ID, words::DECISION_RESULT]))
            tbody { @for (r, approval) in decided { tr {
                td { (r.office_number) }
                td { (r.office_name) }
                td { (r.user_id) }
                td { @match approval {
                    Approval::Issued => span.done { (visit.t(words::ISSUED_MARK)) },
                    Approval::Refused(reason) => { span.bad { (visit.t(words::REFUSED_MARK)) } ": " (reason) },
                } }
            } } }
        }
        div.actions { a.button href="/desk/requests" { (visit.t(words::OK)) } }
    }
}
