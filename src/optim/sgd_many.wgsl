// The per-tensor body of the grouped SGD kernel (wgpu_many.rs): the generator copies it
// once per tensor K of the group, replacing `$K` with the tensor's index. The arithmetic
// and its order are exactly sgd.wgsl's. Tensor K's entry in the uniform:
//   t = (n, p_off, g_off, b_off); bit K of u.firsts: its first momentum step.

fn upd_$K(i: u32) {
    let t = u.t[$K];
    if (i >= t.x) {
        return;
    }
    let pi = p_$K[t.y + i];
    var d = g_$K[t.z + i];
    if ((u.flags & 1u) != 0u) {
        d = d + u.wd * pi;
    }
    //MOM    var bi = d;
    //MOM    if (((u.firsts >> $Ku) & 1u) == 0u) {
    //MOM        bi = u.mom * buf_$K[t.w + i] + u.damp1 * d;
    //MOM    }
    //MOM    buf_$K[t.w + i] = bi;
    //MOM    if ((u.flags & 4u) != 0u) {
    //MOM        d = d + u.mom * bi;
    //MOM    } else {
    //MOM        d = bi;
    //MOM    }
    p_$K[t.y + i] = pi + u.neg_lr * d;
}
