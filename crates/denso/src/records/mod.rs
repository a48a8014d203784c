//! The reference record checker (spec §7).
