"""The kernels' loops, written in the subset of Python that numba compiles.

Nothing here imports numba: `zen.kernels` compiles each loop on first use
(`numba.njit(cache=True, nogil=True)`). Run as plain Python they are
correct but slow, and nothing calls them so.

Every loop takes C-contiguous arrays (the wrappers in `zen.kernels` make
them so), writes its results into arrays it is given, and runs over the
whole of its outer axis: `for i in range(n)` (numba vectorises such a loop
where one over range(start, stop) measured 5x slower, scalar). The
reductions over rows (a column sum per channel) run in blocks of `chunk`
rows, each block into its own row of a float64 `partial` array that the
caller sums, so that a sum's order depends on the row count alone.
"""
import math

import numpy as np

from ..blas import NO_TRANSPOSE, ROW_MAJOR, TRANSPOSE

HELPERS = ("exp_negative", "tanh_float32", "row_max", "row_dot", "row_total",
           "row_centred_squares", "softmax_row", "softmax_row_float32", "softmax_row_backward",
           "matrix_product", "add_transposed_product", "_causal_split", "product",
           "attention_logits", "attention_output",
           "lstm_backward_step",
           "gru_backward_step")  # called by other loops: compiled first, in place of these names

# W. J. Cody's erf/erfc coefficients, as zen.autodiff.special has them (see there).
_A = np.array((3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
               3.20937758913846947e03, 1.85777706184603153e-1))
_B = np.array((2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
               2.84423683343917062e03))
_C = np.array((5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
               2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
               2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8))
_D = np.array((1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
               1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
               3.43936767414372164e03, 1.23033935480374942e03))
_P = np.array((3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
               1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2))
_Q = np.array((2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
               6.05183413124413191e-2, 2.33520497626869185e-3))
# the Mills-ratio polynomial of zen.autodiff.special's float32 path
_M0, _M1, _M2, _M3, _M4, _M5, _M6, _M7, _M8, _M9 = (
    1.218361191, -2.419571714e-1, -4.118905972e-2, 1.132212618e-1, -5.697467023e-2,
    2.822242298e-3, 7.506048136e-3, -6.520097742e-4, -1.115758081e-3, -1.607091097e-4)

# exp(x) = 2^m exp(r), r = x - m ln 2 (ln 2 in two parts: m ln2_hi is exact), for
# the float32 kernels: exp(r) from its Taylor polynomial of degree 8 (relative
# error 3e-10 on |r| <= ln(2)/2, 1/200 of a float32 ulp), 2^m from its bits, so
# that the loops vectorise (a call of math.exp does not)
_LOG2E = 1.4426950408889634
_LN2_HI = 0.693147180369123816490
_LN2_LO = 1.90821492927058770002e-10
_EXP_FLOOR = -708.0   # 2^m stays a normal float64 above this; exp is 0 in float32 below
_SHIFTER = 6755399441055744.0                    # 1.5 2^52
_SHIFTER_BITS = int(np.float64(_SHIFTER).view(np.int64))

# tanh in float32 arithmetic (`tanh_float32`): exp(-2|x|) = 2^m exp(r) as above,
# ln 2 split so that m ln2_hi is exact for |m| < 2^8, exp(r) from its Taylor
# polynomial of degree 7 (relative error 4e-9 on |r| <= ln(2)/2); below
# |x| = 0.625, tanh(x) = x + x s P(s), s = x^2, P a least-squares fit of degree
# 5 on Chebyshev points of [0, 0.625^2] (made in float64, rounded to float32)
_F32 = np.float32
_LOG2E_32 = _F32(1.4426950408889634)
_LN2_HI_32 = _F32(0.693145751953125)
_LN2_LO_32 = _F32(1.428606765330187e-06)
_SHIFTER_32 = _F32(12582912.0)                   # 1.5 2^23
_SHIFTER_BITS_32 = int(_SHIFTER_32.view(np.int32))
_EXP_FLOOR_32 = _F32(-87.0)                      # exp(-87) is still a normal float32
_TANH_SERIES_BELOW = _F32(0.625)
_T0, _T1, _T2, _T3, _T4, _T5 = (_F32(c) for c in (
    -0.3333333432674408, 0.13333304226398468, -0.05395941063761711, 0.021769987419247627,
    -0.008347045630216599, 0.002295898040756583))
_E2, _E3, _E4, _E5, _E6, _E7 = (_F32(1 / math.factorial(k)) for k in range(2, 8))

_NEAR = 0.46875
_TAIL = 4.0
_UNDERFLOW = 27.3
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_SQRT_2 = math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def gelu_float64(x, out, derivative, with_derivative):
    """out = x Phi(x) and, with `with_derivative`, derivative = Phi(x) + x phi(x)
    over flat float64 arrays; Phi = erfc(-x / sqrt 2) / 2 by Cody's erfc,
    operation for operation as zen.autodiff.special computes it."""
    for i in range(x.shape[0]):
        value = x[i]
        v = -value / _SQRT_2
        y = abs(v)
        if y <= _NEAR:  # erfc(v) = 1 - erf(v) = 1 - v R1(v^2)
            z = v * v
            top, bottom = _A[4] * z, z
            for k in range(3):
                top = (top + _A[k]) * z
                bottom = (bottom + _B[k]) * z
            erfc = 1 - v * ((top + _A[3]) / (bottom + _B[3]))
        else:
            if y > _UNDERFLOW:
                y = _UNDERFLOW
            if y <= _TAIL:
                top, bottom = _C[8] * y, y
                for k in range(7):
                    top = (top + _C[k]) * y
                    bottom = (bottom + _D[k]) * y
                ratio = (top + _C[7]) / (bottom + _D[7])
            else:
                w = 1 / (y * y)
                top, bottom = _P[5] * w, w
                for k in range(4):
                    top = (top + _P[k]) * w
                    bottom = (bottom + _Q[k]) * w
                ratio = (_INV_SQRT_PI - w * ((top + _P[4]) / (bottom + _Q[4]))) / y
            head = math.trunc(y * 16) / 16
            tail = ratio * (math.exp(-head * head) * math.exp(-(y - head) * (y + head)))
            erfc = 2 - tail if v < 0 else tail
        cdf = 0.5 * erfc
        out[i] = value * cdf
        if with_derivative:
            pdf = math.exp((value * value) * -0.5) * _INV_SQRT_2PI
            derivative[i] = pdf * value + cdf


