//! `kxd`, the KX server: the 伝送 gateway (SMTP submission in, POP3 out, the Regist job, the
//! hand-off to the review system) and the KX exchange (the mutual-TLS `api` listener, its
//! bootstrap routes on `https`, notifications and retention).
//!
//! Protocol parsers are kept apart from the session loops that own the sockets (as in
//! Stalwart): `pop3::protocol` knows POP3's grammar, `pop3::session` drives a connection.

pub mod admin;
mod audit;
pub mod auth;
pub mod config;
pub mod exchange;
pub mod gateway;
pub mod handoff;
mod https;
pub mod limits;
pub mod pop3;
pub mod run;
pub mod smtp;
pub mod tls;
pub mod web;
