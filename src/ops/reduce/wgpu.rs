//! The wgpu side of reductions: one parallel tree reduction (reduce.wgsl), specialised
//! per op by a few generated WGSL functions (identity, combine, lift, finish) and run in
//! as many passes as it takes. Mean is a sum with its division fused into the last
//! pass; var and logsumexp take two reductions, the second reading the first's per-output
//! result (the mean, the max) as a shift: two-pass variance, max-shifted logsumexp.
//! Float sums accumulate in f32; the tree keeps their error at O(log n) roundings.
//! int64 lives in 32-bit words on the GPU: int64/bool sums and products whose partial
//! results leave the int32 range set the device-side overflow flag, raised at the next
//! read (the CPU would have kept 64 bits); a count of bools is exact below 2^31.

use bytemuck::{Pod, Zeroable};

use super::{ReduceKernels, ReduceOp};
use crate::backend::Wgpu;
use crate::device::wgpu::dispatch::launch;
use crate::device::wgpu::map::PRELUDE;
use crate::device::wgpu::strided::{
    check_view, collapse, pack_shape, pack_strides, to_u32, Collapsed, MAX_DIMS,
};
use crate::device::wgpu::{context, WgpuContext, WgpuStorage};
use crate::tensor::layout::Layout;
use crate::tensor::shape::numel;
use crate::tensor::{DType, Storage, Tensor};
use crate::{bail, Result};

const DRIVER: &str = include_str!("reduce.wgsl");
/// Threads per workgroup in reduce.wgsl.
const WG: u64 = 256;
/// Reductions this short run one thread per output (a workgroup each would idle).
const THREAD_MAX_RED: usize = 32;
/// Enough workgroups in flight to fill a large GPU; splitting further only adds passes.
const TARGET_GROUPS: usize = 1024;
/// The fewest elements worth a workgroup of their own (8 per thread).
const MIN_CHUNK: usize = 2048;

impl ReduceKernels for Wgpu {
    fn reduce(&self, op: ReduceOp, x: &Tensor, axes: &[usize], shape: &[usize]) -> Result<Tensor> {
        let dt = x.dtype();
        let int_out = if dt == DType::F32 {
            DType::F32
        } else {
            DType::I64
        };
        let (out, out_dt) = match op {
            ReduceOp::Sum => (reduce(Kind::Sum, x, axes, None, 0.0)?, int_out),
            ReduceOp::Prod => (reduce(Kind::Prod, x, axes, None, 0.0)?, int_out),
            ReduceOp::Mean => {
                let count = reduced_count(x, axes);
                (reduce(Kind::Mean, x, axes, None, count)?, DType::F32)
            }
            ReduceOp::Var { correction } => {
                let count = reduced_count(x, axes);
                let mean = reduce(Kind::Mean, x, axes, None, count)?;
                // NumPy divides by max(n - correction, 0) (0 gives inf or NaN).
                let denom = (count - correction).max(0.0);
                (
                    reduce(Kind::SqDev, x, axes, Some(&mean), denom)?,
                    DType::F32,
                )
            }
            ReduceOp::LogSumExp => {
                let shift = reduce(Kind::Shift, x, axes, None, 0.0)?;
                (
                    reduce(Kind::ExpShift, x, axes, Some(&shift), 0.0)?,
                    DType::F32,
                )
            }
            ReduceOp::Max => (reduce(Kind::Max, x, axes, None, 0.0)?, dt),
            ReduceOp::Min => (reduce(Kind::Min, x, axes, None, 0.0)?, dt),
            ReduceOp::ArgMax => (reduce(Kind::ArgMax, x, axes, None, 0.0)?, DType::I64),
            ReduceOp::ArgMin => (reduce(Kind::ArgMin, x, axes, None, 0.0)?, DType::I64),
            ReduceOp::All => (reduce(Kind::All, x, axes, None, 0.0)?, DType::Bool),
            ReduceOp::Any => (reduce(Kind::Any, x, axes, None, 0.0)?, DType::Bool),
        };
        let n = numel(shape);
        if out.len() != n {
            bail!(
                Runtime,
                "{} on wgpu made {} values for an output of {n}",
                op.name(),
                out.len()
            )
        }
        Ok(Tensor::from_storage(
            Storage::from_wgpu(out, out_dt, n),
            shape,
        ))
    }
}

