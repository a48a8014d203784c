//! One `-lh5-` block: the symbols of a stretch of input and the three Huffman trees that
//! code them (literal/length `C`, the pre-tree `T` that codes `C`'s lengths, and position `P`).

use super::bits::BitWriter;
use super::huffman::{canonical_codes, code_lengths};
use super::{MAX_MATCH, MIN_MATCH};

/// Literal/length alphabet: 256 literals, then match lengths `MIN_MATCH..=MAX_MATCH`.
pub(crate) const NC: usize = 256 + MAX_MATCH - MIN_MATCH + 1;
/// Position alphabet: the bit length of `distance - 1` (0..=13 for an 8 KiB window).
const NP: usize = 14;
const PBIT: u32 = 4;
/// Pre-tree alphabet: zero runs (0, 1, 2) and code lengths 1..=16 shifted by 2.
const NT: usize = 19;
const TBIT: u32 = 5;
const CBIT: u32 = 9;
/// After this many pre-tree lengths, two bits say how many zeros follow.
const T_SPECIAL: usize = 3;

/// Symbols collected for the next block, with their frequencies.
pub(crate) struct Block {
    /// Literal bytes, or `256 + length - MIN_MATCH` for matches.
    codes: Vec<u16>,
    /// `distance - 1` of each match, in order.
    offsets: Vec<u16>,
    c_freq: [u32; NC],
    p_freq: [u32; NP],
}

/// Huffman code of one alphabet: lengths and codes per symbol, or the one symbol that is
/// implied without any bits.
struct Code<const N: usize> {
    len: [u8; N],
    code: [u16; N],
    single: Option<u16>,
}

impl<const N: usize> Code<N> {
    fn new(freq: &[u32; N]) -> Self {
        let mut len = [0u8; N];
        let mut code = [0u16; N];
        let mut used = freq.iter().enumerate().filter(|&(_, &f)| f > 0);
        let single = match (used.next(), used.next()) {
            (None, _) => Some(0),
            (Some((sym, _)), None) => Some(sym as u16),
            _ => {
                code_lengths(freq, &mut len);
                canonical_codes(&len, &mut code);
                None
            }
        };
        Self { len, code, single }
    }

    fn put(&self, bits: &mut BitWriter, sym: usize) {
        bits.put(u32::from(self.len[sym]), u32::from(self.code[sym]));
    }
}

fn position_slot(offset: u16) -> usize {
    (u16::BITS - offset.leading_zeros()) as usize
}

impl Block {
    pub(crate) fn new() -> Self {
        Self {
            codes: Vec::new(),
            offsets: Vec::new(),
            c_freq: [0; NC],
            p_freq: [0; NP],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }

    pub(crate) fn literal(&mut self, byte: u8) {
        self.codes.push(u16::from(byte));
        self.c_freq[usize::from(byte)] += 1;
    }

    /// Records a match of `length` bytes starting `distance` bytes back.
    pub(crate) fn matched(&mut self, length: usize, distance: usize) {
        let code = 256 + length - MIN_MATCH;
        let offset = (distance - 1) as u16;
        self.codes.push(code as u16);
        self.offsets.push(offset);
        self.c_freq[code] += 1;
        self.p_freq[position_slot(offset)] += 1;
    }

    /// Writes the block, teaches `costs` what its symbols cost, and empties it for reuse.
    pub(crate) fn flush(&mut self, bits: &mut BitWriter, costs: &mut Costs) {
        debug_assert!(!self.codes.is_empty() && self.codes.len() <= usize::from(u16::MAX));
        bits.put(16, self.codes.len() as u32);
        let c = Code::new(&self.c_freq);
        match c.single {
            None => {
                let t = Code::new(&pretree_freq(&c.len));
                write_pt_lengths(bits, &t, TBIT, Some(T_SPECIAL));
                write_c_lengths(bits, &c.len, &t);
            }
            Some(sym) => {
                bits.put(TBIT, 0);
                bits.put(TBIT, 0);
                bits.put(CBIT, 0);
                bits.put(CBIT, u32::from(sym));
            }
        }
        let p = Code::new(&self.p_freq);
        write_pt_lengths(bits, &p, PBIT, None);
        costs.learn(&c, &p);
        let mut offsets = self.offsets.iter();
        for &sym in &self.codes {
            c.put(bits, usize::from(sym));
            if sym >= 256
                && let Some(&offset) = offsets.next()
            {
                let slot = position_slot(offset);
                p.put(bits, slot);
                if slot > 1 {
                    bits.put(slot as u32 - 1, u32::from(offset));
                }
            }
        }
        self.codes.clear();
        self.offsets.clear();
        self.c_freq.fill(0);
        self.p_freq.fill(0);
    }
}

/// Bits a symbol is expected to cost, taken from the previous block's codes: how the
/// parser tells a match that pays from one that costs more than the literals it replaces.
pub(crate) struct Costs {
    c: [u8; NC],
    p: [u8; NP],
}

impl Costs {
    /// What a symbol the previous block did not use is guessed to cost: rare, so expensive.
    const UNSEEN: u8 = 12;

