"""Special functions the array-API standard lacks, written against any array-API namespace:
the portable path of a backend extra, for namespaces with no native one."""

import math

# Below this |x| erf is summed as a series of positive terms; above it, as 1 - erfc from
# erfc's continued fraction. Each way has terms enough for float64 round-off (about 5 ulp,
# tested against math.erf) on its side of the switch.
_SWITCH = 2.0
_SERIES_TERMS = 32
_FRACTION_TERMS = 40


def erf(xp, x):
    """The error function of a real floating array ``x``, elementwise."""
    magnitude = xp.abs(x)
    near = xp.less(magnitude, _SWITCH)
    value = xp.where(near, _erf_series(xp, xp.where(near, magnitude, 0.0)),
                     _erf_by_fraction(xp, xp.where(near, _SWITCH, magnitude)))
    return xp.multiply(xp.sign(x), value)


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
    """1 - erfc(a), with erfc(a) = e^-a^2 / sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a +
    ...)))) evaluated from the inside out, for a >= _SWITCH (inf gives 1)."""
    fraction = a
    for k in range(_FRACTION_TERMS, 0, -1):
        fraction = xp.add(a, xp.divide(k / 2, fraction))
    complement = xp.divide(xp.exp(xp.negative(xp.multiply(a, a))),
                           xp.multiply(math.sqrt(math.pi), fraction))
    return xp.subtract(1.0, complement)
