// Helpers shared by generated kernels. Special values are built from bits and tested
// on bits, because a driver compiling with relaxed float rules may fold `x != x` away.

fn fr_nan() -> f32 { return bitcast<f32>(0x7fc00000u); }
fn fr_inf() -> f32 { return bitcast<f32>(0x7f800000u); }
fn fr_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn fr_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
