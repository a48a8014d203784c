//! The federation operator's outgoing messages: the review system's output delivered as a
//! `Transmit Result`, a `Transmit Contact` to some IDs or to all, with attachments, and
//! service data published in an organisation's download area with its service notice.
//! Both are forms with files (`multipart/form-data`), built by the gateway's
//! [`Outgoing`](kx_gateway::outgoing::Outgoing) as `kxd admin` builds them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;

use kx_denso::AccountId;
use kx_denso::location::Location;
use kx_denso::message::Attachment;
use kx_gateway::service::Source;

use super::page::{Notice, Text};
use super::{Console, Visit, require};

/// The most a form with files may carry: the largest message the gateway sends is bounded
/// by what a mailbox client accepts, and 20 MB is the exchange's limit too.
const MAX_UPLOAD: usize = 20 * 1024 * 1024;

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/results", get(results_form).post(deliver_result))
        .route("/contacts", get(contact_form).post(send_contact))
        .route("/service", get(service_form).post(publish_service))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
}

/// A form with files, read whole (within the body limit).
#[derive(Default)]
struct Upload {
    texts: HashMap<String, String>,
    files: Vec<Attachment>,
}

impl Upload {
    /// Reads every field: file fields (with a file name and content) become attachments in
    /// order, the others texts.
    async fn read(mut multipart: Multipart) -> Result<Upload, String> {
        let mut upload = Upload::default();
        while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let data = field.bytes().await.map_err(|e| e.body_text())?;
                    if !file_name.is_empty() {
                        upload.files.push(Attachment::new(file_name, data.to_vec()));
                    }
                }
                None => {
                    let text = field.text().await.map_err(|e| e.body_text())?;
                    upload.texts.insert(name, text);
                }
            }
        }
        Ok(upload)
    }

    fn text(&self, name: &str) -> &str {
        self.texts.get(name).map_or("", String::as_str)
    }
}

async fn results_form(visit: Visit) -> Response {
    require!(visit.federation());
    results_page(&visit, StatusCode::OK, None)
}

fn results_page(visit: &Visit, status: StatusCode, notice: Option<&Notice>) -> Response {
    let lang = visit.lang;
    let frame = visit.frame();
    let body = html! {
        p { (lang.t(Text(
            "審査システムの出力ファイルを LZH にまとめ、組織の代表IDへ交換情報（Transmit Result）として配信します。",
            "Packs the review system's output files into an LZH and delivers it to the organisation's master ID as a Transmit Result.",
        ))) }
        form method="post" action="/results" enctype="multipart/form-data" {
            (frame.csrf())
            label { (lang.t(Text("識別番号または番号", "Organisation code or number"))) input type="text" name="org" required; }
            label { (lang.t(Text("データ種別（3文字）", "Data kind (3 characters)"))) input type="text" name="kind" required maxlength="3"; }
            label { (lang.t(Text("ファイル（順番どおり）", "Files (in order)"))) input type="file" name="files" multiple required; }
            button type="submit" { (lang.t(Text("配信", "Deliver"))) }
        }
    };
    frame.respond(
        status,
        Text("交換情報の配信", "Deliver a Result"),
        notice,
        body,
    )
}

async fn deliver_result(
    State(console): State<Arc<Console>>,
    visit: Visit,
    multipart: Multipart,
) -> Response {
    require!(visit.federation());
    let upload = match read_form(&visit, multipart, results_page).await {
        Ok(upload) => upload,
        Err(answer) => return answer,
    };
    let done = async {
        let outgoing = console.gateway.outgoing();
        let org = outgoing.find_org(upload.text("org")).await?;
        let files: Vec<Vec<u8>> = upload.files.iter().map(|f| f.data.clone()).collect();
        let master = outgoing
            .deliver_result(&org, upload.text("kind").trim(), &files)
            .await?;
        visit
            .audit(&console, "result.deliver", &master.to_string(), "ok")
            .await;
        let lang = visit.lang;
        Ok(format!(
            "{} {master} ({})",
            lang.t(Text("配信しました：", "Delivered to")),
            files.len()
        ))
    }
    .await;
    answer(
        &visit,
        results_page,
        Text("配信できません", "Not delivered"),
        done,
    )
}

