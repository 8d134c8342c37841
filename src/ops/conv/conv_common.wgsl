// What the convolution GEMM kernels share: the parameters and the bounds-checked reads
// of A[z][row, k] and B[z][k, col] through the variant's `load_a` and `load_b`. The
// host appends a core (igemm.wgsl or direct.wgsl) and a variant (conv_forward.wgsl,
// conv_input_grad.wgsl or conv_weight_grad.wgsl) that says what A and B are, read
// straight from the tensors (no unfolded buffer exists), and binds C as `out`: C[z]
// is the row-major m x cols block at z * m * cols.

struct Params {
    // The convolution: x (n, c, h, w), weight (o, cg, kh, kw), y (n, o, oh, ow).
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    o: u32,
    groups: u32,
    cg: u32,
    og: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    dh: u32,
    dw: u32,
    oh: u32,
    ow: u32,
    // The GEMM of one z: (m x k) @ (k x cols).
    m: u32,
    cols: u32,
    k: u32,
    batch: u32,
    // igemm: tiles per column and row of C; direct: blocks of 4 rows, and cols.
    tiles_m: u32,
    tiles_n: u32,
    // Element offsets of the tensors bound at 1 and 2.
    off1: u32,
    off2: u32,
    // The weight gradient: samples per partial sum.
    spp: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
    _pad4: u32,
};

@group(0) @binding(0) var<uniform> p: Params;

fn a_at(z: u32, row: u32, k: u32) -> f32 {
    if (row < p.m && k < p.k) {
        return load_a(z, row, k);
    }
    return 0.0;
}

fn b_at(z: u32, k: u32, col: u32) -> f32 {
    if (k < p.k && col < p.cols) {
        return load_b(z, k, col);
    }
    return 0.0;
}
