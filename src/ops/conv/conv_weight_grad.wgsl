// conv2d's weight gradient: z = (part, group); C[z] (og x cg*kh*kw) = sum over the
// samples of the part and their output pixels of gy (og x pixels) @ patches^T. The
// reduction index k runs over (sample of the part, output pixel). The parts' sums are
// added in a fixed order afterwards (sum_parts.wgsl), so the result is deterministic.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The sample of reduction index k in part z / groups, or n past the batch.
fn sample_of(z: u32, k: u32) -> u32 {
    let pix = p.oh * p.ow;
    return min((z / p.groups) * p.spp + k / pix, p.n);
}

fn load_a(z: u32, row: u32, k: u32) -> f32 {
    let ns = sample_of(z, k);
    if (ns >= p.n) {
        return 0.0;
    }
    let pix = p.oh * p.ow;
    let g = z % p.groups;
    return gy[p.off2 + ((ns * p.groups + g) * p.og + row) * pix + k % pix];
}

fn load_b(z: u32, k: u32, col: u32) -> f32 {
    let ns = sample_of(z, k);
    if (ns >= p.n) {
        return 0.0;
    }
    let pix = p.oh * p.ow;
    let g = z % p.groups;
    return x_patch(p.off1 + (ns * p.groups + g) * p.cg * p.h * p.w, col, k % pix);
}