def gelu_float32(x, out, derivative, with_derivative):
    """out = x Phi(x) and, with `with_derivative`, Phi(x) + x phi(x), over
    flat float32 arrays: Phi from phi and the Mills ratio as in
    zen.autodiff.special's float32 path, but in float64 arithmetic, each
    result rounded to float32 once; phi through `exp_negative`. No branch in
    the loop, so that it vectorises, and one division (a vector division
    costs as much as the rest): 1 / (z + 3) and 1 / (z + 1) from 1 / ((z +
    3)(z + 1)), z capped at 64 (beyond it phi is 0 in float64 anyway)."""
    for i in range(x.shape[0]):
        value = np.float64(x[i])
        pdf = exp_negative((value * value) * -0.5) * _INV_SQRT_2PI
        z = abs(value)
        z = z if z < 64.0 else 64.0
        inverse = 1 / ((z + 3) * (z + 1))
        q = 1 - 6 * ((z + 1) * inverse)                 # 1 - 6 / (z + 3)
        tail = ((((((((q * _M9 + _M8) * q + _M7) * q + _M6) * q + _M5) * q + _M4) * q
                  + _M3) * q + _M2) * q + _M1) * q       # Horner, unrolled
        tail = (tail + _M0) * ((z + 3) * inverse) * pdf  # Phi(-|x|)
        sign = np.float64(value > 0) - np.float64(value < 0)
        cdf = 0.5 * (1 + sign) - sign * tail              # NaN: 0.5 - 0 * NaN
        out[i] = value * cdf
        if with_derivative:
            derivative[i] = pdf * value + cdf


def exp_negative(x):
    """exp(x) for x <= 0 (float64), to 3e-10 relative: enough for a float32
    result, inline in loops that vectorise (a call of math.exp does not). 0
    below `_EXP_FLOOR`; NaN stays NaN.

    m = round(x / ln 2) comes from adding 1.5 2^52, which leaves m in the low
    bits of the sum: no float-to-integer conversion (which AVX2 lacks); 2^m is
    built from its bits."""
    clamped = _EXP_FLOOR if x < _EXP_FLOOR else x
    shifted = clamped * _LOG2E + _SHIFTER
    m = shifted - _SHIFTER
    r = (clamped - m * _LN2_HI) - m * _LN2_LO
    poly = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
        1 / 720 + r * (1 / 5040 + r * (1 / 40320))))))))
    scale = np.int64((np.float64(shifted).view(np.int64) - _SHIFTER_BITS + 1023) << 52)
    return 0.0 if x < _EXP_FLOOR else poly * scale.view(np.float64)


def tanh_float32(x):
    """tanh of a float32 in float32 arithmetic, branch-free so that loops
    over it vectorise (numba's math.tanh is a call per element): within 1.5
    float32 ulps of the exact value (numpy's float32 tanh: 1.4), NaN stays
    NaN. (1 - e) / (1 + e) with e = exp(-2|x|) from `_LN2_HI_32` and a
    polynomial; below `_TANH_SERIES_BELOW` the odd series, where 1 - e
    would lose bits."""
    one = _F32(1)
    a = abs(x)
    v = _F32(-2) * a
    v = v if v > _EXP_FLOOR_32 else _EXP_FLOOR_32
    shifted = v * _LOG2E_32 + _SHIFTER_32
    m = shifted - _SHIFTER_32
    r = (v - m * _LN2_HI_32) - m * _LN2_LO_32
    poly = one + r * (one + r * (_E2 + r * (_E3 + r * (_E4 + r * (_E5 + r * (_E6 + r * _E7))))))
    scale = np.int32((np.float32(shifted).view(np.int32) - _SHIFTER_BITS_32 + 127) << 23)
    e = poly * scale.view(np.float32)
    far = (one - e) / (one + e)
    s = a * a
    near = a + a * s * (_T0 + s * (_T1 + s * (_T2 + s * (_T3 + s * (_T4 + s * _T5)))))
    t = near if a < _TANH_SERIES_BELOW else far
    return x if x != x else math.copysign(t, x)  # -0.0 keeps its sign


def layer_norm_forward(rows, gamma, beta, epsilon, out, x_hat, inv_std):
    """Per row of `rows` (n, f): its mean (accumulated in float64), inverse
    standard deviation inv_std[i] = 1 / sqrt(var + epsilon), x_hat = (x -
    mean) inv_std and out = x_hat gamma + beta."""
    n, features = rows.shape
    for i in range(n):
        mean = row_total(rows, i, features) / features
        squares = row_centred_squares(rows, i, mean)
        inv_std[i] = 1 / math.sqrt(squares / features + epsilon)
        scale = np.float64(inv_std[i])
        for j in range(features):
            x_hat[i, j] = (rows[i, j] - mean) * scale
            out[i, j] = x_hat[i, j] * gamma[j] + beta[j]


