//! The KX exchange (spec `kx-exchange.md`): every function of the office app — enrolment,
//! inbox, receive, delete, history, send, sent status and cancel, the settings — and of the
//! society's server — its CA, approvals, pull, send, renewal, `serve` — talking to `kxd`'s API
//! (its contract is the crate `kx-exchange` and `docs/api/openapi.yaml`).
//!
//! A face opens the profile ([`ProfileDir`]), takes its lock (E0001), asks the user for the PIN
//! and opens a [`Session`]; the notices of a fresh login come back as [`Notice`]s. Secrets and
//! confirmations are the face's to ask for: every operation takes them as arguments.
//!
//! [`check_kpfd`] checks a `KPFD.CSV` before an e-application send (電子申請), without a
//! session.

mod enrol;
mod failure;
mod http;
mod kpfd;
mod log;
mod office;
mod offices;
mod profile;
mod serve_state;
mod session;
mod settings;
mod society;
mod transfer;

pub use enrol::{
    Enrolment, EnrolmentRequest, WaitOptions, enrol, pending_enrolment, renew_office,
    wait_for_certificate,
};
pub use failure::{Failure, ONE_TIME_CODE_REFUSED, TEMPORARY_PASSWORD};
pub use http::https_url;
pub use kpfd::check_kpfd;
pub use log::{LogGuard, start_log};
pub use office::{
    FileOutcome, PreparedSend, cancel_sent, delete_received, destinations, history, inbox,
    prepare_send, receive, receive_each, sent, unreceived,
};
pub use offices::{Office, offices, search as search_offices};
pub use profile::{ProfileDir, ProfileLock, SetupScope};
pub use serve_state::ServeState;
pub use session::{Notice, Session};
pub use settings::{change_password, change_pin, logout, set_profile};
pub use society::{
    Approval, CA_DAYS, CERTIFICATE_DAYS, ServeEvent, ServeOptions, SocietyEnrolment, approve,
    decide, pending_requests, pull, refuse, renew_society, send_to_office, serve, setup_society,
};
pub use transfer::{Outgoing, check_files};