/// Elements reduced into each output, as a float (the divisor of mean and var).
fn reduced_count(x: &Tensor, axes: &[usize]) -> f64 {
    axes.iter().map(|&a| x.shape()[a]).product::<usize>() as f64
}

/// A reduction as the kernel sees it: `ReduceOp`s, plus the two halves of var
/// (`Mean`, then `SqDev` from it) and of logsumexp (`Shift`, then `ExpShift`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Sum,
    /// The sum divided by `Params::scale`.
    Mean,
    /// Sum of (x - aux[o])^2 divided by `Params::scale`.
    SqDev,
    Prod,
    Max,
    Min,
    /// The max where it is finite, else 0 (also for an empty reduction).
    Shift,
    /// log(sum(exp(x - aux[o]))) + aux[o].
    ExpShift,
    ArgMax,
    ArgMin,
    All,
    Any,
}

/// The accumulator type, and how it is spread over the 32-bit words of a partials buffer.
#[derive(Clone, Copy)]
enum Acc {
    F32,
    I32,
    U32,
    /// `struct Acc { v: T, i: u32 }`: a value and its position (`NONE` for no element).
    Arg(&'static str),
}

impl Acc {
    fn words(self) -> usize {
        match self {
            Acc::Arg(_) => 2,
            _ => 1,
        }
    }

    /// WGSL declaring the type `Acc`.
    fn decl(self) -> String {
        match self {
            Acc::F32 => "alias Acc = f32;\n".into(),
            Acc::I32 => "alias Acc = i32;\n".into(),
            Acc::U32 => "alias Acc = u32;\n".into(),
            Acc::Arg(t) => {
                format!("struct Acc {{ v: {t}, i: u32 }}\nconst NONE: u32 = 0xffffffffu;\n")
            }
        }
    }

    /// Body of `fetch` in a later pass: the partial Acc number `idx` of src.
    fn load(self) -> String {
        match self {
            Acc::F32 => "return bitcast<f32>(src[idx]);".into(),
            Acc::I32 => "return bitcast<i32>(src[idx]);".into(),
            Acc::U32 => "return src[idx];".into(),
            Acc::Arg(t) => {
                format!("return Acc(bitcast<{t}>(src[2u * idx]), src[2u * idx + 1u]);")
            }
        }
    }