    /// A first guess before any block: bytes of 8 bits, lengths of 7, positions of 4 + extra.
    pub(crate) fn new() -> Self {
        let mut c = [8u8; NC];
        c[256..].fill(7);
        Self { c, p: [4; NP] }
    }

    fn learn(&mut self, c: &Code<NC>, p: &Code<NP>) {
        fn from<const N: usize>(costs: &mut [u8; N], code: &Code<N>) {
            match code.single {
                Some(sym) => {
                    costs.fill(Costs::UNSEEN);
                    costs[usize::from(sym)] = 1;
                }
                None => {
                    for (cost, &len) in costs.iter_mut().zip(&code.len) {
                        *cost = if len == 0 { Costs::UNSEEN } else { len };
                    }
                }
            }
        }
        from(&mut self.c, c);
        from(&mut self.p, p);
    }

    /// Expected bits of `bytes[..n]` as literals, for each `n` below `N`.
    pub(crate) fn literal_prefixes<const N: usize>(&self, bytes: &[u8]) -> [u32; N] {
        let mut sums = [0u32; N];
        for n in 1..N.min(bytes.len() + 1) {
            sums[n] = sums[n - 1] + u32::from(self.c[usize::from(bytes[n - 1])]);
        }
        sums
    }

    /// Expected bits of a match of `length` at `distance`.
    pub(crate) fn matched(&self, length: usize, distance: usize) -> u32 {
        let slot = position_slot((distance - 1) as u16);
        u32::from(self.c[256 + length - MIN_MATCH])
            + u32::from(self.p[slot])
            + slot.saturating_sub(1) as u32
    }
}

/// Walks `C`'s code lengths the way [`write_c_lengths`] codes them, calling `emit` with each
/// pre-tree symbol and the extra bits that follow it.
fn walk_c_lengths(c_len: &[u8], mut emit: impl FnMut(usize, Option<(u32, u32)>)) {
    let n = c_len
        .iter()
        .rposition(|&l| l != 0)
        .map_or(0, |last| last + 1);
    let mut i = 0;
    while i < n {
        let len = c_len[i];
        i += 1;
        if len != 0 {
            emit(usize::from(len) + 2, None);
            continue;
        }
        let mut run = 1;
        while i < n && c_len[i] == 0 {
            i += 1;
            run += 1;
        }
        match run {
            1 | 2 => (0..run).for_each(|_| emit(0, None)),
            3..=18 => emit(1, Some((4, run - 3))),
            19 => {
                emit(0, None);
                emit(1, Some((4, 15)));
            }
            _ => emit(2, Some((CBIT, run - 20))),
        }
    }
}

fn pretree_freq(c_len: &[u8]) -> [u32; NT] {
    let mut freq = [0u32; NT];
    walk_c_lengths(c_len, |sym, _| freq[sym] += 1);
    freq
}

fn write_c_lengths(bits: &mut BitWriter, c_len: &[u8], t: &Code<NT>) {
    let n = c_len
        .iter()
        .rposition(|&l| l != 0)
        .map_or(0, |last| last + 1);
    bits.put(CBIT, n as u32);
    walk_c_lengths(c_len, |sym, extra| {
        t.put(bits, sym);
        if let Some((count, value)) = extra {
            bits.put(count, value);
        }
    });
}

/// Writes the code lengths of the pre-tree or the position tree (3 bits each, longer ones
/// as `111` followed by a unary tail), or the implied single symbol.
fn write_pt_lengths<const N: usize>(
    bits: &mut BitWriter,
    code: &Code<N>,
    nbit: u32,
    special: Option<usize>,
) {
    if let Some(sym) = code.single {
        bits.put(nbit, 0);
        bits.put(nbit, u32::from(sym));
        return;
    }
    let len = &code.len;
    let n = len.iter().rposition(|&l| l != 0).map_or(0, |last| last + 1);
    bits.put(nbit, n as u32);
    let mut i = 0;
    while i < n {
        let l = u32::from(len[i]);
        i += 1;
        if l <= 6 {
            bits.put(3, l);
        } else {
            bits.put(l - 3, 0xFFFE);
        }
        if special == Some(i) {
            let zeros = len[i..].iter().take(3).take_while(|&&l| l == 0).count();
            bits.put(2, zeros as u32);
            i += zeros;
        }
    }
}