def layer_norm_backward(g, x_hat, gamma, inv_std, d_x, partial_gamma, partial_beta, chunk):
    """d_x = (h - mean(h) - x_hat mean(h x_hat)) inv_std per row, h = g gamma;
    and, per block of `chunk` rows c, partial_gamma[c] = sum g x_hat and
    partial_beta[c] = sum g over the block's rows. Products in g's dtype (as
    the numpy path forms them), every sum in float64."""
    n, features = g.shape
    like = d_x.dtype.type
    for c in range(partial_gamma.shape[0]):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            sum_h = sum_h_x_hat = 0.0
            for j in range(features):
                h = g[i, j] * gamma[j]
                sum_h += h
                sum_h_x_hat += h * x_hat[i, j]
                partial_gamma[c, j] += g[i, j] * x_hat[i, j]
                partial_beta[c, j] += g[i, j]
            mean_h, mean_h_x_hat = like(sum_h / features), like(sum_h_x_hat / features)
            for j in range(features):
                d_x[i, j] = (g[i, j] * gamma[j] - mean_h - x_hat[i, j] * mean_h_x_hat) * inv_std[i]


def channel_sums(rows, partial, chunk):
    """partial[c, j] = the sum of rows[i, j] over block c of `chunk` rows, in float64."""
    n, channels = rows.shape
    for c in range(partial.shape[0]):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            for j in range(channels):
                partial[c, j] += rows[i, j]


def centred_square_sums(rows, mean, partial, chunk):
    """partial[c, j] = the sum of (rows[i, j] - mean[j])^2 over block c, the
    difference in rows' dtype (as numpy forms it), its square in float64."""
    n, channels = rows.shape
    for c in range(partial.shape[0]):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            for j in range(channels):
                centred = np.float64(rows[i, j] - mean[j])
                partial[c, j] += centred * centred


def batch_norm_forward(rows, mean, inv_std, gamma, beta, out):
    """out = x_hat gamma + beta per channel (the last axis), x_hat = (x -
    mean) inv_std, in rows' dtype, operation for operation as numpy does it.
    x_hat is not kept: the backward loops form it again from x."""
    n, channels = rows.shape
    for i in range(n):
        for j in range(channels):
            out[i, j] = ((rows[i, j] - mean[j]) * inv_std[j]) * gamma[j] + beta[j]


def gradient_sums(g, rows, mean, inv_std, partial_beta, partial_gamma, chunk):
    """Per block c of `chunk` rows: partial_beta[c] = sum g and partial_gamma[c]
    = sum g x_hat, x_hat = (x - mean) inv_std as `batch_norm_forward` forms
    it, the sums in float64 (batch norm's d_beta and d_gamma)."""
    n, channels = g.shape
    for c in range(partial_beta.shape[0]):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            for j in range(channels):
                value = np.float64(g[i, j])
                partial_beta[c, j] += value
                partial_gamma[c, j] += value * ((rows[i, j] - mean[j]) * inv_std[j])


def batch_norm_input_gradient(g, rows, mean, inv_std, slope, shift, scale, d_x):
    """d_x = (x_hat slope + g - shift) scale per channel, x_hat = (x - mean)
    inv_std, in g's dtype, in numpy's order of operations (slope = -d_gamma
    / m, shift = d_beta / m, scale = gamma inv_std)."""
    n, channels = g.shape
    for i in range(n):
        for j in range(channels):
            x_hat = (rows[i, j] - mean[j]) * inv_std[j]
            d_x[i, j] = (x_hat * slope[j] + g[i, j] - shift[j]) * scale[j]


def row_max(rows, i, k):
    """The largest value of rows[i, :k] (NaN where rows[i, 0] is: the NaN
    then spreads through the softmax anyway), in four interleaved runs."""
    t0 = t1 = t2 = t3 = rows[i, 0]
    j = 1
    while j + 3 < k:
        a, b, c, d = rows[i, j], rows[i, j + 1], rows[i, j + 2], rows[i, j + 3]
        t0 = a if a > t0 else t0
        t1 = b if b > t1 else t1
        t2 = c if c > t2 else t2
        t3 = d if d > t3 else t3
        j += 4
    while j < k:
        t0 = rows[i, j] if rows[i, j] > t0 else t0
        j += 1
    t0 = t1 if t1 > t0 else t0
    t2 = t3 if t3 > t2 else t2
    return t2 if t2 > t0 else t0


def row_dot(a, b, i, k):
    """sum_j a[i, j] b[i, j] over j < k in float64, in four interleaved runs."""
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 3 < k:
        s0 += np.float64(a[i, j]) * b[i, j]
        s1 += np.float64(a[i, j + 1]) * b[i, j + 1]
        s2 += np.float64(a[i, j + 2]) * b[i, j + 2]
        s3 += np.float64(a[i, j + 3]) * b[i, j + 3]
        j += 4
    while j < k:
        s0 += np.float64(a[i, j]) * b[i, j]
        j += 1
    return (s0 + s1) + (s2 + s3)


def row_centred_squares(rows, i, mean):
    """sum_j (rows[i, j] - mean)^2 in float64, in four interleaved runs (a
    single running sum waits on each add: four keep the adder busy)."""
    k = rows.shape[1]
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 3 < k:
        c0, c1 = rows[i, j] - mean, rows[i, j + 1] - mean
        c2, c3 = rows[i, j + 2] - mean, rows[i, j + 3] - mean
        s0 += c0 * c0
        s1 += c1 * c1
        s2 += c2 * c2
        s3 += c3 * c3
        j += 4
    while j < k:
        c0 = rows[i, j] - mean
        s0 += c0 * c0
        j += 1
    return (s0 + s1) + (s2 + s3)


def row_total(values, i, k):
    """sum_j values[i, j] over j < k in float64, in four interleaved runs."""
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 3 < k:
        s0 += values[i, j]
        s1 += values[i, j + 1]
        s2 += values[i, j + 2]
        s3 += values[i, j + 3]
        j += 4
    while j < k:
        s0 += values[i, j]
        j += 1
    return (s0 + s1) + (s2 + s3)


