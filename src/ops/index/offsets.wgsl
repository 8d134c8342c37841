// One index array's share of the storage offsets of an advanced index: for each
// position b of the broadcast index shape B (offs is contiguous over B),
//   offs[b] (+)= normalize(idx[b]) * stride
// where idx is the int32 index array viewed (broadcast) over B, and normalize adds the
// axis size to a negative index. An index outside [-size, size) cannot raise here: it
// sets the device-side error flag (raised as an IndexError at the next read from the
// device, see device/wgpu/checks.rs) and is replaced by 0, so every later read or write
// through the offsets stays inside the tensor.

struct Params {
    // The index array's view, broadcast over B.
    view: Strided,
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

@compute @workgroup_size(256)
fn main(t: Thread) {
    let i = thread_index(t);
    if (i >= p.n) {
        return;
    }
    var j = idx[u32(view_offset(i, i32(p.idx_offset)))];
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
