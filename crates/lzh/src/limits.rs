//! Limits that keep a hostile archive from exhausting memory or disk.

/// How much an archive may unpack to. Checked against each header before any data is
/// decoded; the decoder never produces more than the header declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries (files and directories) an archive may hold.
    pub max_entries: usize,
    /// Most bytes all files together may unpack to.
    pub max_total_size: u64,
    /// Most bytes one file may unpack to per packed byte, once it is bigger than
    /// [`Limits::ratio_floor`]: what tells a decompression bomb from ordinary data.
    pub max_ratio: u64,
    /// Files up to this size are exempt from [`Limits::max_ratio`]: small, highly repetitive
    /// files (an all-blank CSV) compress extremely well and are harmless.
    pub ratio_floor: u64,
}

impl Default for Limits {
    /// 10,000 entries, 1 GiB in total, and at most 1,000:1 for files above 1 MiB.
    ///
    /// A 伝送 archive holds a few CSVs of at most some hundred MB which compress 5–20:1, and
    /// even repetitive text stays under a few hundred to one. `-lh5-` can reach millions to
    /// one on constant data, so a bomb trips the ratio long before the total; a genuine
    /// constant file above 1 MiB needs a raised limit.
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_total_size: 1 << 30,
            max_ratio: 1_000,
            ratio_floor: 1 << 20,
        }
    }
}

impl Limits {
    /// No practical limit: for archives this program wrote itself.
    pub fn unlimited() -> Self {
        Self {
            max_entries: usize::MAX,
            max_total_size: u64::MAX,
            max_ratio: u64::MAX,
            ratio_floor: u64::MAX,
        }
    }
}
