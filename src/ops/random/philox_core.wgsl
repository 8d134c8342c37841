// Philox4x32-10 in WGSL, shared by the random fills (philox.wgsl) and dropout
// (ops/dropout/dropout.wgsl): the host prepends this file to both. The same function as
// `crate::random::philox4x32_10`, bit for bit. WGSL has no 64-bit integers, so the
// 32x32->64-bit products are built from 16-bit halves and the 64-bit block counter is
// two u32 words with a hand-made carry (`counter_add`).

const M0: u32 = 0xD2511F53u;
const M1: u32 = 0xCD9E8D57u;
const W0: u32 = 0x9E3779B9u;
const W1: u32 = 0xBB67AE85u;

// The high 32 bits of the 64-bit product a * b (the low ones are plain a * b).
fn mulhi(a: u32, b: u32) -> u32 {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    // Bits 16..31 of the product plus their carry: three terms below 2^16, no overflow.
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        let hi0 = mulhi(M0, c.x);
        let lo0 = M0 * c.x;
        let hi1 = mulhi(M1, c.z);
        let lo1 = M1 * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k = k + vec2<u32>(W0, W1);
    }
    return c;
}

// The 64-bit counter (hi, lo) = first + j, carrying into the high word.
fn counter_add(first_lo: u32, first_hi: u32, j: u32) -> vec2<u32> {
    let lo = first_lo + j;
    return vec2<u32>(lo, first_hi + select(0u, 1u, lo < j));
}
