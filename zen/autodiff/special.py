"""Special functions on arrays that numpy lacks: erf, erfc and the standard
normal distribution (what the exact GELU needs).

erf and erfc are W. J. Cody's rational Chebyshev approximations ("Rational
Chebyshev approximations for the error function", Math. Comp. 23, 1969,
pp. 631-638; the coefficients of his CALERF routine), which reach float64
rounding on three ranges of |x|:
    |x| <= 0.46875:   erf(x)  = x R1(x^2)
    0.46875 < |x| <= 4: erfc(x) = exp(-x^2) R2(x)
    |x| > 4:          erfc(x) = exp(-x^2) / x (1/sqrt(pi) + R3(1/x^2) / x^2)
Each range is evaluated only on its own elements (boolean masks), never in
a Python loop over elements.

`normal_cdf` uses them for float64. float32 and float16 take a cheaper
path in float32 arithmetic, within a few float32 ulps: Phi(-|x|) =
phi(x) m(|x|), m the Mills ratio, from one polynomial fit on the whole
line (see `_normal_cdf_float32`), and phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
from a table and a short polynomial, without a call of exp (see
`_normal_pdf_float32`).
"""
import math

import numpy as np

from ..backend import xp

# Cody's coefficients, in his order (see `_ratio`).
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)

_NEAR = 0.46875         # erf's own approximation below this |x|, erfc's above
_TAIL = 4.0             # where erfc switches to its asymptotic form
_UNDERFLOW = 27.3       # erfc(x) < 2.4e-324 rounds to 0 in float64 from 27.23 on
_INV_SQRT_PI = 1 / math.sqrt(math.pi)
_SQRT_2 = math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

# (1 + z) m(z) = sum_k _MILLS[k] q^k, q = (z - 3) / (z + 3), m(z) = Phi(-z) / phi(z)
# the Mills ratio: a minimax fit in relative error (3.1e-8 on 0 <= z <= 14.5,
# beyond which phi(z) is 0 in float32), exact at z = 0 (sqrt(pi/2)), made in
# float64 against math.erfc with Lawson's reweighted least squares. (1 + z) m(z)
# runs from sqrt(pi/2) to 1 at infinity, so rounding in the sum stays small.
_MILLS = (1.218361191, -2.419571714e-1, -4.118905972e-2, 1.132212618e-1,
          -5.697467023e-2, 2.822242298e-3, 7.506048136e-3, -6.520097742e-4,
          -1.115758081e-3, -1.607091097e-4)
_MILLS_CENTRE = 3.0

# phi at the table's points h = k / 256, k = 0 .. 4096, rounded once to float32:
# |x| is rounded to the nearest point, and exp(-(x^2 - h^2) / 2) is a polynomial.
_PDF_STEP = 256
_PDF_TABLE = (np.exp(-0.5 * (np.arange(16 * _PDF_STEP + 1) / _PDF_STEP) ** 2)
              * _INV_SQRT_2PI).astype(np.float32)
_PDF_CAP = np.float32(16)               # phi(16) = 0 in float32, as everything beyond
_ROUNDER = np.float32(2 ** 23 / _PDF_STEP)  # adding it rounds |x| < 16 to a multiple of 1/256
_ROUNDER_BITS = int(_ROUNDER.view(np.int32))


def _ratio(num, den, z):
    """Cody's rational function: (num[-1] z^n + num[0] z^(n-1) + ... + num[-2])
    / (z^n + den[0] z^(n-1) + ... + den[-1]), with n = len(den)."""
    top, bottom = num[-1] * z, z
    for a, b in zip(num[:-2], den[:-1]):
        top = (top + a) * z
        bottom = (bottom + b) * z
    return (top + num[-2]) / (bottom + den[-1])


def _erf_near(x):
    """erf(x) for |x| <= 0.46875."""
    return x * _ratio(_A, _B, x * x)


def _erfc_far(y):
    """erfc(y) for y >= 0.46875 (inf included)."""
    y = xp.minimum(y, _UNDERFLOW)  # erfc is 0 there; keeps inf out of the arithmetic
    ratio = xp.empty_like(y)
    mid = y <= _TAIL
    ratio[mid] = _ratio(_C, _D, y[mid])
    tail = y[~mid]
    inv_square = 1 / (tail * tail)
    ratio[~mid] = (_INV_SQRT_PI - inv_square * _ratio(_P, _Q, inv_square)) / tail
    return ratio * _exp_neg_square(y)


def _exp_neg_square(y):
    """exp(-y^2) to full precision: y^2 rounds with an error that exp would
    multiply by y^2, so y is split as head + rest, head = trunc(16 y) / 16,
    whose square is exact (Cody's device)."""
    head = xp.trunc(y * 16) / 16
    return xp.exp(-head * head) * xp.exp(-(y - head) * (y + head))


def _float64(x):
    return xp.asarray(x, dtype=np.float64)


