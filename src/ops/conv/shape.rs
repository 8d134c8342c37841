//! The geometry of a 2-D window sliding over an (H, W) plane, and the shape records the
//! convolution and pooling kernels get.

/// Kernel size, stride, padding and dilation, each (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub dh: usize,
    pub dw: usize,
}

impl Window {
    pub fn new(
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
    ) -> Self {
        Window {
            kh: kernel.0,
            kw: kernel.1,
            sh: stride.0,
            sw: stride.1,
            ph: padding.0,
            pw: padding.1,
            dh: dilation.0,
            dw: dilation.1,
        }
    }

    /// The span of the dilated kernel: dilation * (kernel - 1) + 1.
    pub fn extent(&self) -> (usize, usize) {
        (self.dh * (self.kh - 1) + 1, self.dw * (self.kw - 1) + 1)
    }

    /// PyTorch's output size: floor((in + 2p - extent) / s) + 1, or with `ceil_mode` the
    /// ceiling, minus one when the last window would start in the right padding.
    /// Zero when the kernel does not fit.
    pub fn out_size(&self, (h, w): (usize, usize), ceil_mode: bool) -> (usize, usize) {
        let (eh, ew) = self.extent();
        (
            out_len(h, eh, self.sh, self.ph, ceil_mode),
            out_len(w, ew, self.sw, self.pw, ceil_mode),
        )
    }
}

fn out_len(len: usize, extent: usize, stride: usize, pad: usize, ceil_mode: bool) -> usize {
    // Signed, as PyTorch: with ceil_mode a window may start inside an input shorter
    // than the kernel (1 row, kernel 2, stride 3 gives one window, clipped).
    let (len, extent, stride, pad) = (len as i64, extent as i64, stride as i64, pad as i64);
    let span = len + 2 * pad - extent + if ceil_mode { stride - 1 } else { 0 };
    let mut out = span.div_euclid(stride) + 1;
    if ceil_mode && out > 0 && (out - 1) * stride >= len + pad {
        out -= 1;
    }
    out.max(0) as usize
}

/// A convolution of x (n, c, h, w) with weight (o, c / groups, kh, kw) giving
/// (n, o, oh, ow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub groups: usize,
    pub win: Window,
    pub oh: usize,
    pub ow: usize,
}

impl ConvShape {
    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }
    /// Output channels per group.
    pub fn og(&self) -> usize {
        self.o / self.groups
    }
    /// Rows of the unfolded input of one group: cg * kh * kw.
    pub fn patch(&self) -> usize {
        self.cg() * self.win.kh * self.win.kw
    }
    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    pub fn y_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.oh, self.ow]
    }
    pub fn w_shape(&self) -> [usize; 4] {
        [self.o, self.cg(), self.win.kh, self.win.kw]
    }
}

/// A pooling of x (n, c, h, w) giving (n, c, oh, ow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub win: Window,
    pub oh: usize,
    pub ow: usize,
}

impl PoolShape {
    pub fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    pub fn y_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.oh, self.ow]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_size_matches_pytorch_formula() {
        let w = Window::new((3, 3), (2, 2), (1, 1), (1, 1));
        assert_eq!(w.out_size((28, 28), false), (14, 14));
        // ceil_mode: 5 with k=2, s=2 gives 3 windows, the last one half outside.
        let w = Window::new((2, 2), (2, 2), (0, 0), (1, 1));
        assert_eq!(w.out_size((5, 5), false), (2, 2));
        assert_eq!(w.out_size((5, 5), true), (3, 3));
        // ceil_mode never starts a window in the right padding.
        let w = Window::new((2, 2), (2, 2), (1, 1), (1, 1));
        assert_eq!(w.out_size((4, 4), true), (3, 3));
        // 5 + 2 padding: the ceiling gives 4 windows, but the 4th would start at 6,
        // in the right padding, so it is dropped.
        assert_eq!(w.out_size((5, 5), true), (3, 3));
        let w = Window::new((3, 3), (1, 1), (0, 0), (2, 2));
        assert_eq!(w.out_size((4, 4), false), (0, 0));
        // ceil_mode keeps a window over an input shorter than the kernel (PyTorch).
        let w = Window::new((2, 2), (3, 3), (0, 0), (1, 1));
        assert_eq!(w.out_size((1, 1), true), (1, 1));
        assert_eq!(w.out_size((1, 1), false), (0, 0));
    }
}
