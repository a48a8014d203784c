//! Login, logout, password and profile.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use kx_exchange::api as wire;
use kx_exchange::settings::{PasswordPolicy, check_profile};
use kx_store::Login;
use kx_store::exchange::ProfileUpdate;

use super::{Actor, Caller, CallerWithTemporaryPassword, party, wire_user};
use crate::problem::{ApiError, Body};
use crate::{Exchange, wire_party};
use kx_listen::LoginCount;
use kx_listen::https::{ClientCertificate, Peer};

pub(super) async fn login(
    State(exchange): State<Arc<Exchange>>,
    Extension(Peer(peer)): Extension<Peer>,
    certificate: Option<Extension<ClientCertificate>>,
    actor: Option<Extension<Actor>>,
    Body(login): Body<wire::Login>,
) -> Result<Json<wire::Session>, ApiError> {
    let store = exchange.store();
    if let Some(Extension(actor)) = &actor {
        actor.set(&login.id);
    }
    let audit = |outcome: &'static str| {
        let exchange = Arc::clone(&exchange);
        let id = login.id.clone();
        async move {
            exchange
                .store
                .record_audit(&id, "api.login", &id, Some(peer), outcome)
                .await;
        }
    };
    if !exchange.attempts.allow(&peer) {
        audit("rate-limited").await;
        return Err(ApiError::TooManyAttempts);
    }
    let Some(Extension(certificate)) = certificate else {
        return Err(ApiError::NoCertificate);
    };
    let registered = store
        .certificate_by_fingerprint(&certificate.fingerprint)
        .await?
        .filter(|c| c.current);
    let Some(registered) = registered else {
        audit("certificate-not-registered").await;
        return Err(ApiError::CertificateNotRegistered);
    };
    let must_change_password = match store
        .verify_exchange_password(registered.party, &login.id, &login.password)
        .await?
    {
        Login::Ok {
            must_change_password,
        } => {
            kx_listen::count_login("api", LoginCount::Ok);
            must_change_password
        }
        Login::Busy => return Err(ApiError::Busy),
        outcome @ (Login::Wrong | Login::LockedOut | Login::Unknown) => {
            kx_listen::count_login(
                "api",
                if outcome == Login::LockedOut {
                    LoginCount::LockedOut
                } else {
                    LoginCount::Failed
                },
            );
            // The same answer either way; the operator's audit tells them apart.
            audit(match outcome {
                Login::Wrong => "wrong-password",
                Login::LockedOut => "locked-out",
                _ => "not-a-user-of-this-party",
            })
            .await;
            exchange.penalty.failed(peer).await;
            return Err(ApiError::WrongPassword);
        }
        Login::Locked => {
            kx_listen::count_login("api", LoginCount::Failed);
            audit("locked").await;
            exchange.penalty.failed(peer).await;
            return Err(ApiError::Locked);
        }
    };
    let user = store
        .exchange_user(&login.id)
        .await?
        .ok_or_else(|| ApiError::internal(&"a verified user vanished"))?;
    let own = party(&exchange, user.party).await?;
    let society = party(&exchange, own.society_id()).await?;
    let token = store
        .create_session(
            &user.id,
            own.id,
            peer,
            &certificate.fingerprint,
            exchange.now(),
            exchange.session_limits(),
        )
        .await?;
    audit("ok").await;
    tracing::info!(user = %user.id, party = %own.number, "api: logged in");
    Ok(Json(wire::Session {
        token,
        party: wire_party(&own),
        society: wire_party(&society),
        user: wire_user(&user),
        must_change_password,
        app_version: Some(exchange.app_version().await?),
    }))
}

pub(super) async fn logout(
    State(exchange): State<Arc<Exchange>>,
    CallerWithTemporaryPassword(caller): CallerWithTemporaryPassword,
) -> Result<StatusCode, ApiError> {
    exchange.store.end_session(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn change_password(
    State(exchange): State<Arc<Exchange>>,
    Extension(Peer(peer)): Extension<Peer>,
    CallerWithTemporaryPassword(caller): CallerWithTemporaryPassword,
    Body(change): Body<wire::PasswordChange>,
) -> Result<StatusCode, ApiError> {
    PasswordPolicy::default()
        .check_change(&change)
        .map_err(ApiError::PasswordPolicy)?;
    let store = exchange.store();
    match store
        .verify_exchange_password(caller.party.id, &caller.user, &change.current)
        .await?
    {
        Login::Ok { .. } => {}
        Login::Busy => return Err(ApiError::Busy),
        outcome @ (Login::Wrong | Login::LockedOut | Login::Unknown) => {
            let word = if outcome == Login::LockedOut {
                "locked-out"
            } else {
                "wrong-password"
            };
            exchange
                .store
                .record_audit(&caller.user, "api.password", &caller.user, Some(peer), word)
                .await;
            exchange.penalty.failed(peer).await;
            return Err(ApiError::WrongCurrentPassword);
        }
        Login::Locked => {
            exchange.penalty.failed(peer).await;
            return Err(ApiError::Locked);
        }
    }
    store
        .set_exchange_password(&caller.user, &change.new, false)
        .await?;
    store
        .end_other_sessions(&caller.user, &caller.token)
        .await?;
    exchange
        .store
        .record_audit(&caller.user, "api.password", &caller.user, Some(peer), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn update_profile(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Body(update): Body<wire::ProfileUpdate>,
) -> Result<Json<wire::User>, ApiError> {
    check_profile(&update).map_err(ApiError::Profile)?;
    let user = exchange
        .store
        .update_profile(
            &caller.user,
            &ProfileUpdate {
                user_name: update.name,
                user_code: update.code,
                mail: update.mail,
            },
        )
        .await?;
    Ok(Json(wire_user(&user)))
}