    /// Body of `emit` in a pass whose output is partials.
    fn store(self) -> String {
        match self {
            Acc::F32 | Acc::I32 => "out[i] = bitcast<u32>(a);".into(),
            Acc::U32 => "out[i] = a;".into(),
            Acc::Arg(_) => "out[2u * i] = bitcast<u32>(a.v);\nout[2u * i + 1u] = a.i;".into(),
        }
    }
}

/// The generated part of a kernel (see reduce.wgsl for the contract).
struct Spec {
    acc: Acc,
    /// An expression of type Acc.
    ident: String,
    /// Body of `comb(a: Acc, b: Acc) -> Acc`.
    comb: String,
    /// Body of the first pass's `fetch`, from the element `x` (of the input's WGSL
    /// type), the output `o`, the position `r`; may read `aux[o]`.
    lift: String,
    /// Body of `finish(a: Acc, o: u32) -> u32`: the output word; may read `aux[o]`.
    finish: String,
    lift_aux: bool,
    finish_aux: bool,
}

/// `return ...;` of the word holding an f32 expression.
fn f32_word(e: &str) -> String {
    format!("return bitcast<u32>({e});")
}

fn spec(kind: Kind, dt: DType) -> Result<Spec> {
    let el = crate::device::wgpu::map::wgsl_type(dt)?;
    let float = dt == DType::F32;
    let plain = |acc: Acc, ident: &str, comb: &str, lift: &str, finish: String| Spec {
        acc,
        ident: ident.into(),
        comb: comb.into(),
        lift: lift.into(),
        finish,
        lift_aux: false,
        finish_aux: false,
    };
    let word = "return bitcast<u32>(a);".to_string();
    Ok(match kind {
        Kind::Sum if float => plain(Acc::F32, "0.0", "return a + b;", "return x;", word),
        // int64 and bool sum to int64 (as int32 words): a partial past int32 sets the
        // device-side overflow flag (see `Spec::checked`).
        Kind::Sum => plain(
            Acc::I32,
            "0",
            "return fr_iadd(a, b);",
            "return i32(x);",
            word,
        ),
        Kind::Prod if float => plain(Acc::F32, "1.0", "return a * b;", "return x;", word),
        Kind::Prod => plain(
            Acc::I32,
            "1",
            "return fr_imul(a, b);",
            "return i32(x);",
            word,
        ),
        Kind::Mean => plain(
            Acc::F32,
            "0.0",
            "return a + b;",
            "return f32(x);",
            f32_word("fr_div(a, p.scale)"),
        ),
        Kind::SqDev => Spec {
            lift_aux: true,
            ..plain(
                Acc::F32,
                "0.0",
                "return a + b;",
                "let d = f32(x) - aux[o];\nreturn d * d;",
                f32_word("fr_div(a, p.scale)"),
            )
        },
        Kind::Shift => plain(
            Acc::F32,
            "-fr_inf()",
            "return fr_max_nan(a, b);",
            "return f32(x);",
            f32_word("select(0.0, a, !fr_isnan(a) && !fr_isinf(a))"),
        ),
        Kind::ExpShift => Spec {
            lift_aux: true,
            finish_aux: true,
            ..plain(
                Acc::F32,
                "0.0",
                "return a + b;",
                "return exp(f32(x) - aux[o]);",
                f32_word("fr_log_sum(a) + aux[o]"),
            )
        },
        Kind::Max | Kind::Min => {
            let max = kind == Kind::Max;
            let (acc, ident, comb) = match dt {
                DType::F32 if max => (Acc::F32, "-fr_inf()", "return fr_max_nan(a, b);"),
                DType::F32 => (Acc::F32, "fr_inf()", "return fr_min_nan(a, b);"),
                DType::I64 if max => (Acc::I32, "i32(-2147483647 - 1)", "return max(a, b);"),
                DType::I64 => (Acc::I32, "2147483647", "return min(a, b);"),
                _ if max => (Acc::U32, "0u", "return max(a, b);"),
                _ => (Acc::U32, "1u", "return min(a, b);"),
            };
            let finish = if dt == DType::Bool {
                "return a;".to_string()
            } else {
                word
            };
            plain(acc, ident, comb, "return x;", finish)
        }
        Kind::ArgMax | Kind::ArgMin => {
            let cmp = if kind == Kind::ArgMax { ">" } else { "<" };
            // NaN beats every number (the first NaN wins), as on the CPU.
            let nan = if float {
                "let an = fr_isnan(a.v);\nlet bn = fr_isnan(b.v);\n\
                 if (an != bn) { if (an) { return a; } return b; }\n\
                 if (an) { if (a.i < b.i) { return a; } return b; }\n"
            } else {
                ""
            };
            let comb = format!(
                "if (a.i == NONE) {{ return b; }}\nif (b.i == NONE) {{ return a; }}\n{nan}\
                 if (a.v {cmp} b.v) {{ return a; }}\nif (b.v {cmp} a.v) {{ return b; }}\n\
                 if (a.i < b.i) {{ return a; }}\nreturn b;"
            );
            Spec {
                acc: Acc::Arg(el),
                ident: format!("Acc({el}(0), NONE)"),
                comb,
                lift: "return Acc(x, r);".into(),
                finish: "return a.i;".into(),
                lift_aux: false,
                finish_aux: false,
            }
        }
        Kind::All | Kind::Any => {
            let (ident, comb) = if kind == Kind::All {
                ("1u", "return a & b;")
            } else {
                ("0u", "return a | b;")
            };
            // Truthiness by bits for floats: -0.0 is false, NaN true.
            let lift = match dt {
                DType::F32 => "return select(0u, 1u, (bitcast<u32>(x) & 0x7fffffffu) != 0u);",
                DType::I64 => "return select(0u, 1u, x != 0);",
                _ => "return select(0u, 1u, x != 0u);",
            };
            plain(Acc::U32, ident, comb, lift, "return a;".into())
        }
    })
}

/// The input element at word `idx` of src, as its WGSL type.
fn element(dt: DType) -> &'static str {
    match dt {
        DType::F32 => "bitcast<f32>(src[idx])",
        DType::I64 => "bitcast<i32>(src[idx])",
        _ => "src[idx]",
    }
}

