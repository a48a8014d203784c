//! Length-limited Huffman code lengths and the canonical codes LHA derives from them.

/// LHA decoders build 16-bit lookup tables: no code may be longer.
pub(crate) const MAX_CODE_LEN: usize = 16;

/// Fills `lengths` with code lengths for `freq` (0 for unused symbols), each at most
/// [`MAX_CODE_LEN`], forming a complete prefix code. Needs at least two used symbols.
pub(crate) fn code_lengths(freq: &[u32], lengths: &mut [u8]) {
    lengths.fill(0);
    let mut leaves: Vec<(u32, usize)> = freq
        .iter()
        .enumerate()
        .filter(|&(_, &f)| f > 0)
        .map(|(sym, &f)| (f, sym))
        .collect();
    debug_assert!(leaves.len() >= 2);
    leaves.sort_unstable();
    let depth_count = leaf_depth_counts(&leaves);
    // The most frequent symbols take the shortest codes.
    let mut next = leaves.iter().rev();
    for (len, &count) in depth_count.iter().enumerate().skip(1) {
        for &(_, sym) in next.by_ref().take(count) {
            lengths[sym] = len as u8;
        }
    }
}

/// How many leaves sit at each depth (index = depth) of a Huffman tree over `leaves` (sorted
/// by ascending weight), with depths past [`MAX_CODE_LEN`] folded back in as LHA does.
fn leaf_depth_counts(leaves: &[(u32, usize)]) -> [usize; MAX_CODE_LEN + 1] {
    // Two-queue construction: leaves in order, then internal nodes in creation order, which is
    // also ascending weight. Nodes 0..n are leaves, n.. internal.
    let n = leaves.len();
    let mut weight: Vec<u64> = leaves.iter().map(|&(f, _)| u64::from(f)).collect();
    let mut parent = vec![0usize; 2 * n - 1];
    let (mut next_leaf, mut next_inner) = (0, n);
    for node in n..2 * n - 1 {
        let mut pick = || {
            let take_leaf =
                next_leaf < n && (next_inner >= node || weight[next_leaf] <= weight[next_inner]);
            if take_leaf {
                next_leaf += 1;
                next_leaf - 1
            } else {
                next_inner += 1;
                next_inner - 1
            }
        };
        let (a, b) = (pick(), pick());
        weight.push(weight[a] + weight[b]);
        parent[a] = node;
        parent[b] = node;
    }
    let mut depth = vec![0usize; 2 * n - 1];
    let mut counts = [0usize; MAX_CODE_LEN + 1];
    for node in (0..2 * n - 2).rev() {
        depth[node] = depth[parent[node]] + 1;
        if node < n {
            counts[depth[node].min(MAX_CODE_LEN)] += 1;
        }
    }
    // Clamping overlong codes oversubscribes the code space; move leaves down from the
    // shallowest splittable depth until the Kraft sum is exactly one again.
    let full = 1usize << MAX_CODE_LEN;
    let mut kraft: usize = (1..=MAX_CODE_LEN)
        .map(|len| counts[len] << (MAX_CODE_LEN - len))
        .sum();
    while kraft > full {
        counts[MAX_CODE_LEN] -= 1;
        if let Some(len) = (1..MAX_CODE_LEN).rev().find(|&len| counts[len] != 0) {
            counts[len] -= 1;
            counts[len + 1] += 2;
        }
        kraft -= 1;
    }
    counts
}

/// Canonical codes for `lengths`: shorter codes first, ties broken by symbol order.
pub(crate) fn canonical_codes(lengths: &[u8], codes: &mut [u16]) {
    let mut count = [0u32; MAX_CODE_LEN + 2];
    for &len in lengths {
        count[usize::from(len)] += 1;
    }
    count[0] = 0;
    let mut start = [0u32; MAX_CODE_LEN + 2];
    for len in 1..=MAX_CODE_LEN {
        start[len + 1] = (start[len] + count[len]) << 1;
    }
    for (code, &len) in codes.iter_mut().zip(lengths) {
        if len > 0 {
            let slot = &mut start[usize::from(len)];
            *code = *slot as u16;
            *slot += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kraft(lengths: &[u8]) -> u64 {
        lengths
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u64 << (MAX_CODE_LEN - usize::from(l)))
            .sum()
    }

    #[test]
    fn fibonacci_weights_are_limited_to_sixteen_bits() {
        let mut freq = vec![1u32, 1];
        while freq.len() < 30 {
            let next = freq[freq.len() - 1] + freq[freq.len() - 2];
            freq.push(next);
        }
        let mut lengths = vec![0u8; freq.len()];
        code_lengths(&freq, &mut lengths);
        assert!(lengths.iter().all(|&l| (1..=16).contains(&l)));
        assert_eq!(kraft(&lengths), 1 << MAX_CODE_LEN);
    }

    #[test]
    fn canonical_codes_follow_lha_order() {
        let lengths = [2u8, 1, 3, 3];
        let mut codes = [0u16; 4];
        canonical_codes(&lengths, &mut codes);
        assert_eq!(codes, [0b10, 0b0, 0b110, 0b111]);
    }

    proptest! {
        #[test]
        fn lengths_form_a_complete_prefix_code(freq in proptest::collection::vec(0u32..100_000, 2..510)) {
            prop_assume!(freq.iter().filter(|&&f| f > 0).count() >= 2);
            let mut lengths = vec![0u8; freq.len()];
            code_lengths(&freq, &mut lengths);
            prop_assert_eq!(kraft(&lengths), 1 << MAX_CODE_LEN);
            for (f, l) in freq.iter().zip(&lengths) {
                prop_assert_eq!(*f > 0, *l > 0);
            }
        }
    }
}
