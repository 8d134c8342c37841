//! Trains the MLP of `ferrograd train` on MNIST from Rust alone (no Python):
//! 784-256-256-10 with LayerNorm, ReLU and Dropout(0.1), cross-entropy and AdamW.
//!
//!     cargo run --release --example mnist_mlp -- DATA_DIR [EPOCHS]
//!
//! DATA_DIR holds the four IDX files (train-images-idx3-ubyte[.gz], ...).

use ferrograd::nn::{Dropout, LayerNorm, Linear, Module, ReLU, Sequential};
use ferrograd::ops::cross_entropy::{cross_entropy, CrossEntropyOptions};
use ferrograd::optim::{Adam, AdamConfig, Optimizer};
use ferrograd::{DType, Tensor, TensorIndex};
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

fn accuracy(model: &Sequential, x: &Tensor, y: &Tensor) -> Result<f64, BoxError> {
    let _g = ferrograd::autograd::no_grad();
    let pred = model.forward(x)?.argmax(Some(-1), false)?;
    Ok(pred.eq_(y)?.astype(DType::F64)?.mean(None, false)?.item()?)
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        return Err(
            "usage: mnist_mlp DATA_DIR [EPOCHS] (DATA_DIR holds the MNIST IDX files)".into(),
        );
    };
    let epochs: usize = args.get(2).map_or(Ok(10), |s| s.parse())?;
    let dir = Path::new(dir);
    let (x_train, y_train) = load(dir, "train")?;
    let (x_test, y_test) = load(dir, "t10k")?;
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
    let mut opt = Adam::new(model.parameters(), AdamConfig::adamw())?;
    let options = CrossEntropyOptions::default();
    let (n, batch) = (x_train.shape()[0], 128);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let start = std::time::Instant::now();
    for epoch in 1..=epochs {
        model.train();
        let (mut total, mut steps) = (0.0, 0);
        for idx in permutation(n, &mut seed).chunks(batch) {
            let loss = cross_entropy(
                &model.forward(&rows(&x_train, idx)?)?,
                &rows(&y_train, idx)?,
                &options,
            )?;
            opt.zero_grad();
            loss.backward()?;
            opt.step()?;
            total += loss.item()?;
            steps += 1;
        }
        model.eval();
        println!(
            "epoch {epoch}/{epochs}: train loss {:.4} | test accuracy {:.4} | {:.1} s",
            total / steps as f64,
            accuracy(&model, &x_test, &y_test)?,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
