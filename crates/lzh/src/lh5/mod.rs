//! The `-lh5-` compressor: LZSS over an 8 KiB window with lazy matching on hash chains,
//! coded in blocks of Huffman-coded symbols exactly as LHA's decoders expect.

mod bits;
mod block;
mod huffman;

use std::io::{self, Write};

use bits::BitWriter;
use block::{Block, Costs};

/// The `-lh5-` dictionary; matches reach back less than this far.
const WINDOW: usize = 8 * 1024;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 256;

const HASH_BITS: u32 = 15;
/// Matches this long end the search: longer ones are rare and cost search time.
const NICE_MATCH: usize = 128;
/// Candidates examined per position; a quarter of that once a good match is in hand.
const MAX_CHAIN: usize = 128;
const GOOD_MATCH: usize = 32;
/// A match this long is taken without looking one byte further for a better one.
const MAX_LAZY: usize = 64;
/// Matches at least this long always pay for themselves; shorter ones are costed.
const SURE_MATCH: usize = 16;
/// Symbols per block: enough to amortise the trees, few enough to follow the data.
const BLOCK_SYMBOLS: usize = 0x2000;
/// Input is consumed in slices this big, so the buffer never outgrows window + slice.
const SLICE: usize = 64 * 1024;
const NO_POS: usize = usize::MAX;

/// Compresses everything written to it as one `-lh5-` stream into `out`.
///
/// Memory stays at the window, one input slice and one block whatever the input size.
pub(crate) struct Lh5Encoder<W: Write> {
    out: W,
    bits: BitWriter,
    block: Block,
    costs: Costs,
    /// Input bytes from absolute position `base` on.
    buf: Vec<u8>,
    base: usize,
    /// Absolute position of the next byte to parse.
    pos: usize,
    head: Box<[usize]>,
    prev: Box<[usize]>,
    /// The match found at `pos - 1`, waiting to see whether `pos` does better.
    pending: Option<(usize, usize)>,
    /// Whether the byte at `pos - 1` is parsed but not yet emitted.
    literal_pending: bool,
    written: u64,
}