def softmax_rows(rows, out, queries):
    """out = exp(x - max) / sum(exp(x - max)) per row, float64 rows; the sum
    in another order than numpy's. A NaN anywhere makes the row NaN. With
    `queries` > 0 the rows are blocks of that many queries under a causal
    mask: row i takes its first i % queries + 1 entries, the others are 0
    (as -inf logits would give)."""
    n, k = rows.shape
    for i in range(n):
        softmax_row(rows, out, i, k if queries == 0 else min(i % queries + 1, k))


def softmax_row(rows, out, i, count):
    """Row i of `softmax_rows`, over its first `count` entries (0 after)."""
    top = row_max(rows, i, count)
    total = 0.0
    for j in range(count):
        out[i, j] = math.exp(rows[i, j] - top)
        total += out[i, j]
    for j in range(count):
        out[i, j] = out[i, j] / total
    for j in range(count, rows.shape[1]):
        out[i, j] = 0


def softmax_rows_float32(rows, out, exps, queries):
    """`softmax_rows` for float32 rows, in float64 arithmetic through
    `exp_negative`, each result rounded to float32 once; `exps`: float64
    scratch of rows' shape."""
    n, k = rows.shape
    for i in range(n):
        softmax_row_float32(rows, out, exps, i, k if queries == 0 else min(i % queries + 1, k))


def softmax_row_float32(rows, out, exps, i, count):
    """Row i of `softmax_rows_float32`, over its first `count` entries."""
    top = np.float64(row_max(rows, i, count))
    for j in range(count):
        exps[i, j] = exp_negative(np.float64(rows[i, j]) - top)
    inverse = 1 / row_total(exps, i, count)   # a float64 product, rounded once
    for j in range(count):
        out[i, j] = exps[i, j] * inverse
    for j in range(count, rows.shape[1]):
        out[i, j] = 0


def softmax_rows_backward(g, s, d_x, queries):
    """d_x = s (g - sum(g s)) per row, in float64 arithmetic. With `queries`
    > 0, causal blocks as in `softmax_rows`: row i's entries after its first
    i % queries + 1 are 0 (s is 0 there) and are neither read nor summed."""
    n, k = g.shape
    for i in range(n):
        softmax_row_backward(g, s, d_x, i, k if queries == 0 else min(i % queries + 1, k))


def softmax_row_backward(g, s, d_x, i, count):
    """Row i of `softmax_rows_backward`, over its first `count` entries."""
    dot = row_dot(g, s, i, count)
    for j in range(count):
        d_x[i, j] = s[i, j] * (np.float64(g[i, j]) - dot)
    for j in range(count, g.shape[1]):
        d_x[i, j] = 0


# ----- self-attention on packed queries, keys and values ------------------------------
# qkv (B, L, 3, H, D): the queries, keys and values of head h of sequence b are
# the (L, D) matrices at qkv[b, 0, 0, h], qkv[b, 0, 1, h], qkv[b, 0, 2, h], rows
# 3 H D apart; out and its gradient g (B, L, H, D) have rows H D apart. BLAS
# reads and writes them in place through those strides. Under a causal mask
# the queries split in two blocks at `_causal_split`: the first block's
# queries see only the first block's keys, so each product with a (L, L)
# matrix of logits skips that matrix's upper right quarter, all zeros (a
# quarter of the multiply-adds; a sum without its zero terms is the same).

def _causal_split(length, causal):
    """Where the queries split: L // 2 under a causal mask, else L (one block)."""
    return length // 2 if causal and length > 1 else length


def product(gemm, transpose_a, transpose_b, rows, columns, inner, alpha, a, lda, b, ldb, out,
            ldc):
    """out = alpha op(a) @ op(b) through `gemm` for matrices given by their
    first element (a view starting there) and row strides in elements."""
    gemm(ROW_MAJOR, TRANSPOSE if transpose_a else NO_TRANSPOSE,
         TRANSPOSE if transpose_b else NO_TRANSPOSE, rows, columns, inner, alpha,
         a.ctypes.data, lda, b.ctypes.data, ldb, 0.0, out.ctypes.data, ldc)


def attention_logits(gemm, qkv, b, h, queries, keys_t, scale, logits, split):
    """logits = (q scale) k^T of head h of sequence b (the first `split`
    queries against the first `split` keys only): the queries times `scale`
    copied into `queries` (L, D), in qkv's dtype as numpy scales them, the
    keys copied transposed into `keys_t` (D, L), then the products (q k^T
    through a transposed operand measured about 2x slower)."""
    length, depth = qkv.shape[1], qkv.shape[4]
    factor = queries.dtype.type(scale)
    for j in range(length):
        for d in range(depth):
            queries[j, d] = qkv[b, j, 0, h, d] * factor
            keys_t[d, j] = qkv[b, j, 1, h, d]
    product(gemm, False, False, split, split, depth, 1.0, queries, depth, keys_t, length,
            logits, length)
    if split < length:
        product(gemm, False, False, length - split, length, depth, 1.0, queries[split], depth,
                keys_t, length, logits[split], length)


def attention_output(gemm, qkv, b, h, probabilities, out, split):
    """out[b, :, h] = probabilities @ v of head h of sequence b."""
    length, heads, depth = qkv.shape[1], qkv.shape[3], qkv.shape[4]
    row, out_row = 3 * heads * depth, heads * depth
    product(gemm, False, False, split, depth, split, 1.0, probabilities, length,
            qkv[b, 0, 2, h], row, out[b, 0, h], out_row)
    if split < length:
        product(gemm, False, False, length - split, depth, length, 1.0, probabilities[split],
                length, qkv[b, 0, 2, h], row, out[b, split, h], out_row)


