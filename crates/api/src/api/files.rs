//! Sealed files: destinations, send, receive, delete or cancel, and the lists.

use std::sync::Arc;

use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use kx_exchange::api as wire;
use kx_exchange::lifecycle::{download_deadline, purge_at};
use kx_exchange::upload::UploadCheck;
use kx_store::exchange::{
    DeleteOutcome, FileFunction, FileRecord, Party, PartyKind, SendOutcome, Upload,
};

use super::{Caller, Parties, party};
use crate::notify::{Event, received_notice, sent_notice};
use crate::problem::{ApiError, FileAction, Query};
use crate::{Exchange, wire_party};

/// The longest an upload may pause between two chunks.
const UPLOAD_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

pub(super) async fn destinations(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::Destination>>, ApiError> {
    caller.require(PartyKind::Office)?;
    let nicknames = exchange
        .store
        .destinations(caller.party.society_id())
        .await?;
    Ok(Json(
        nicknames
            .into_iter()
            .map(|nickname| wire::Destination { nickname })
            .collect(),
    ))
}

fn file_function(function: wire::Function) -> FileFunction {
    match function {
        wire::Function::EApplication => FileFunction::EApplication,
        wire::Function::Attachments => FileFunction::Attachments,
    }
}

fn wire_function(function: FileFunction) -> wire::Function {
    match function {
        FileFunction::EApplication => wire::Function::EApplication,
        FileFunction::Attachments => wire::Function::Attachments,
    }
}

pub(super) async fn upload(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Query(query): Query<wire::UploadQuery>,
    headers: HeaderMap,
    body: HttpBody,
) -> Result<(StatusCode, Json<wire::Uploaded>), ApiError> {
    let store = exchange.store();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut check = UploadCheck::new(&query.name, declared)?;
    let (recipient, destination) = match caller.party.kind {
        PartyKind::Office => {
            let society = party(&exchange, caller.party.society_id()).await?;
            let known = store.destinations(society.id).await?;
            if !known.contains(&query.to) {
                return Err(ApiError::UnknownDestination);
            }
            (society, Some(query.to.clone()))
        }
        PartyKind::Society => {
            let office = store
                .office_by_number(caller.party.id, &query.to)
                .await?
                .ok_or(ApiError::UnknownDestination)?;
            (office, None)
        }
    };
    // Streamed to the blob store (a temporary file, or a bucket's multipart upload): memory
    // holds one frame at a time (at most two parts for a bucket), whatever the size, besides
    // the first bytes until they show a sealed file's envelope.
    let mut staging = store.exchange_upload().await?;
    let mut body = body;
    loop {
        // A sender that stalls mid-upload is cut off instead of holding a connection forever.
        let Ok(next) = tokio::time::timeout(UPLOAD_IDLE, body.frame()).await else {
            return Err(ApiError::UploadStalled);
        };
        let Some(frame) = next else { break };
        let frame = frame.map_err(|_| ApiError::BodyRead)?;
        if let Ok(data) = frame.into_data() {
            check.feed(&data)?;
            staging.write(&data).await?;
        }
    }
    check.finish()?;
    let blob = staging.finish().await?;
    let now = exchange.now();
    let expires_at = (recipient.kind == PartyKind::Office).then(|| download_deadline(now));
    let notice = sent_notice(
        &Event {
            file: &query.name,
            sender: &caller.party.name,
            recipient: &recipient.name,
            sent_at: now,
        },
        expires_at,
    );
    let outcome = store
        .store_file(
            Upload {
                sender: caller.party.id,
                sender_user: caller.user.clone(),
                recipient: recipient.id,
                destination,
                function: file_function(query.function),
                name: query.name,
                blob,
            },
            &notice,
            now,
        )
        .await?;
    match outcome {
        SendOutcome::Stored(record) => {
            exchange.wake_mail.notify_one();
            metrics::counter!("kx_exchange_uploads_total").increment(1);
            metrics::counter!("kx_exchange_upload_bytes_total").increment(record.size);
            tracing::info!(file = %record.id, from = %caller.party.number, to = %recipient.number, size = record.size, "api: file stored");
            Ok((
                StatusCode::CREATED,
                Json(wire::Uploaded {
                    id: record.id,
                    name: record.name,
                    size: record.size,
                    sent_at: record.sent_at,
                }),
            ))
        }
        SendOutcome::OverQuota { .. } => {
            tracing::info!(to = %recipient.number, "api: upload refused, recipient over quota");
            Err(ApiError::QuotaExceeded)
        }
    }
}

/// Whether a file to an office is past its download window at `now` (the retention job may
/// not have run yet).
fn expired(exchange: &Exchange, record: &FileRecord, recipient: &Party) -> bool {
    record.expired_at.is_some()
        || (recipient.kind == PartyKind::Office
            && exchange.now() >= download_deadline(record.sent_at))
}

pub(super) async fn download(
    State(exchange): State<Arc<Exchange>>,
    method: Method,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = exchange.store();
    let record = store
        .file_for(caller.party.id, &id)
        .await?
        .filter(|r| r.recipient == caller.party.id)
        .ok_or(ApiError::UnknownFile(FileAction::Receive))?;
    if record.recipient_deleted_at.is_some() {
        return Err(ApiError::FileDeleted);
    }
    if record.cancelled_at.is_some() {
        return Err(ApiError::FileCancelled);
    }
    if expired(&exchange, &record, &caller.party) {
        return Err(ApiError::FileExpired);
    }
    let file = store.open_file(&record).await?;
    // HEAD (routed here with GET) asks about the file without receiving it.
    if method == Method::HEAD {
        return Ok(sealed_response(HttpBody::empty(), &record));
    }
    let sender = party(&exchange, record.sender).await?;
    let now = exchange.now();
    let notice = received_notice(
        &Event {
            file: &record.name,
            sender: &sender.name,
            recipient: &caller.party.name,
            sent_at: record.sent_at,
        },
        now,
    );
    if store
        .mark_received(caller.party.id, &record.id, &notice, now)
        .await?
    {
        exchange.wake_mail.notify_one();
    }
    // Counted when the download starts: the body streams after the handler has returned.
    metrics::counter!("kx_exchange_downloads_total").increment(1);
    metrics::counter!("kx_exchange_download_bytes_total").increment(record.size);
    tracing::info!(file = %record.id, party = %caller.party.number, "api: file downloaded");
    // Streamed as the store reads it (a file's chunks, or a bucket's ranges): memory holds
    // a chunk at a time, and a failure ends the body short of its Content-Length.
    Ok(sealed_response(HttpBody::from_stream(file), &record))
}

/// A sealed file's answer: its type, length and name, with `body`.
fn sealed_response(body: HttpBody, record: &FileRecord) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire::SEALED_MEDIA_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(record.size));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", record.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub(super) async fn delete(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match exchange
        .store
        .delete_file(caller.party.id, &id, exchange.now())
        .await?
    {
        DeleteOutcome::Deleted | DeleteOutcome::Cancelled => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::AlreadyDownloaded => Err(ApiError::AlreadyDownloaded),
        DeleteOutcome::NotFound => Err(ApiError::UnknownFile(FileAction::Delete)),
    }
}