/// Which pass of a reduction: the first reads input elements, the last writes outputs.
#[derive(Clone, Copy)]
struct Stage {
    first: bool,
    last: bool,
}

/// The elementwise math and the overflow-checked int64 helpers, for checked kernels
/// (the bindings are declared in `source`).
const CHECKED: &str = concat!(
    include_str!("../elementwise/math.wgsl"),
    include_str!("../elementwise/checked.wgsl")
);

impl Spec {
    /// Whether the combine uses the overflow-checked int64 helpers, which report into
    /// the device-side error flag (bound at binding 4; see device/wgpu/checks.rs).
    fn checked(&self) -> bool {
        self.comb.contains("fr_iadd") || self.comb.contains("fr_imul")
    }

    fn uses_aux(&self, s: Stage) -> bool {
        (s.first && self.lift_aux) || (s.last && self.finish_aux)
    }

    /// The full WGSL of one pass. Only what the pass calls is generated, so the aux
    /// buffer is declared exactly when the pass reads it (the bind group follows).
    fn source(&self, dt: DType, s: Stage) -> Result<String> {
        let el = crate::device::wgpu::map::wgsl_type(dt)?;
        let mut w = String::with_capacity(8192);
        w.push_str(PRELUDE);
        w.push_str(&self.acc.decl());
        w.push_str(&format!("fn ident() -> Acc {{ return {}; }}\n", self.ident));
        w.push_str(&format!(
            "fn comb(a: Acc, b: Acc) -> Acc {{\n{}\n}}\n",
            self.comb
        ));
        if self.uses_aux(s) {
            w.push_str("@group(0) @binding(3) var<storage, read> aux: array<f32>;\n");
        }
        if self.checked() {
            // Bound after src, out (and aux when this pass reads it).
            let binding = 3 + u32::from(self.uses_aux(s));
            w.push_str(CHECKED);
            w.push_str(&format!(
                "@group(0) @binding({binding}) var<storage, read_write> fr_flag: array<atomic<u32>>;\n"
            ));
        }
        if s.first {
            w.push_str(&format!(
                "fn fetch(o: u32, r: u32, idx: u32) -> Acc {{\nlet x: {el} = {};\n{}\n}}\n",
                element(dt),
                self.lift
            ));
        } else {
            w.push_str(&format!(
                "fn fetch(o: u32, r: u32, idx: u32) -> Acc {{\n{}\n}}\n",
                self.acc.load()
            ));
        }
        if s.last {
            w.push_str(&format!(
                "fn finish(a: Acc, o: u32) -> u32 {{\n{}\n}}\nfn emit(i: u32, o: u32, a: Acc) {{ out[i] = finish(a, o); }}\n",
                self.finish
            ));
        } else {
            w.push_str(&format!(
                "fn emit(i: u32, o: u32, a: Acc) {{\n{}\n}}\n",
                self.acc.store()
            ));
        }
        w.push_str(DRIVER);
        Ok(w)
    }
}

/// Mirrors `Params` in reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    out_shape: [u32; MAX_DIMS],
    out_strides: [i32; MAX_DIMS],
    red_shape: [u32; MAX_DIMS],
    red_strides: [i32; MAX_DIMS],
    n_out: u32,
    n_red: u32,
    offset: u32,
    chunks: u32,
    chunk_len: u32,
    scale: f32,
    _pad: [u32; 2],
}