def self_attention_forward(qkv, scale, out, p, queries, keys_t, causal, gemm):
    """softmax((q scale) k^T) v for every sequence and head, float64: the
    probabilities into p (B, H, L, L) (causal: row i keeps its first i + 1),
    the output into out (B, L, H, D); the products through `gemm`, the
    softmax as `softmax_rows`. queries (L, D) and keys_t (D, L): scratch."""
    sequences, length, _, heads, _ = qkv.shape
    split = _causal_split(length, causal)
    for b in range(sequences):
        for h in range(heads):
            attention_logits(gemm, qkv, b, h, queries, keys_t, scale, p[b, h], split)
            for i in range(length):
                softmax_row(p[b, h], p[b, h], i, i + 1 if causal else length)
            attention_output(gemm, qkv, b, h, p[b, h], out, split)


def self_attention_forward_float32(qkv, scale, out, p, queries, keys_t, exps, causal, gemm):
    """`self_attention_forward` for float32, the softmax as
    `softmax_rows_float32` (exps: float64 scratch (L, L))."""
    sequences, length, _, heads, _ = qkv.shape
    split = _causal_split(length, causal)
    for b in range(sequences):
        for h in range(heads):
            attention_logits(gemm, qkv, b, h, queries, keys_t, scale, p[b, h], split)
            for i in range(length):
                softmax_row_float32(p[b, h], p[b, h], exps, i, i + 1 if causal else length)
            attention_output(gemm, qkv, b, h, p[b, h], out, split)


def self_attention_backward(g, qkv, p, d_qkv, d_logits, values_t, causal, scale, gemm):
    """The gradient d_qkv (B, L, 3, H, D) of `self_attention_forward` from
    the output's g (B, L, H, D), per sequence and head: dv = p^T g, d_logits
    = softmax's backward of g v^T (as `softmax_rows_backward`), dq = d_logits
    k scale and dk = d_logits^T q scale; the products through `gemm`, the
    causal mask's zero quarter skipped as in forward. d_logits (L, L) and
    values_t (D, L): scratch."""
    sequences, length, _, heads, depth = qkv.shape
    row, g_row = 3 * heads * depth, heads * depth
    split = _causal_split(length, causal)
    rest = length - split
    for b in range(sequences):
        for h in range(heads):
            probabilities = p[b, h]
            q, k, gradient = qkv[b, 0, 0, h], qkv[b, 0, 1, h], g[b, 0, h]
            # dv: the first keys from every query, the others from the last block's
            product(gemm, True, False, split, depth, length, 1.0, probabilities, length, gradient,
                    g_row, d_qkv[b, 0, 2, h], row)
            if rest:
                product(gemm, True, False, rest, depth, rest, 1.0, probabilities[split, split:],
                        length, g[b, split, h], g_row, d_qkv[b, split, 2, h], row)
            for j in range(length):
                for d in range(depth):
                    values_t[d, j] = qkv[b, j, 2, h, d]
            product(gemm, False, False, split, split, depth, 1.0, gradient, g_row, values_t,
                    length, d_logits, length)
            if rest:
                product(gemm, False, False, rest, length, depth, 1.0, g[b, split, h], g_row,
                        values_t, length, d_logits[split], length)
            for i in range(length):
                softmax_row_backward(d_logits, probabilities, d_logits, i,
                                     i + 1 if causal else length)
            product(gemm, False, False, split, depth, split, scale, d_logits, length, k, row,
                    d_qkv[b, 0, 0, h], row)
            product(gemm, True, False, split, depth, length, scale, d_logits, length, q, row,
                    d_qkv[b, 0, 1, h], row)
            if rest:
                product(gemm, False, False, rest, depth, length, scale, d_logits[split], length,
                        k, row, d_qkv[b, split, 0, h], row)
                product(gemm, True, False, rest, depth, rest, scale, d_logits[split, split:],
                        length, qkv[b, split, 0, h], row, d_qkv[b, split, 1, h], row)


def max_pool_forward(x, size_h, size_w, stride_h, stride_w, out, argmax):
    """out[n, a, b, c] = the largest x[n, a stride_h + i, b stride_w + j, c]
    over the window (i < size_h, j < size_w), as numpy's running maximum
    takes it (a NaN wins); argmax = i size_w + j of its first maximum, -1
    where the maximum is NaN (no gradient, as the numpy path gives none)."""
    n, out_h, out_w, channels = out.shape
    for s in range(n):
        for a in range(out_h):
            for b in range(out_w):
                top, left = a * stride_h, b * stride_w
                for c in range(channels):
                    out[s, a, b, c] = x[s, top, left, c]
                    argmax[s, a, b, c] = 0
                for i in range(size_h):
                    for j in range(size_w):
                        if i + j == 0:
                            continue
                        k = i * size_w + j
                        for c in range(channels):
                            value = x[s, top + i, left + j, c]
                            best = out[s, a, b, c]
                            better = value > best or (value != value and best == best)
                            out[s, a, b, c] = value if better else best
                            argmax[s, a, b, c] = k if better else argmax[s, a, b, c]
                for c in range(channels):
                    if out[s, a, b, c] != out[s, a, b, c]:
                        argmax[s, a, b, c] = -1


def max_pool_backward(g, argmax, size_h, size_w, stride_h, stride_w, grad):
    """grad (zeros on entry, x's shape) += each window's g at its first
    maximum (argmax from `max_pool_forward`); overlapping windows add."""
    n, out_h, out_w, channels = g.shape
    for s in range(n):
        for a in range(out_h):
            for b in range(out_w):
                top, left = a * stride_h, b * stride_w
                for i in range(size_h):
                    for j in range(size_w):
                        k = i * size_w + j
                        for c in range(channels):
                            if argmax[s, a, b, c] == k:
                                grad[s, top + i, left + j, c] += g[s, a, b, c]


