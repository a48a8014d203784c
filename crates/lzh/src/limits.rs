//! Limits that keep a hostile archive, or many of them in one message, from exhausting memory,
//! disk or time: a [`Budget`] draws every entry against one set of [`Limits`].

use crate::{Entry, Error};

/// How much everything read against one [`Budget`] may unpack to: one archive, or every
/// archive of a message together. Checked against each header before any of its data is
/// decoded; the decoder never produces more than the header declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most entries (files and directories) all archives together may hold.
    pub max_entries: usize,
    /// Most bytes all files together may unpack to.
    pub max_total_size: u64,
    /// Most bytes one file, or all files together, may unpack to per packed byte, once they
    /// are bigger than [`Limits::ratio_floor`]: what tells a decompression bomb from ordinary
    /// data.
    pub max_ratio: u64,
    /// Sizes up to this are exempt from [`Limits::max_ratio`]: small, highly repetitive
    /// files (an all-blank CSV) compress extremely well and are harmless.
    pub ratio_floor: u64,
}

impl Default for Limits {
    /// 10,000 entries, 1 GiB in total, and at most 1,000:1 above 1 MiB.
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

    /// Whether `size` bytes unpacked from `packed` break [`Limits::max_ratio`].
    fn ratio_broken(&self, size: u64, packed: u64) -> bool {
        size > self.ratio_floor && size > packed.saturating_mul(self.max_ratio)
    }
}

/// What has been drawn against [`Limits`] so far. One budget is shared by every archive and
/// entry that must fit together (all the attachments of one message), so a bomb split over
/// many archives, each harmless alone, is refused at the entry that crosses a limit, before
/// that entry is decoded.
///
/// ```
/// # fn main() -> Result<(), kx_lzh::Error> {
/// let one = kx_lzh::Writer::new(Vec::new()).finish()?;
/// let mut budget = kx_lzh::Budget::new(kx_lzh::Limits::default());
/// for archive in [&one, &one] {
///     kx_lzh::unpack(archive, &mut budget)?;
/// }
/// assert_eq!(budget.unpacked(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    limits: Limits,
    entries: usize,
    unpacked: u64,
    packed: u64,
}

impl Default for Budget {
    /// A budget under [`Limits::default`].
    fn default() -> Self {
        Budget::new(Limits::default())
    }
}

impl Budget {
    /// A budget with nothing drawn yet.
    pub fn new(limits: Limits) -> Self {
        Budget {
            limits,
            entries: 0,
            unpacked: 0,
            packed: 0,
        }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Entries drawn so far.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Bytes the entries drawn so far unpack to.
    pub fn unpacked(&self) -> u64 {
        self.unpacked
    }

    /// Counts one more entry; [`Error::TooManyEntries`] past the limit. Done before its
    /// header is even interpreted, so a flood of broken headers is cut off too.
    pub(crate) fn draw_entry(&mut self) -> Result<(), Error> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(Error::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// Draws the sizes `entry`'s header declares, before any of its data is decoded.
    /// Nothing is drawn when it is refused.
    pub(crate) fn draw_sizes(&mut self, entry: &Entry) -> Result<(), Error> {
        let limits = &self.limits;
        let name = || entry.path.to_string();
        let unpacked = self.unpacked.saturating_add(entry.size);
        let packed = self.packed.saturating_add(entry.packed_size);
        if unpacked > limits.max_total_size {
            return Err(Error::TotalSizeExceeded {
                entry: name(),
                limit: limits.max_total_size,
            });
        }
        for (size, packed) in [(entry.size, entry.packed_size), (unpacked, packed)] {
            if limits.ratio_broken(size, packed) {
                return Err(Error::RatioExceeded {
                    entry: name(),
                    size,
                    packed,
                    limit: limits.max_ratio,
                });
            }
        }
        self.unpacked = unpacked;
        self.packed = packed;
        Ok(())
    }
}
