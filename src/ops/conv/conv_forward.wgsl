// conv2d: z = (sample, group); C[z] = W[group] (og x cg*kh*kw) @ patches (cg*kh*kw x
// oh*ow), stored as y's (og, oh*ow) block of that sample and group, which is the z-th
// block since o = groups * og.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn load_a(z: u32, row: u32, k: u32) -> f32 {
    let g = z % p.groups;
    return wt[p.off2 + (g * p.og + row) * p.k + k];
}

fn load_b(z: u32, k: u32, col: u32) -> f32 {
    // Sample z / groups, group z % groups starts at channel z * cg (c = groups * cg).
    return x_patch(p.off1 + z * p.cg * p.h * p.w, k, col);
}