def col2im(cols, size_h, size_w, stride_h, stride_w, grad):
    """The adjoint of `im2col`: grad (zeros on entry, (N, H, W, C)) += each
    row of cols put back at its receptive field; overlapping fields add, in
    the order of the rows."""
    n, _, _, channels = grad.shape
    out_h = (grad.shape[1] - size_h) // stride_h + 1
    out_w = (grad.shape[2] - size_w) // stride_w + 1
    for s in range(n):
        for a in range(out_h):
            for b in range(out_w):
                row = (s * out_h + a) * out_w + b
                for i in range(size_h):
                    for j in range(size_w):
                        start = (i * size_w + j) * channels
                        for c in range(channels):
                            grad[s, a * stride_h + i, b * stride_w + j, c] += cols[row, start + c]


def relu_backward(g, y, d_x):
    """d_x = g * (y > 0) over flat arrays, as numpy computes it (g times 1 or
    0, so a NaN or infinite g where y <= 0 still gives NaN)."""
    for i in range(g.shape[0]):
        d_x[i] = g[i] * (y[i] > 0)



def matrix_product(gemm, a, b, out):
    """out = a @ b for C-contiguous matrices through `gemm`, numpy's own
    cblas_sgemm or cblas_dgemm (zen.blas.gemm), called as numpy's matmul
    calls it: the same bits."""
    rows, inner = a.shape
    columns = b.shape[1]
    gemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, rows, columns, inner, 1.0, a.ctypes.data,
         inner, b.ctypes.data, columns, 0.0, out.ctypes.data, columns)


def add_transposed_product(gemm, a, b, out):
    """out += a^T @ b for C-contiguous matrices through `gemm` (see
    `matrix_product`): BLAS adds the product into out, which gives the bits
    of numpy's out += np.matmul(a.T, b)."""
    inner, rows = a.shape
    columns = b.shape[1]
    gemm(ROW_MAJOR, TRANSPOSE, NO_TRANSPOSE, rows, columns, inner, 1.0, a.ctypes.data, rows,
         b.ctypes.data, columns, 1.0, out.ctypes.data, columns)


def rnn_tanh_backward(gradient, states, u_t, outside, dh, dz, du, gemm):
    """Backpropagation through time of h_t = tanh(p_t + h_{t-1} @ U), every
    step in one call, last first: dh += gradient[t] where outside[t] (a
    gradient reaches h_t from outside), dz[t] = dh (1 - h_t^2), du +=
    h_{t-1}^T @ dz[t] (unless du is empty), then dh = dz[t] @ U^T, the
    products through `gemm` (numpy's BLAS, see `matrix_product`). The
    operations of zen.autodiff.recurrent's numpy loop, and its bits."""
    steps, batch, units = gradient.shape
    one = dz.dtype.type(1)  # not the int 1: float32 stays float32
    for t in range(steps - 1, -1, -1):
        if outside[t]:
            for b in range(batch):
                for j in range(units):
                    dh[b, j] = dh[b, j] + gradient[t, b, j]
        for b in range(batch):
            for j in range(units):
                y = states[t + 1, b, j]
                dz[t, b, j] = dh[b, j] * (one - y * y)
        if du.size:
            add_transposed_product(gemm, states[t], dz[t], du)
        matrix_product(gemm, dz[t], u_t, dh)


def lstm_forward_float32(projected, u_by_gate, hs, cs, gates, tanh_c, gemm):
    """An LSTM's forward pass over every step in one call, float32: per step
    z = h_{t-1} @ U_k through `gemm` for each gate k, then as
    zen.autodiff.gated's numpy loop, sigmoid(a) = tanh(a / 2) / 2 + 1 / 2
    on i, f, o and tanh on g, c_t = f c_{t-1} + i g, h_t = o tanh(c_t),
    with `tanh_float32` for numpy's tanh (within 1.5 ulps of it).

    projected (T, B, 4H) in Keras's layout; u_by_gate (4, H, H); hs, cs
    (T + 1, B, H), [0] given; gates (T, 4, B, H) and tanh_c (T, B, H) are
    written, as are hs[1:] and cs[1:]."""
    steps, _, batch, units = gates.shape
    half, one = _F32(0.5), _F32(1)
    for t in range(steps):
        for k in range(4):
            matrix_product(gemm, hs[t], u_by_gate[k], gates[t, k])
        for k in range(4):
            scale = one if k == 2 else half
            shift = _F32(0) if k == 2 else half
            for b in range(batch):
                for j in range(units):
                    a = (gates[t, k, b, j] + projected[t, b, k * units + j]) * scale
                    gates[t, k, b, j] = tanh_float32(a) * scale + shift
        for b in range(batch):
            for j in range(units):
                c = gates[t, 1, b, j] * cs[t, b, j] + gates[t, 0, b, j] * gates[t, 2, b, j]
                cs[t + 1, b, j] = c
                tanh_c[t, b, j] = tanh_float32(c)
                hs[t + 1, b, j] = gates[t, 3, b, j] * tanh_c[t, b, j]


