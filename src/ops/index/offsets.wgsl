// One index array's share of the storage offsets of an advanced index: for each
// position b of the broadcast index shape B (offs is contiguous over B),
//   offs[b] (+)= normalize(idx[b]) * stride
// where idx is the int32 index array viewed (broadcast) over B, and normalize adds the
// axis size to a negative index. An index outside [-size, size) cannot raise here: it
// sets the device-side error flag (raised as an IndexError at the next read from the
// device, see device/wgpu/checks.rs) and is replaced by 0, so every later read or write
// through the offsets stays inside the tensor.

struct Params {
    shape: array<vec4<u32>, 2>,
    strides: array<vec4<i32>, 2>,
    n: u32,
    idx_offset: u32,
    size: i32,
    stride: i32,
    accumulate: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> offs: array<i32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> flag: array<atomic<u32>>;

override NDIM: i32 = 1;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.n) {
        return;
    }
    var rem = i;
    var o = i32(p.idx_offset);
    for (var d = NDIM - 1; d > 0; d = d - 1) {
        let s = p.shape[d / 4][d % 4];
        let q = rem / s;
        o = o + i32(rem - q * s) * p.strides[d / 4][d % 4];
        rem = q;
    }
    o = o + i32(rem) * p.strides[0].x;
    var j = idx[u32(o)];
    if (j < 0) {
        j = j + p.size;
    }
    if (j < 0 || j >= p.size) {
        atomicOr(&flag[0], 1u);
        j = 0;
    }
    let c = j * p.stride;
    if (p.accumulate != 0u) {
        offs[i] = offs[i] + c;
    } else {
        offs[i] = c;
    }
}