/// One pass: reduce `red` (per output of `kept`) from a buffer, writing `chunks`
/// partials (or, in the last pass, one output) per output.
struct Pass {
    kept: Collapsed,
    red: Collapsed,
    offset: usize,
    n_out: usize,
    n_red: usize,
}

impl Pass {
    fn params(&self, chunks: usize, chunk_len: usize, scale: f32) -> Result<Params> {
        Ok(Params {
            out_shape: pack_shape(&self.kept.shape)?,
            out_strides: pack_strides(&self.kept.strides[0])?,
            red_shape: pack_shape(&self.red.shape)?,
            red_strides: pack_strides(&self.red.strides[0])?,
            n_out: to_u32(self.n_out)?,
            n_red: to_u32(self.n_red)?,
            offset: to_u32(self.offset)?,
            chunks: to_u32(chunks)?,
            chunk_len: to_u32(chunk_len)?,
            scale,
            _pad: [0; 2],
        })
    }

    /// The pipeline of `kind` over `dt` for this stage and `mode` (0 = workgroup per
    /// output, 1 = thread per output), specialised to this pass's ranks.
    fn pipeline(
        &self,
        ctx: &WgpuContext,
        spec: &Spec,
        key: &str,
        dt: DType,
        s: Stage,
        mode: u32,
    ) -> Result<::wgpu::ComputePipeline> {
        let (o, r) = (self.kept.shape.len(), self.red.shape.len());
        let key = format!(
            "reduce:{key}:first={}:last={}:mode={mode}:{o}d:{r}d",
            s.first, s.last
        );
        let constants = [
            ("MODE", mode as f64),
            ("OUT_NDIM", o as f64),
            ("RED_NDIM", r as f64),
        ];
        // The source is only generated on a cache miss, but spec errors surface first.
        let source = spec.source(dt, s)?;
        ctx.pipeline(&key, || source, &constants)
    }

    /// Chunks per output and elements per chunk: only split when there are too few
    /// outputs to fill the GPU, and never into chunks below MIN_CHUNK elements.
    fn chunking(&self) -> (usize, usize) {
        let chunks = if self.n_out >= TARGET_GROUPS {
            1
        } else {
            self.n_red
                .div_ceil(MIN_CHUNK)
                .min(TARGET_GROUPS.div_ceil(self.n_out))
                .max(1)
        };
        let chunk_len = self.n_red.div_ceil(chunks).max(1);
        (self.n_red.div_ceil(chunk_len), chunk_len)
    }
}

/// `kind` over `axes` of the wgpu tensor `x` (a strided view), into one contiguous word
/// per output (row-major over the kept dims). `aux` holds one f32 per output for the
/// kinds that read a shift; `scale` is the divisor of Mean and SqDev.
pub(crate) fn reduce(
    kind: Kind,
    x: &Tensor,
    axes: &[usize],
    aux: Option<&WgpuStorage>,
    scale: f64,
) -> Result<WgpuStorage> {
    reduce_view(
        kind,
        x.dtype(),
        x.storage().wgpu()?,
        x.layout(),
        axes,
        aux,
        scale,
    )
}

/// `reduce` on a buffer and a layout.
pub(crate) fn reduce_view(
    kind: Kind,
    dt: DType,
    a: &WgpuStorage,
    la: &Layout,
    axes: &[usize],
    aux: Option<&WgpuStorage>,
    scale: f64,
) -> Result<WgpuStorage> {
    let ndim = la.shape.len();
    if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&ax| ax >= ndim) {
        bail!(
            Axis,
            "reduction axes {axes:?} must be sorted, unique and below {ndim}"
        )
    }
    check_view(a, la)?;
    let spec = spec(kind, dt)?;
    let (mut ks, mut kt, mut rs, mut rt) = (vec![], vec![], vec![], vec![]);
    for d in 0..ndim {
        if axes.contains(&d) {
            rs.push(la.shape[d]);
            rt.push(la.strides[d]);
        } else {
            ks.push(la.shape[d]);
            kt.push(la.strides[d]);
        }
    }
    let (n_out, n_red) = (numel(&ks), numel(&rs));
    let needs_aux = spec.lift_aux || spec.finish_aux;
    match aux {
        Some(x) if needs_aux && x.len() == n_out => {}
        None if !needs_aux => {}
        _ => bail!(
            Runtime,
            "{kind:?} reduction on wgpu got the wrong shift buffer for {n_out} outputs"
        ),
    }
    if n_out == 0 {
        return WgpuStorage::uninit(0);
    }
    let first = Pass {
        kept: collapse(&ks, &[&kt]),
        red: collapse(&rs, &[&rt]),
        offset: la.offset,
        n_out,
        n_red,
    };
    let run = Run {
        ctx: context()?,
        spec: &spec,
        key: format!("{kind:?}:{dt}"),
        dt,
        aux,
        scale: scale as f32,
    };
    run.record(&a.buffer, first)
}