def gru_forward_float32(projected, u_by_gate, bias, hs, inner, zr, n, gemm):
    """A GRU's (reset_after) forward pass over every step in one call,
    float32: per step inner[t] = h_{t-1} @ U_k through `gemm` for each gate
    k, plus the recurrent bias; then as zen.autodiff.gated's numpy loop, z,
    r = sigmoid(x + h) (as tanh(a / 2) / 2 + 1 / 2), n = tanh(r hh + xh),
    h_t = (h_{t-1} - n) z + n, with `tanh_float32` for numpy's tanh.

    projected (T, B, 3H) in Keras's layout; u_by_gate (3, H, H); bias (3H,);
    hs (T + 1, B, H), [0] given; inner (T, 3, B, H), zr (T, 2, B, H) and n
    (T, B, H) are written, as is hs[1:]."""
    steps, _, batch, units = inner.shape
    half = _F32(0.5)
    for t in range(steps):
        for k in range(3):
            matrix_product(gemm, hs[t], u_by_gate[k], inner[t, k])
            for b in range(batch):
                for j in range(units):
                    inner[t, k, b, j] = inner[t, k, b, j] + bias[k * units + j]
        for k in range(2):
            for b in range(batch):
                for j in range(units):
                    a = (projected[t, b, k * units + j] + inner[t, k, b, j]) * half
                    zr[t, k, b, j] = tanh_float32(a) * half + half
        for b in range(batch):
            for j in range(units):
                candidate = tanh_float32(zr[t, 1, b, j] * inner[t, 2, b, j]
                                         + projected[t, b, 2 * units + j])
                n[t, b, j] = candidate
                hs[t + 1, b, j] = (hs[t, b, j] - candidate) * zr[t, 0, b, j] + candidate


def rnn_tanh_forward_float32(projected, states, u, gemm):
    """A simple RNN's forward pass with tanh over every step in one call,
    float32: states[t + 1] = tanh(states[t] @ U + projected[t]), the product
    through `gemm`, with `tanh_float32` for numpy's tanh."""
    steps, batch, units = projected.shape
    for t in range(steps):
        matrix_product(gemm, states[t], u, states[t + 1])
        for b in range(batch):
            for j in range(units):
                states[t + 1, b, j] = tanh_float32(states[t + 1, b, j] + projected[t, b, j])


def lstm_backward(gradient, gates, tanh_c, c_previous, u_t, dh, dc, dz, gemm):
    """Backpropagation through time of an LSTM, every step in one call, last
    first: `lstm_backward_step`, then dh = dz[t] @ U^T through `gemm`."""
    for t in range(gates.shape[0] - 1, -1, -1):
        lstm_backward_step(t, gradient, gates, tanh_c, c_previous, dh, dc, dz)
        matrix_product(gemm, dz[t], u_t, dh)


def gru_backward(gradient, h_previous, zr, n, hh, u_t, dh, d_inner, d_xh, through_z, gemm):
    """Backpropagation through time of a GRU, every step in one call, last
    first: `gru_backward_step`, then dh = d_inner[t] @ U^T through `gemm`,
    plus dh_t z."""
    batch, units = dh.shape
    for t in range(n.shape[0] - 1, -1, -1):
        gru_backward_step(t, gradient, h_previous, zr, n, hh, dh, d_inner, d_xh, through_z)
        matrix_product(gemm, d_inner[t], u_t, dh)
        for b in range(batch):
            for j in range(units):
                dh[b, j] = dh[b, j] + through_z[b, j]


def lstm_backward_step(t, gradient, gates, tanh_c, c_previous, dh, dc, dz):
    """One step back through an LSTM, everything but the product with U^T:
    dh += gradient[0, t] and dc += gradient[1, t] (what reaches h_t and c_t
    from outside), dc += dh o (1 - tanh(c_t)^2); the gate gradients
    dz[t] = dc * (g i(1 - i), c_{t-1} f(1 - f), i (1 - g^2)) and dh tanh(c_t)
    o(1 - o) in Keras's (batch, 4 units) layout; then dc *= f_t for the step
    before. In the inputs' dtype, operation for operation as
    zen.autodiff.gated's numpy code. A short loop per result (one with every
    result in it stays scalar: 1.6x the time)."""
    batch, units = dh.shape
    one = dz.dtype.type(1)  # not the int 1: float32 stays float32
    for b in range(batch):
        for j in range(units):
            h = dh[b, j] + gradient[0, t, b, j]
            c = dc[b, j] + gradient[1, t, b, j]
            dh[b, j] = h
            dc[b, j] = c + h * (gates[t, 3, b, j] * (one - tanh_c[t, b, j] * tanh_c[t, b, j]))
        for j in range(units):
            i = gates[t, 0, b, j]
            dz[t, b, j] = dc[b, j] * (gates[t, 2, b, j] * (i * (one - i)))
        for j in range(units):
            f = gates[t, 1, b, j]
            dz[t, b, units + j] = dc[b, j] * (c_previous[t, b, j] * (f * (one - f)))
        for j in range(units):
            g = gates[t, 2, b, j]
            dz[t, b, 2 * units + j] = dc[b, j] * (gates[t, 0, b, j] * (one - g * g))
        for j in range(units):
            o = gates[t, 3, b, j]
            dz[t, b, 3 * units + j] = dh[b, j] * (tanh_c[t, b, j] * (o * (one - o)))
        for j in range(units):
            dc[b, j] = dc[b, j] * gates[t, 1, b, j]


def gru_gate_inputs(t, p, bias, m, zr):
    """A GRU step's gate inputs from m = h_{t-1} @ U (3, B, H): m += bias,
    then zr[t] = (p[t, :2] + m[:2]) / 2, ready for the tanh that gives the
    sigmoids z and r (see `gru_candidate`)."""
    gates, batch, units = m.shape
    half = m.dtype.type(0.5)
    for k in range(gates):
        for b in range(batch):
            for j in range(units):
                m[k, b, j] = m[k, b, j] + bias[k, b, j]
    for k in range(2):
        for b in range(batch):
            for j in range(units):
                zr[t, k, b, j] = (p[t, k, b, j] + m[k, b, j]) * half


