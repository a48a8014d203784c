//! POP3 (RFC 1939, with CAPA, STLS, UIDL, TOP and AUTH PLAIN): how 伝送 clients collect their
//! replies.