/// Workgroups to launch for `want` workgroups' worth of work: at most what one grid
/// holds (x and y at the device's limit); the kernels loop over the rest.
pub(crate) fn capped(ctx: &WgpuContext, want: u64) -> u64 {
    let max = ctx.grid_limit().max(1) as u64;
    want.min(max * max)
}

/// What stays fixed over the passes of one reduction.
struct Run<'a> {
    ctx: &'static WgpuContext,
    spec: &'a Spec,
    key: String,
    dt: DType,
    aux: Option<&'a WgpuStorage>,
    scale: f32,
}

impl Run<'_> {
    /// Records one pass writing `slots` accumulators (or outputs) to a new buffer.
    fn launch(
        &self,
        src: &::wgpu::Buffer,
        pass: &Pass,
        stage: Stage,
        mode: u32,
        chunks: usize,
        chunk_len: usize,
    ) -> Result<WgpuStorage> {
        let slots = pass.n_out * chunks;
        let words = if stage.last { 1 } else { self.spec.acc.words() };
        let out = WgpuStorage::uninit(slots * words)?;
        let p = pass.params(chunks, chunk_len, self.scale)?;
        let pipeline = pass.pipeline(self.ctx, self.spec, &self.key, self.dt, stage, mode)?;
        let mut bufs = vec![src, &out.buffer];
        if self.spec.uses_aux(stage) {
            bufs.push(&self.aux.expect("checked by reduce_view").buffer);
        }
        if self.spec.checked() {
            bufs.push(&crate::device::wgpu::checks::flag()?.buffer);
        }
        let groups = capped(
            self.ctx,
            if mode == 1 {
                (pass.n_out as u64).div_ceil(WG)
            } else {
                slots as u64
            },
        );
        launch(self.ctx, &pipeline, bytemuck::bytes_of(&p), &bufs, groups)?;
        if self.spec.checked() {
            crate::device::wgpu::checks::arm();
        }
        Ok(out)
    }

    /// Records passes until one writes a single value per output; each later pass
    /// reduces the contiguous (n_out, chunks) partials of the one before.
    fn record(&self, input: &::wgpu::Buffer, mut pass: Pass) -> Result<WgpuStorage> {
        // The partials of the previous pass stay owned here while the next pass reads
        // them, so the caching allocator cannot hand their buffer to that pass's output.
        let mut prev: Option<WgpuStorage> = None;
        let mut first = true;
        loop {
            let src = prev.as_ref().map_or(input, |p| &p.buffer);
            if pass.n_red <= THREAD_MAX_RED {
                let stage = Stage { first, last: true };
                return self.launch(src, &pass, stage, 1, 1, pass.n_red);
            }
            let (chunks, chunk_len) = pass.chunking();
            let stage = Stage {
                first,
                last: chunks == 1,
            };
            let out = self.launch(src, &pass, stage, 0, chunks, chunk_len)?;
            if chunks == 1 {
                return Ok(out);
            }
            let n_out = pass.n_out;
            pass = Pass {
                kept: collapse(&[n_out], &[&[chunks as isize][..]]),
                red: collapse(&[chunks], &[&[1isize][..]]),
                offset: 0,
                n_out,
                n_red: chunks,
            };
            prev = Some(out);
            first = false;
        }
    }
}
