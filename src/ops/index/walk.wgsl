// Prepended (by wgpu.rs, after common.wgsl) to the kernels that walk a strided view:
// offsets, gather and scatter. Each declares its uniform `p` with a `view: Strided`
// field, which `view_offset` reads in place (a Strided passed by value would be copied
// into a local array to be indexed with a run-time dim, per thread).

// The rank of the walked view after merging, set per pipeline so the walk's loop has a
// bound the compiler knows.
override NDIM: i32 = 1;

// A view's dims after merging (device/wgpu/strided.rs: unused dims have size 1 and
// stride 0). Mirrors `Strided` in wgpu.rs.
struct Strided {
    shape: array<vec4<u32>, 2>,
    strides: array<vec4<i32>, 2>,
};

// The storage offset of element i (row-major) of the view p.view, counted from
// `start`: i is split into per-dim indices by division, last dim fastest.
fn view_offset(i: u32, start: i32) -> i32 {
    var rem = i;
    var o = start;
    for (var d = NDIM - 1; d > 0; d = d - 1) {
        let s = p.view.shape[d / 4][d % 4];
        let q = rem / s;
        o = o + i32(rem - q * s) * p.view.strides[d / 4][d % 4];
        rem = q;
    }
    return o + i32(rem) * p.view.strides[0].x;
}

// The uniform of gather and scatter (`RestParams` in wgpu.rs): `view` holds the view
// dims no index array replaces, r elements of them per index position; n is gather's
// output size and scatter's count of index positions.
struct RestParams {
    view: Strided,
    n: u32,
    r: u32,
    base: i32,
    accumulate: u32,
};