impl<W: Write> Lh5Encoder<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            bits: BitWriter::default(),
            block: Block::new(),
            costs: Costs::new(),
            buf: Vec::with_capacity(WINDOW + SLICE + MAX_MATCH),
            base: 0,
            pos: 0,
            head: vec![NO_POS; 1 << HASH_BITS].into_boxed_slice(),
            prev: vec![NO_POS; WINDOW].into_boxed_slice(),
            pending: None,
            literal_pending: false,
            written: 0,
        }
    }

    /// Ends the stream: parses the rest, writes the last block, returns the output and the
    /// number of compressed bytes written to it.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        self.parse(true);
        if self.block.len() > 0 {
            self.block.flush(&mut self.bits, &mut self.costs);
        }
        self.bits.align();
        self.drain()?;
        Ok((self.out, self.written))
    }

    fn drain(&mut self) -> io::Result<()> {
        let bytes = self.bits.bytes();
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        bytes.clear();
        Ok(())
    }

    fn hash(&self, at: usize) -> usize {
        let i = at - self.base;
        let key = u32::from(self.buf[i]) << 16
            | u32::from(self.buf[i + 1]) << 8
            | u32::from(self.buf[i + 2]);
        (key.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Links `at` into its hash chain; returns the previous head of that chain.
    fn insert(&mut self, at: usize) -> usize {
        if at + MIN_MATCH > self.base + self.buf.len() {
            return NO_POS;
        }
        let h = self.hash(at);
        let candidate = self.head[h];
        self.prev[at % WINDOW] = candidate;
        self.head[h] = at;
        candidate
    }

    /// The longest match (length, distance) for `at` along the chain starting at `candidate`,
    /// if it beats `better_than`.
    fn longest_match(
        &self,
        at: usize,
        mut candidate: usize,
        better_than: usize,
    ) -> Option<(usize, usize)> {
        let here = &self.buf[at - self.base..];
        let max_len = here.len().min(MAX_MATCH);
        if max_len < MIN_MATCH || better_than >= max_len {
            return None;
        }
        let mut best = better_than.max(MIN_MATCH - 1);
        let mut found = None;
        let mut literal_bits = None;
        let mut chain = if better_than >= GOOD_MATCH {
            MAX_CHAIN / 4
        } else {
            MAX_CHAIN
        };
        while candidate < at && at - candidate < WINDOW && chain > 0 {
            chain -= 1;
            let there = &self.buf[candidate - self.base..];
            if there[best] == here[best] && there[0] == here[0] {
                let len = common_prefix(there, here, max_len);
                if len > best
                    && (len >= SURE_MATCH
                        || self.worth_it(&mut literal_bits, here, len, at - candidate))
                {
                    best = len;
                    found = Some((len, at - candidate));
                    if len >= NICE_MATCH.min(max_len) {
                        break;
                    }
                }
            }
            let next = self.prev[candidate % WINDOW];
            if next >= candidate {
                break;
            }
            candidate = next;
        }
        found
    }

    /// Whether a match saves bits over literals: a short match far back needs a long
    /// position code, which on text often costs more than the few literals it replaces.
    /// `literal_bits` caches the cost of `here`'s first bytes as literals for the position.
    fn worth_it(
        &self,
        literal_bits: &mut Option<[u32; SURE_MATCH]>,
        here: &[u8],
        len: usize,
        distance: usize,
    ) -> bool {
        let literal_bits = literal_bits.get_or_insert_with(|| self.costs.literal_prefixes(here));
        self.costs.matched(len, distance) < literal_bits[len]
    }

    /// Parses buffered input, keeping `MAX_MATCH` bytes of lookahead unless `at_end`.
    fn parse(&mut self, at_end: bool) {
        let end = self.base + self.buf.len();
        let limit = if at_end {
            end
        } else {
            end.saturating_sub(MAX_MATCH)
        };
        while self.pos < limit {
            let at = self.pos;
            let candidate = self.insert(at);
            let previous = self.pending.take();
            let prev_len = previous.map_or(0, |(len, _)| len);
            let current = if prev_len >= MAX_LAZY {
                None
            } else {
                self.longest_match(at, candidate, prev_len)
            };
            match (previous, current) {
                (Some((len, distance)), None) => {
                    self.emit_match(len, distance);
                    // The match began at `at - 1`; `at` is already in the chains.
                    for skipped in at + 1..at - 1 + len {
                        self.insert(skipped);
                    }
                    self.pos = at - 1 + len;
                    self.literal_pending = false;
                }
                (_, found) => {
                    if self.literal_pending {
                        self.emit_literal(self.buf[at - 1 - self.base]);
                    }
                    self.pending = found;
                    self.literal_pending = true;
                    self.pos = at + 1;
                }
            }
        }
        if at_end && self.literal_pending {
            if let Some((len, distance)) = self.pending.take() {
                self.emit_match(len, distance);
            } else {
                self.emit_literal(self.buf[self.pos - 1 - self.base]);
            }
            self.literal_pending = false;
        }
    }

    fn emit_literal(&mut self, byte: u8) {
        self.block.literal(byte);
        self.maybe_flush_block();
    }

    fn emit_match(&mut self, len: usize, distance: usize) {
        self.block.matched(len, distance);
        self.maybe_flush_block();
    }

    fn maybe_flush_block(&mut self) {
        if self.block.len() >= BLOCK_SYMBOLS {
            self.block.flush(&mut self.bits, &mut self.costs);
        }
    }

    /// Drops input that has slid out of the window.
    fn compact(&mut self) {
        let keep_from = self.pos.saturating_sub(WINDOW).max(self.base);
        if keep_from - self.base >= SLICE {
            self.buf.drain(..keep_from - self.base);
            self.base = keep_from;
        }
    }
}

/// How many leading bytes `a` and `b` share, up to `max`.
fn common_prefix(a: &[u8], b: &[u8], max: usize) -> usize {
    let (a, b) = (&a[..max], &b[..max]);
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (x, y) = (u64_le(x), u64_le(y));
        if x != y {
            return n + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n..]
        .iter()
        .zip(&b[n..])
        .take_while(|(x, y)| x == y)
        .count()
}

fn u64_le(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

impl<W: Write> Write for Lh5Encoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        for slice in data.chunks(SLICE) {
            self.buf.extend_from_slice(slice);
            self.parse(false);
            self.compact();
            self.drain()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.out.flush()
    }
}
