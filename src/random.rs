//! Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers:
//! as easy as 1, 2, 3", SC'11).
//!
//! A stream is keyed by (seed, offset); element i of a draw comes from counter block
//! i / 4 of that stream. So any element can be computed independently: the result is the
//! same for any thread count and (later) on the GPU. Each draw from the global generator
//! takes a fresh offset, as PyTorch's Philox offsets do.

use std::sync::Mutex;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// The Philox4x32 bijection with 10 rounds.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// A stream of random 32-bit words: block `i` of stream (seed, offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhiloxStream {
    pub seed: u64,
    pub offset: u64,
}

impl PhiloxStream {
    /// The four words of block `i`.
    #[inline]
    pub fn block(&self, i: u64) -> [u32; 4] {
        philox4x32_10(
            [
                i as u32,
                (i >> 32) as u32,
                self.offset as u32,
                (self.offset >> 32) as u32,
            ],
            [self.seed as u32, (self.seed >> 32) as u32],
        )
    }
    /// Word `j` of the stream (4 per block).
    #[inline]
    pub fn word(&self, j: u64) -> u32 {
        self.block(j / 4)[(j % 4) as usize]
    }
}

/// PyTorch's default seed, so a fresh process draws the same numbers every run.
pub const DEFAULT_SEED: u64 = 67_280_421_310_721;

struct GlobalGen {
    seed: u64,
    next_offset: u64,
}

static GEN: Mutex<GlobalGen> = Mutex::new(GlobalGen {
    seed: DEFAULT_SEED,
    next_offset: 0,
});

/// Seeds the global generator (and restarts its offsets).
pub fn manual_seed(seed: u64) {
    let mut g = GEN.lock().unwrap_or_else(|e| e.into_inner());
    g.seed = seed;
    g.next_offset = 0;
}

pub fn initial_seed() -> u64 {
    GEN.lock().unwrap_or_else(|e| e.into_inner()).seed
}

/// Takes a fresh stream from the global generator.
pub fn next_stream() -> PhiloxStream {
    let mut g = GEN.lock().unwrap_or_else(|e| e.into_inner());
    let s = PhiloxStream {
        seed: g.seed,
        offset: g.next_offset,
    };
    g.next_offset += 1;
    s
}

/// A uniform float in [0, 1) with 24 random bits.
#[inline(always)]
pub fn u32_to_unit_f32(w: u32) -> f32 {
    (w >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// A uniform float in [0, 1) with 53 random bits.
#[inline(always)]
pub fn u64_to_unit_f64(hi: u32, lo: u32) -> f64 {
    ((((hi as u64) << 32) | lo as u64) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_known_answer() {
        // Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32_10).
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([0xffffffff; 4], [0xffffffff; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }
}
