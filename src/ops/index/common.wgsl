// Prepended (by wgpu.rs) to every kernel of the indexing family: the thread numbering
// they all share.

// The builtins a 256-thread kernel numbers its threads from.
struct Thread {
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
};

// The linear thread number: workgroups count x first, then y, because a launch past
// 65,535 workgroups spills into y (device/wgpu/dispatch.rs). The caller returns early
// for numbers past its element count.
fn thread_index(t: Thread) -> u32 {
    return (t.wid.x + t.wid.y * t.nwg.x) * 256u + t.lid;
}

// The uniform of the kernels whose only parameter is an element count (ramp,
// nonzero_count), padded to the 16 bytes a uniform block takes.
struct CountParams {
    n: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};
