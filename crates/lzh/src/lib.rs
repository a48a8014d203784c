//! LHA/LZH archives: read every common method, write `-lh0-` and `-lh5-`, extract safely.
//!
//! The 伝送 protocol carries claim data as `.LZH` archives in both directions; this crate is
//! where everything about that format lives. It does no I/O of its own beyond the readers and
//! writers it is handed.