/// Reads a form with files and checks its CSRF token; the answer (the form again, or a
/// refusal) when it cannot go on.
async fn read_form(visit: &Visit, multipart: Multipart, page: Page) -> Result<Upload, Response> {
    let upload = Upload::read(multipart).await.map_err(|problem| {
        page(
            visit,
            StatusCode::BAD_REQUEST,
            Some(&Notice::Error(problem)),
        )
    })?;
    if let Err(refused) = visit.signed_form(upload.text("csrf")) {
        return Err(visit.answer(refused));
    }
    Ok(upload)
}

/// A page of this module: the form with a notice above it.
type Page = fn(&Visit, StatusCode, Option<&Notice>) -> Response;

/// The form again with what was done, or why not (`failed`, then the cause).
fn answer(visit: &Visit, page: Page, failed: Text, done: anyhow::Result<String>) -> Response {
    match done {
        Ok(text) => page(visit, StatusCode::OK, Some(&Notice::Done(text))),
        Err(e) => {
            let notice = Notice::Error(format!("{}: {e:#}", visit.lang.t(failed)));
            page(visit, StatusCode::UNPROCESSABLE_ENTITY, Some(&notice))
        }
    }
}

async fn contact_form(visit: Visit) -> Response {
    require!(visit.federation());
    contact_page(&visit, StatusCode::OK, None)
}

fn contact_page(visit: &Visit, status: StatusCode, notice: Option<&Notice>) -> Response {
    let lang = visit.lang;
    let frame = visit.frame();
    let body = html! {
        form method="post" action="/contacts" enctype="multipart/form-data" {
            (frame.csrf())
            label { (lang.t(Text("宛先ID（空白区切り）", "To IDs (space-separated)"))) input type="text" name="to"; }
            label { input type="checkbox" name="all" value="yes"; " " (lang.t(Text("全IDへ送る", "Send to every ID"))) }
            label { (lang.t(Text("件名", "Title"))) input type="text" name="title" required; }
            label { (lang.t(Text("本文", "Body"))) textarea name="body" rows="8" cols="70" {} }
            label { (lang.t(Text("添付ファイル", "Attachments"))) input type="file" name="attachments" multiple; }
            button type="submit" { (lang.t(Text("送信", "Send"))) }
        }
    };
    frame.respond(status, Text("下り連絡", "Send a Contact"), notice, body)
}

async fn send_contact(
    State(console): State<Arc<Console>>,
    visit: Visit,
    multipart: Multipart,
) -> Response {
    require!(visit.federation());
    let upload = match read_form(&visit, multipart, contact_page).await {
        Ok(upload) => upload,
        Err(answer) => return answer,
    };
    let lang = visit.lang;
    let done = async {
        let all = upload.text("all") == "yes";
        let to = upload
            .text("to")
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<AccountId>, _>>()?;
        if !all && to.is_empty() {
            anyhow::bail!(
                "{}",
                lang.t(Text(
                    "宛先IDを入力するか、全IDへ送るを選んでください。",
                    "Enter the IDs, or choose to send to every ID.",
                ))
            );
        }
        let recipients = console
            .gateway
            .outgoing()
            .send_contact(
                (!all).then_some(to.as_slice()),
                upload.text("title").trim(),
                upload.text("body"),
                &upload.files,
            )
            .await?;
        for account in &recipients {
            visit
                .audit(&console, "contact.send", &account.to_string(), "ok")
                .await;
        }
        Ok(format!(
            "{} {}",
            lang.t(Text("送信しました。宛先数：", "Sent. Recipients:")),
            recipients.len()
        ))
    }
    .await;
    answer(
        &visit,
        contact_page,
        Text("送信できません", "Not sent"),
        done,
    )
}

