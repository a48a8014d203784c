//! Command handlers, one file per command group, each an `impl` block on `Session`.

mod auth;
mod capa;
mod mailbox;
