//! Trains the MLP of `ferrograd train` on MNIST from Rust alone (no Python):
//! 784-256-256-10 with LayerNorm, ReLU and Dropout(0.1), cross-entropy and AdamW.
//!
//!     cargo run --release --example mnist_mlp -- DATA_DIR [EPOCHS] [--device cpu|wgpu]
//!
//! DATA_DIR holds the four IDX files (train-images-idx3-ubyte[.gz], ...); the subset
//! embedded in the Python package (python/ferrograd/data/embedded) works too.
//! With `--device wgpu` the model, its optimizer state and every step live on the GPU:
//! each batch is gathered on the host and uploaded once, and the loss sum stays on the
//! device until the end of the epoch.

use ferrograd::nn::{Dropout, LayerNorm, Linear, Module, ReLU, Sequential};
use ferrograd::ops::cross_entropy::{cross_entropy, CrossEntropyOptions};
use ferrograd::optim::{Adam, AdamConfig, Optimizer};
use ferrograd::{DType, Device, Tensor, TensorIndex};
use std::io::Read;
use std::path::Path;

type BoxError = Box<dyn std::error::Error>;

/// Reads an IDX file (gzipped or raw): (dims, bytes).
fn read_idx(dir: &Path, name: &str) -> Result<(Vec<usize>, Vec<u8>), BoxError> {
    let mut raw = Vec::new();
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        flate2::read::GzDecoder::new(std::fs::File::open(&gz)?).read_to_end(&mut raw)?;
    } else {
        let path = dir.join(name);
        std::fs::File::open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .read_to_end(&mut raw)?;
    }
    if raw.len() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08 {
        return Err(format!("{name}: not an IDX file of unsigned bytes").into());
    }
    let ndim = raw[3] as usize;
    let header = 4 + 4 * ndim;
    if raw.len() < header {
        return Err(format!("{name}: truncated header").into());
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(raw[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let n: usize = dims.iter().product();
    if raw.len() != header + n {
        return Err(format!(
            "{name}: expected {n} data bytes, found {}",
            raw.len() - header
        )
        .into());
    }
    Ok((dims, raw[header..].to_vec()))
}

/// Images scaled and standardised like the Python job, labels as int64.
fn load(dir: &Path, prefix: &str) -> Result<(Tensor, Tensor), BoxError> {
    let (dims, pixels) = read_idx(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let (_, labels) = read_idx(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let x: Vec<f32> = pixels
        .iter()
        .map(|&p| (p as f32 / 255.0 - 0.1307) / 0.3081)
        .collect();
    let y: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Ok((
        Tensor::from_vec(x, &[dims[0], dims[1] * dims[2]])?,
        Tensor::from_vec(y, &[dims[0]])?,
    ))
}

/// A permutation of 0..n from a small seeded generator (xorshift, Fisher-Yates).
fn permutation(n: usize, seed: &mut u64) -> Vec<i64> {
    let mut p: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        p.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
    p
}

fn rows(t: &Tensor, idx: &[i64]) -> Result<Tensor, BoxError> {
    let i = Tensor::from_vec(idx.to_vec(), &[idx.len()])?;
    Ok(t.index(&[TensorIndex::Array(i)])?)
}

/// Fraction of rows of `x` whose argmax is the label, evaluated in batches.
fn accuracy(model: &Sequential, x: &Tensor, y: &Tensor) -> Result<f64, BoxError> {
    let _g = ferrograd::autograd::no_grad();
    let pred = model.forward(x)?.argmax(Some(-1), false)?;
    // A sum of booleans is an exact int64 on either device.
    let hits = pred.eq_(y)?.sum(None, false)?.item()?;
    Ok(hits / y.shape()[0] as f64)
}

struct Args {
    dir: String,
    epochs: usize,
    device: Device,
}

const USAGE: &str = "usage: mnist_mlp DATA_DIR [EPOCHS] [--device cpu|wgpu] \
                     (DATA_DIR holds the MNIST IDX files)";

fn parse_args() -> Result<Args, BoxError> {
    let mut positional = Vec::new();
    let mut device = Device::Cpu;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--device" {
            let name = args.next().ok_or(USAGE)?;
            // Device::parse opens the adapter: a machine without one fails here, once.
            device = Device::parse(&name).map_err(|e| format!("--device {name}: {e}"))?;
        } else if a.starts_with("--") {
            return Err(format!("unknown option {a}; {USAGE}").into());
        } else {
            positional.push(a);
        }
    }
    let (dir, epochs) = match positional.as_slice() {
        [dir] => (dir.clone(), 10),
        [dir, epochs] => (dir.clone(), epochs.parse()?),
        _ => return Err(USAGE.into()),
    };
    Ok(Args {
        dir,
        epochs,
        device,
    })
}

fn main() -> Result<(), BoxError> {
    let Args {
        dir,
        epochs,
        device,
    } = parse_args()?;
    let dir = Path::new(&dir);
    let (x_train, y_train) = load(dir, "train")?;
    let (x_test, y_test) = load(dir, "t10k")?;
    // The test set is uploaded once; training batches are gathered on the host.
    let (x_test, y_test) = (x_test.to_device(device)?, y_test.to_device(device)?);
    ferrograd::manual_seed(0);

    let layer = |i, o| Linear::new(i, o, true, DType::F32);
    let norm = |n| LayerNorm::new(&[n], 1e-5, true, DType::F32);
    let mut model = Sequential::new()
        .add(layer(784, 256)?)
        .add(norm(256)?)
        .add(ReLU)
        .add(Dropout::new(0.1)?)
        .add(layer(256, 256)?)
        .add(norm(256)?)
        .add(ReLU)
        .add(Dropout::new(0.1)?)
        .add(layer(256, 10)?);
    // Move first, then build the optimizer: it holds the parameters (and its state is
    // created beside them).
    model.to_device(device)?;
    let mut opt = Adam::new(model.parameters(), AdamConfig::adamw())?;
    let options = CrossEntropyOptions::default();
    let (n, batch) = (x_train.shape()[0], 128);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let start = std::time::Instant::now();
    println!("training on {n} images on {}", device.name());
    for epoch in 1..=epochs {
        model.train();
        let mut total = Tensor::zeros_dtype(&[], DType::F32)?.to_device(device)?;
        let mut steps = 0;
        for idx in permutation(n, &mut seed).chunks(batch) {
            let x = rows(&x_train, idx)?.to_device(device)?;
            let y = rows(&y_train, idx)?.to_device(device)?;
            let loss = cross_entropy(&model.forward(&x)?, &y, &options)?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
            // Summed on the device: no readback per step.
            total = {
                let _g = ferrograd::autograd::no_grad();
                total.add(loss.detach())?
            };
            steps += 1;
        }
        model.eval();
        println!(
            "epoch {epoch}/{epochs}: train loss {:.4} | test accuracy {:.4} | {:.1} s",
            total.item()? / steps as f64,
            accuracy(&model, &x_test, &y_test)?,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