pub(super) async fn inbox(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::InboxEntry>>, ApiError> {
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    for record in exchange.store.inbox(caller.party.id).await? {
        if expired(&exchange, &record, &caller.party) {
            continue;
        }
        let from = wire_party(parties.get(record.sender).await?);
        entries.push(wire::InboxEntry {
            expires_at: (caller.party.kind == PartyKind::Office)
                .then(|| download_deadline(record.sent_at)),
            id: record.id,
            name: record.name,
            from,
            destination: record.destination,
            function: wire_function(record.function),
            size: record.size,
            sent_at: record.sent_at,
            last_received_at: record.last_received_at,
        });
    }
    Ok(Json(entries))
}

pub(super) async fn history(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::HistoryEntry>>, ApiError> {
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    let now = exchange.now();
    for record in exchange.store.history(caller.party.id).await? {
        if purge_at(record.sent_at) <= now {
            continue; // due for the purge: as good as gone
        }
        let Some(deleted_at) = record.recipient_deleted_at else {
            continue;
        };
        entries.push(wire::HistoryEntry {
            from: wire_party(parties.get(record.sender).await?),
            id: record.id,
            name: record.name,
            sent_at: record.sent_at,
            last_received_at: record.last_received_at,
            deleted_at,
        });
    }
    Ok(Json(entries))
}

pub(super) async fn sent(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Query(query): Query<wire::SentQuery>,
) -> Result<Json<Vec<wire::SentEntry>>, ApiError> {
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    let now = exchange.now();
    for record in exchange.store.sent(caller.party.id, query.since).await? {
        if purge_at(record.sent_at) <= now {
            continue; // due for the purge: as good as gone
        }
        entries.push(wire::SentEntry {
            to: wire_party(parties.get(record.recipient).await?),
            id: record.id,
            name: record.name,
            destination: record.destination,
            function: wire_function(record.function),
            size: record.size,
            sent_at: record.sent_at,
            first_received_at: record.first_received_at,
            cancelled_at: record.cancelled_at,
        });
    }
    Ok(Json(entries))
}
