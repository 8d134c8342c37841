// dst[base + offs[b] + rest(r)] = (or +=) val[b, r] for every index position b, with
// repeated offsets handled without atomics (WGSL has no float atomics) and in a fixed
// order: `perm` lists the positions b sorted by (offs[b], b) (see sort.wgsl), so the
// positions writing one destination form a run of perm. The first thread of each run
// walks it in increasing b, adding (or, for a plain write, keeping the last value)
// exactly as the CPU's serial loop does, so the results are deterministic and equal
// the CPU's bit for bit. One thread per (sorted position, rest element); val is
// contiguous in [B..., rest...] order. ELEM and COMBINE are filled in per dtype.

struct Params {
    rshape: array<vec4<u32>, 2>,
    rstrides: array<vec4<i32>, 2>,
    nb: u32,
    r: u32,
    base: i32,
    accumulate: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<ELEM>;
@group(0) @binding(2) var<storage, read> val: array<ELEM>;
@group(0) @binding(3) var<storage, read> offs: array<i32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;

override RNDIM: i32 = 1;

fn combine(a: ELEM, b: ELEM) -> ELEM {
    return COMBINE;
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.nb * p.r) {
        return;
    }
    let s = i / p.r;
    let rr = i - s * p.r;
    let key = offs[perm[s]];
    if (s > 0u && offs[perm[s - 1u]] == key) {
        return;
    }
    var rem = rr;
    var o = p.base + key;
    for (var d = RNDIM - 1; d > 0; d = d - 1) {
        let sz = p.rshape[d / 4][d % 4];
        let q = rem / sz;
        o = o + i32(rem - q * sz) * p.rstrides[d / 4][d % 4];
        rem = q;
    }
    o = o + i32(rem) * p.rstrides[0].x;
    var acc = dst[u32(o)];
    for (var t = s; t < p.nb; t = t + 1u) {
        let b = perm[t];
        if (offs[b] != key) {
            break;
        }
        let v = val[b * p.r + rr];
        if (p.accumulate != 0u) {
            acc = combine(acc, v);
        } else {
            acc = v;
        }
    }
    dst[u32(o)] = acc;
}
