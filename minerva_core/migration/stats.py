"""The significance tests of the experiments, on the standard library only (no scipy): the
Student t distribution through the regularised incomplete beta function (Lentz's continued
fraction, as in Numerical Recipes 6.4) and the normal distribution from statistics.NormalDist.
Pure: no I/O. Every test is two-sided.

    welch_t_test(control, treatment)            means of latency, ttft, cost, quality
    two_proportion_z_test(xc, nc, xt, nt)      error rates (pooled standard error)

Differences are treatment minus control; ``relative_difference`` is that over the control's
value; effect sizes are Cohen's d with the average variance, sqrt((s_c^2 + s_t^2) / 2)
(the d that goes with Welch's test), and Cohen's h = 2 asin sqrt(p_t) - 2 asin sqrt(p_c).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Summary:
    """n, mean and sample variance (n - 1 denominator) of one arm's values."""

    n: int
    mean: float
    variance: float


def summarize(values: Iterable[float]) -> Summary:
    data = [float(v) for v in values]
    n = len(data)
    if n == 0:
        return Summary(0, math.nan, math.nan)
    mean = math.fsum(data) / n
    variance = math.fsum((v - mean) ** 2 for v in data) / (n - 1) if n > 1 else math.nan
    return Summary(n, mean, variance)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks, like PostgreSQL's percentile_cont."""
    data = sorted(float(v) for v in values)
    if not data:
        return math.nan
    position = q * (len(data) - 1)
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


@dataclass(frozen=True)
class TestResult:
    test: str  # "welch_t" | "two_proportion_z"
    statistic: float
    df: float | None
    p_value: float
    control_value: float
    treatment_value: float
    difference: float
    relative_difference: float | None
    effect_size: float | None
    effect_size_kind: str  # "cohen_d" | "cohen_h"

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha


def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError("incomplete beta: continued fraction did not converge")


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) for 0 <= x <= 1, a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return regularized_beta(df / (df + t * t), df / 2.0, 0.5)


def _relative(diff: float, base: float) -> float | None:
    return diff / base if base not in (0.0,) and math.isfinite(base) else None


def welch_t_test(control: Summary, treatment: Summary) -> TestResult:
    """Welch's unequal-variances t-test of the two means. Needs n >= 2 in each arm."""
    if control.n < 2 or treatment.n < 2:
        raise ValueError("Welch's t-test needs at least two values per arm")
    se_c, se_t = control.variance / control.n, treatment.variance / treatment.n
    diff = treatment.mean - control.mean
    se = math.sqrt(se_c + se_t)
    pooled_sd = math.sqrt((control.variance + treatment.variance) / 2.0)
    if se == 0.0:  # both arms constant
        t, df, p = (0.0, float(control.n + treatment.n - 2), 1.0) if diff == 0 else (
            math.copysign(math.inf, diff), float(control.n + treatment.n - 2), 0.0)
    else:
        t = diff / se
        df = (se_c + se_t) ** 2 / (se_c**2 / (control.n - 1) + se_t**2 / (treatment.n - 1))
        p = t_two_sided_p(t, df)
    d = diff / pooled_sd if pooled_sd > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    return TestResult("welch_t", t, df, p, control.mean, treatment.mean, diff, _relative(diff, control.mean),
                      d, "cohen_d")


def two_proportion_z_test(x_control: int, n_control: int, x_treatment: int, n_treatment: int) -> TestResult:
    """Two-proportion z-test with the pooled proportion under H0 (no continuity correction)."""
    if n_control < 1 or n_treatment < 1:
        raise ValueError("the z-test needs at least one trial per arm")
    if not (0 <= x_control <= n_control and 0 <= x_treatment <= n_treatment):
        raise ValueError("successes must lie between 0 and the number of trials")
    p_c, p_t = x_control / n_control, x_treatment / n_treatment
    pooled = (x_control + x_treatment) / (n_control + n_treatment)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_control + 1.0 / n_treatment))
    diff = p_t - p_c
    if se == 0.0:  # no events in either arm, or only events: nothing to tell apart
        z, p = 0.0, 1.0
    else:
        z = diff / se
        p = 2.0 * NormalDist().cdf(-abs(z))
    h = 2.0 * math.asin(math.sqrt(p_t)) - 2.0 * math.asin(math.sqrt(p_c))
    return TestResult("two_proportion_z", z, None, p, p_c, p_t, diff, _relative(diff, p_c), h, "cohen_h")


__all__ = [
    "Summary", "TestResult", "percentile", "regularized_beta", "summarize", "t_two_sided_p",
    "two_proportion_z_test", "welch_t_test",
]
