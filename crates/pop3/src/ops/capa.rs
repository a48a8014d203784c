//! CAPA (RFC 2449 §5): what this session offers right now.

use crate::backend::Backend;
use crate::error::SessionError;
use crate::response::Response;
use crate::session::{Flow, Session, SessionStream, State};

impl<B: Backend, T: SessionStream> Session<B, T> {
    pub(crate) fn handle_capa(&mut self) -> Result<Flow, SessionError> {
        let mut lines = vec!["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
        if matches!(self.state, State::Authorization { .. }) {
            // Login methods are listed only where they would be accepted, so a client never
            // sends a password in the clear because the server seemed to invite it.
            if self.plaintext_auth_ok() {
                lines.extend(["USER", "SASL PLAIN"]);
            }
            if self.stls_available() {
                lines.push("STLS");
            }
        }
        lines.push("IMPLEMENTATION kxd");
        let lines = lines.into_iter().map(String::from).collect();
        Response::Lines("Capability list follows".into(), lines).write(&mut self.out);
        Ok(Flow::Continue)
    }
}