def _like_input(result, x):
    """`result` in `x`'s float dtype (float64 for anything else)."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind == "f":
        return result.astype(dtype, copy=False)
    return result


def erf(x):
    """The error function, 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt,
    elementwise, to float64 rounding (Cody). Returns `x`'s float dtype.

    Example:
        erf(np.array([0.0, 1.0]))        # [0., 0.84270079]
    """
    values = _float64(x)
    out = xp.empty_like(values)
    near = xp.abs(values) <= _NEAR
    out[near] = _erf_near(values[near])
    far = values[~near]
    out[~near] = xp.sign(far) * (1 - _erfc_far(xp.abs(far)))
    return _like_input(out, x)


def erfc(x):
    """The complementary error function 1 - erf(x), elementwise, to float64
    rounding relative to its value (also in the tail, where 1 - erf(x) would
    cancel). Returns `x`'s float dtype.

    Example:
        erfc(np.array([0.0, 10.0]))      # [1., 2.08848758e-45]
    """
    values = _float64(x)
    out = xp.empty_like(values)
    near = xp.abs(values) <= _NEAR
    out[near] = 1 - _erf_near(values[near])
    far = values[~near]
    tail = _erfc_far(xp.abs(far))
    out[~near] = xp.where(far < 0, 2 - tail, tail)
    return _like_input(out, x)


def normal_cdf(x):
    """Phi(x), the standard normal distribution function, = erfc(-x/sqrt(2)) / 2,
    accurate relative to its value in both tails. float64 (and anything but
    float32 and float16) goes through Cody's erfc, to float64 rounding;
    float32 and float16 through a cheaper float32 path, within a few float32
    ulps, and stay in their dtype.

    Example:
        normal_cdf(np.array([0.0, -3.0]))   # [0.5, 0.0013499]
    """
    x = xp.asarray(x)
    if _takes_float32_path(x):
        return normal_cdf_and_pdf(x)[0]
    return 0.5 * erfc(-_float64(x) / _SQRT_2)  # one rounding of the argument, as x / sqrt(2)


def normal_pdf(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi), elementwise, in `x`'s float dtype.
    Computed in float64, where the square of a float32 is exact, so a
    float32 result is phi rounded once, relative to its value in the tails."""
    x = xp.asarray(x)
    pdf = x.astype(np.float64)  # a new array, squared in place
    pdf *= pdf
    pdf *= -0.5
    xp.exp(pdf, out=pdf)
    pdf *= _INV_SQRT_2PI
    return _like_input(pdf, x)


def normal_cdf_and_pdf(x):
    """(Phi(x), phi(x)) as `normal_cdf` and `normal_pdf` give them, for the
    exact GELU and its derivative: the float32 path computes Phi from phi."""
    x = xp.asarray(x)
    if not _takes_float32_path(x):
        return normal_cdf(x), normal_pdf(x)
    flat = x.astype(np.float32, copy=False).reshape(-1)
    size = xp.abs(flat)
    xp.minimum(size, _PDF_CAP, out=size)    # keeps inf out; NaN stays NaN
    pdf = _normal_pdf_float32(size)
    cdf = _normal_cdf_float32(flat, size, pdf).reshape(x.shape)
    pdf = pdf.reshape(x.shape)
    return cdf.astype(x.dtype, copy=False), pdf.astype(x.dtype, copy=False)


def _takes_float32_path(x):
    return x.dtype in (np.float32, np.float16)


def _normal_pdf_float32(size):
    """phi(x) from `size` = min(|x|, 16) (float32, one axis; phi is 0 in
    float32 from 16 on), in float32 arithmetic and without exp: |x| = h + r,
    h = k / 256 its nearest table point, then
    phi(x) = phi(h) exp(-u), u = (|x| - h)(|x| + h) / 2 <= 1/32 (|x| < 16),
    exp(-u) - 1 from its Taylor polynomial to u^4 (truncation 1e-10), added
    to phi(h) last so that its rounding errors shrink 32 times. |x| - h is
    exact, phi(h) comes from the table (rounded once), and k from the bits of
    |x| + 2^15. Error: 1.1 float32 eps relative at most on a dense grid of
    [-14, 14] (past 13.3 phi is subnormal in float32)."""
    point = size + _ROUNDER                 # |x| rounded to k / 256, plus 2^15
    index = xp.subtract(point.view(np.int32), _ROUNDER_BITS, dtype=np.int32)  # k
    point -= _ROUNDER                       # h
    u = size - point
    point += size
    u *= point
    u *= np.float32(-0.5)                   # -u
    change = u * np.float32(1 / 24)         # exp(-u) - 1, at most 1/32 in size
    for coefficient in (1 / 6, 1 / 2, 1):
        change += np.float32(coefficient)
        change *= u
    table = _PDF_TABLE.take(index, mode="clip")
    change *= table
    change += table                         # phi(h) + phi(h) (exp(-u) - 1): one rounding near phi
    return change


def _normal_cdf_float32(x, size, pdf):
    """Phi(x) in float32 arithmetic from x, min(|x|, 16) and phi(x) (float32,
    one axis; past 16 phi, and so Phi(-|x|), is 0):
    Phi(-|x|) = phi(x) m(|x|), m(z) = F(q) / (1 + z) with F the `_MILLS`
    polynomial, then Phi(x) = H(x) - sign(x) Phi(-|x|), H = (1 + sign(x)) / 2.
    At x = 0 sign is 0 and Phi is H = 1/2. No masks: numpy's masked loops
    cost more than this whole sum on random signs. Error against the float64
    path, on a dense grid of [-14, 14]: 3.3 float32 eps relative at most with
    `_normal_pdf_float32`'s phi (2.8 with phi rounded once)."""
    q = size + _MILLS_CENTRE
    xp.divide(-2 * _MILLS_CENTRE, q, out=q)
    q += 1                                   # 1 - 6 / (z + 3) = (z - 3) / (z + 3), z = size
    tail = q * _MILLS[-1]
    for coefficient in _MILLS[-2:0:-1]:
        tail += coefficient
        tail *= q
    tail += _MILLS[0]                        # (1 + z) m(z)
    tail /= size + 1
    tail *= pdf                              # Phi(-|x|)
    sign = xp.sign(x, dtype=np.float32)
    tail *= sign
    cdf = sign
    cdf += 1
    cdf *= 0.5
    cdf -= tail
    return cdf
