"""Special functions the array-API standard lacks, written against any array-API namespace:
the portable path of a backend extra, for namespaces with no native one."""

import math

# Below this |x| erf is summed as a series of positive terms; above it, as 1 - erfc from
# erfc's continued fraction. Each way has terms enough for float64 round-off (about 5 ulp,
# tested against math.erf) on its side of the switch.
_SWITCH = 2.0
_SERIES_TERMS = 32
_FRACTION_TERMS = 40
# erfc itself needs the fraction lower down, where 1 - erf loses digits to cancellation (about
# 15 ulp at 1, 600 at 2): there it converges more slowly, so it takes more terms.
_ERFC_SWITCH = 1.0
_ERFC_FRACTION_TERMS = 200
# erfc(x) is 0 in float64 from about 27.3; the fraction's argument is capped here, past it.
_ERFC_ZERO = 30.0


def erf(xp, x):
    """The error function of a real floating array ``x``, elementwise."""
    magnitude = xp.abs(x)
    near = xp.less(magnitude, _SWITCH)
    value = xp.where(near, _erf_series(xp, xp.where(near, magnitude, 0.0)),
                     _erf_by_fraction(xp, xp.where(near, _SWITCH, magnitude)))
    return xp.multiply(xp.sign(x), value)


def erfc(xp, x):
    """The complementary error function 1 - erf(x) of a real floating array ``x``,
    elementwise, to round-off in the tail where 1 - erf(x) would round to 0."""
    magnitude = xp.abs(x)
    near = xp.less(magnitude, _ERFC_SWITCH)
    upper_tail = xp.where(
        near, xp.subtract(1.0, _erf_series(xp, xp.where(near, magnitude, 0.0))),
        _erfc_by_fraction(xp, xp.where(near, _ERFC_SWITCH, magnitude), _ERFC_FRACTION_TERMS))
    return xp.where(xp.less(x, 0), xp.subtract(2.0, upper_tail), upper_tail)


def _erf_series(xp, a):
    """2/sqrt(pi) e^-a^2 sum 2^n a^(2n+1) / (1*3*...*(2n+1)): no cancellation, a >= 0."""
    doubled_square = xp.multiply(2.0, xp.multiply(a, a))
    term, total = a, a
    for n in range(1, _SERIES_TERMS + 1):
        term = xp.multiply(term, xp.divide(doubled_square, 2 * n + 1))
        total = xp.add(total, term)
    return xp.multiply(xp.multiply(2 / math.sqrt(math.pi), xp.exp(xp.negative(
        xp.multiply(a, a)))), total)


def _erf_by_fraction(xp, a):
    """1 - erfc(a) for a >= _SWITCH (inf gives 1)."""
    return xp.subtract(1.0, _erfc_by_fraction(xp, a, _FRACTION_TERMS))


def _erfc_by_fraction(xp, a, terms):
    """erfc(a) = e^-a^2 / sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated
    from the inside out with ``terms`` terms, for a >= 1 (inf gives 0)."""
    a = xp.minimum(a, _ERFC_ZERO)
    fraction = a
    for k in range(terms, 0, -1):
        fraction = xp.add(a, xp.divide(k / 2, fraction))
    return xp.divide(_exp_of_minus_square(xp, a), xp.multiply(math.sqrt(math.pi), fraction))


def _exp_of_minus_square(xp, a):
    """e^-a^2 to round-off for 0 <= a <= _ERFC_ZERO: a * a itself rounds, and e^ turns its
    error of a^2 ulp into a relative error of a^2 ulp (~600 at 25). So a = high + low, with
    high on a grid of 1/16, whose square is exact (18 bits, even in float32), and
    e^-a^2 = e^-high^2 e^-(a - high)(a + high)."""
    high = xp.divide(xp.round(xp.multiply(a, 16.0)), 16.0)
    low_part = xp.multiply(xp.subtract(a, high), xp.add(a, high))
    return xp.multiply(xp.exp(xp.negative(xp.multiply(high, high))),
                       xp.exp(xp.negative(low_part)))