def gru_candidate(t, p, m, zr, n):
    """From zr[t] = tanh((x + h) / 2): the gates zr[t] = zr[t] / 2 + 1/2
    (sigmoid(a) = tanh(a / 2) / 2 + 1 / 2), then the candidate's
    pre-activation n[t] = r m[2] + p[t, 2], ready for its tanh."""
    batch, units = n.shape[1:]
    half = n.dtype.type(0.5)
    for k in range(2):
        for b in range(batch):
            for j in range(units):
                zr[t, k, b, j] = zr[t, k, b, j] * half + half
    for b in range(batch):
        for j in range(units):
            n[t, b, j] = zr[t, 1, b, j] * m[2, b, j] + p[t, 2, b, j]


def gru_state(t, hs, zr, n):
    """h_t = (h_{t-1} - n) z + n, into hs[t + 1]."""
    batch, units = n.shape[1:]
    for b in range(batch):
        for j in range(units):
            hs[t + 1, b, j] = (hs[t, b, j] - n[t, b, j]) * zr[t, 0, b, j] + n[t, b, j]


def gru_backward_step(t, gradient, h_previous, zr, n, hh, dh, d_inner, d_xh, through_z):
    """One step back through a GRU (reset_after), everything but the product
    with U^T: dh += gradient[t]; then, with its local derivatives formed on
    the way, dn_pre = dh (1 - z)(1 - n^2) into d_xh[t], and into d_inner[t]
    (Keras's (batch, 3 units) layout) dz_pre = dh (h_{t-1} - n) z (1 - z),
    dr_pre = dn_pre hh r (1 - r) and dhh = dn_pre r; through_z = dh z. In
    the inputs' dtype, operation for operation as zen.autodiff.gated's numpy
    code."""
    batch, units = dh.shape
    one = dh.dtype.type(1)  # not the int 1: float32 stays float32
    for b in range(batch):
        for j in range(units):
            dh[b, j] = dh[b, j] + gradient[t, b, j]
        for j in range(units):
            z, nj = zr[t, 0, b, j], n[t, b, j]
            d_xh[t, b, j] = dh[b, j] * ((one - z) * (one - nj * nj))
        for j in range(units):
            z = zr[t, 0, b, j]
            d_inner[t, b, j] = dh[b, j] * ((h_previous[t, b, j] - n[t, b, j]) * z * (one - z))
        for j in range(units):
            r = zr[t, 1, b, j]
            d_inner[t, b, units + j] = d_xh[t, b, j] * (hh[t, b, j] * r * (one - r))
        for j in range(units):
            d_inner[t, b, 2 * units + j] = d_xh[t, b, j] * zr[t, 1, b, j]
        for j in range(units):
            through_z[b, j] = dh[b, j] * zr[t, 0, b, j]


def lstm_gate_inputs(t, p, scale, z):
    """z = (z + p[t]) scale: a step's gate pre-activations, (4, B, H), scaled
    for the tanh that gives the gates (see `lstm_cell`)."""
    gates, batch, units = z.shape
    for k in range(gates):
        for b in range(batch):
            for j in range(units):
                z[k, b, j] = (z[k, b, j] + p[t, k, b, j]) * scale[k, b, j]


def lstm_cell(z, scale, shift, c_previous, c):
    """The gates from tanh(z scale): z = z scale + shift (i, f, o sigmoids, g
    a tanh); then c = f c_previous + i g. In the inputs' dtype, operation for
    operation as zen.autodiff.gated's numpy loop."""
    gates, batch, units = z.shape
    for k in range(gates):
        for b in range(batch):
            for j in range(units):
                z[k, b, j] = z[k, b, j] * scale[k, b, j] + shift[k, b, j]
    for b in range(batch):
        for j in range(units):
            c[b, j] = z[1, b, j] * c_previous[b, j] + z[0, b, j] * z[2, b, j]


def adam_update(p, grad, m, v, scalars):
    """Adam's update of flat arrays in one pass, operation for operation as
    zen.optim.Adam.update's numpy calls, each scalar in p's dtype: with
    (decay, shrink, keep, gain, keep2, gain2, correction, epsilon,
    step_size) = scalars, g = grad + decay p (coupled decay, where decay !=
    0); p *= shrink (decoupled); m = m keep + g gain; v = v keep2 + (g g)
    gain2; p -= m / (sqrt(v) correction + epsilon) step_size."""
    decay, shrink, keep, gain, keep2, gain2 = (scalars[0], scalars[1], scalars[2], scalars[3],
                                               scalars[4], scalars[5])
    correction, epsilon, step_size = scalars[6], scalars[7], scalars[8]
    for i in range(p.shape[0]):
        g = grad[i]
        if decay != 0:
            g = g + decay * p[i]
        m[i] = m[i] * keep + g * gain
        v[i] = v[i] * keep2 + (g * g) * gain2
        p[i] = p[i] * shrink - m[i] / (np.sqrt(v[i]) * correction + epsilon) * step_size


def im2col(x, pad_top, pad_left, size_h, size_w, stride_h, stride_w, out_h, out_w, cols):
    """cols[row of output pixel (n, a, b), (i size_w + j) C + c] = x[n, a
    stride_h + i - pad_top, b stride_w + j - pad_left, c], 0 where that falls
    in the padding: every receptive field copied once, the zero padding
    written in place of a padded copy of x. A column of cols after the
    fields (a folded bias's) is set to 1."""
    n, height, width, channels = x.shape
    ones = cols.shape[1] > size_h * size_w * channels
    for s in range(n):
        for a in range(out_h):
            for b in range(out_w):
                row = (s * out_h + a) * out_w + b
                if ones:
                    cols[row, cols.shape[1] - 1] = 1
                for i in range(size_h):
                    y = a * stride_h + i - pad_top
                    for j in range(size_w):
                        start = (i * size_w + j) * channels
                        column = b * stride_w + j - pad_left
                        if 0 <= y < height and 0 <= column < width:
                            for c in range(channels):
                                cols[row, start + c] = x[s, y, column, c]
                        else:
                            for c in range(channels):
                                cols[row, start + c] = 0