async fn service_form(visit: Visit) -> Response {
    require!(visit.federation());
    service_page(&visit, StatusCode::OK, None)
}

fn service_page(visit: &Visit, status: StatusCode, notice: Option<&Notice>) -> Response {
    let lang = visit.lang;
    let frame = visit.frame();
    let body = html! {
        p { (lang.t(Text(
            "ファイルを組織のダウンロード領域（読み取り専用のFTPS・HTTPS）に置き、代表IDへサービス情報を送ります。",
            "Puts the files in the organisation's download area (read-only FTPS and HTTPS) and sends a service notice to its master ID.",
        ))) }
        form method="post" action="/service" enctype="multipart/form-data" {
            (frame.csrf())
            label { (lang.t(Text("識別番号または番号", "Organisation code or number"))) input type="text" name="org" required; }
            label { (lang.t(Text("場所（例：/kaigo/exchangeinfo322）", "Location (e.g. /kaigo/exchangeinfo322)"))) input type="text" name="location" required; }
            label { (lang.t(Text("情報名（Subject の Transmit の後）", "Name (after Transmit in the Subject)"))) input type="text" name="name" value="ExchangeInfo" required; }
            label { (lang.t(Text("ファイル", "Files"))) input type="file" name="files" multiple required; }
            button type="submit" { (lang.t(Text("公開して通知", "Publish and notify"))) }
        }
    };
    frame.respond(status, Text("サービス情報", "Service data"), notice, body)
}

async fn publish_service(
    State(console): State<Arc<Console>>,
    visit: Visit,
    multipart: Multipart,
) -> Response {
    require!(visit.federation());
    let upload = match read_form(&visit, multipart, service_page).await {
        Ok(upload) => upload,
        Err(answer) => return answer,
    };
    let done = async {
        let (master, published) = publish(&console, &upload).await?;
        for target in &published {
            visit.audit(&console, "service.publish", target, "ok").await;
        }
        visit
            .audit(&console, "service.notify", &master.to_string(), "ok")
            .await;
        let lang = visit.lang;
        Ok(format!(
            "{} {} — {} {master}",
            lang.t(Text("公開しました：", "Published:")),
            published.join(", "),
            lang.t(Text("通知先", "notified")),
        ))
    }
    .await;
    answer(
        &visit,
        service_page,
        Text("公開できません", "Not published"),
        done,
    )
}

/// Publishes the upload's files into the organisation's folder, then sends the notice;
/// returns the master ID notified and the published files (識別番号 and location).
async fn publish(console: &Console, upload: &Upload) -> anyhow::Result<(AccountId, Vec<String>)> {
    let gateway = Arc::clone(&console.gateway);
    let outgoing = gateway.outgoing();
    let org = outgoing.find_org(upload.text("org")).await?;
    let location = Location::parse(upload.text("location").trim())?;
    let name = upload.text("name").trim().to_owned();
    if upload.files.is_empty() {
        anyhow::bail!("no file chosen");
    }
    let code = org.org_code();
    let files = upload.files.clone();
    let (data_dir, folder, place) = (
        gateway.data_dir().to_owned(),
        code.clone(),
        location.clone(),
    );
    let published = tokio::task::spawn_blocking(move || {
        let mut readers: Vec<(String, std::io::Cursor<Vec<u8>>)> = files
            .into_iter()
            .map(|f| (f.name, std::io::Cursor::new(f.data)))
            .collect();
        let mut sources: Vec<Source<'_>> = readers
            .iter_mut()
            .map(|(name, data)| Source {
                name: name.clone(),
                data,
            })
            .collect();
        kx_gateway::service::publish(&data_dir, &folder, &place, &mut sources)
    })
    .await??;
    let master = outgoing
        .send_service_notice(&org, &location.to_string(), &name)
        .await?;
    Ok((
        master,
        published
            .iter()
            .map(|target| format!("{code}{target}"))
            .collect(),
    ))
}
