// dst[base + offs[b] + rest(r)] = (or +=) val[b, r] for every index position b, with
// repeated offsets handled without atomics (WGSL has no float atomics) and in a fixed
// order: `perm` lists the positions b sorted by (offs[b], b) (see sort.wgsl), so the
// positions writing one destination form a run of perm. The first thread of each run
// walks it in increasing b, adding (or, for a plain write, keeping the last value)
// exactly as the CPU's serial loop does, so the results are deterministic and equal
// the CPU's bit for bit. One thread per (sorted position, rest element); val is
// contiguous in [B..., rest...] order; p.n counts the index positions. ELEM and COMBINE
// are filled in per dtype.

@group(0) @binding(0) var<uniform> p: RestParams;
@group(0) @binding(1) var<storage, read_write> dst: array<ELEM>;
@group(0) @binding(2) var<storage, read> val: array<ELEM>;
@group(0) @binding(3) var<storage, read> offs: array<i32>;
@group(0) @binding(4) var<storage, read> perm: array<u32>;

fn combine(a: ELEM, b: ELEM) -> ELEM {
    return COMBINE;
}

@compute @workgroup_size(256)
fn main(t: Thread) {
    let i = thread_index(t);
    if (i >= p.n * p.r) {
        return;
    }
    let s = i / p.r;
    let rr = i - s * p.r;
    let key = offs[perm[s]];
    if (s > 0u && offs[perm[s - 1u]] == key) {
        return;
    }
    let o = view_offset(rr, p.base + key);
    var acc = dst[u32(o)];
    for (var k = s; k < p.n; k = k + 1u) {
        let b = perm[k];
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
