"""The significance tests on literal samples with p-values known from elsewhere."""

from __future__ import annotations

import math
import random

import pytest

from minerva_core.migration.stats import (
    percentile,
    summarize,
    t_two_sided_p,
    two_proportion_z_test,
    welch_t_test,
)

# R's `sleep` data set; t.test(extra ~ group, data = sleep) (Welch by default) prints
# t = -1.8608, df = 17.776, p-value = 0.07939 (group 1 minus group 2).
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_on_the_sleep_data():
    result = welch_t_test(summarize(SLEEP_1), summarize(SLEEP_2))  # treatment minus control
    assert result.statistic == pytest.approx(1.8608, abs=1e-4)
    assert result.df == pytest.approx(17.776, abs=1e-3)
    assert result.p_value == pytest.approx(0.07939, abs=1e-5)
    assert result.difference == pytest.approx(1.58)  # means 0.75 and 2.33
    # Cohen's d with the average variance: 1.58 / sqrt((3.2006 + 4.0090) / 2), by hand.
    assert result.effect_size == pytest.approx(1.58 / math.sqrt((3.200556 + 4.009) / 2), rel=1e-4)
    assert not result.significant(0.05) and result.significant(0.10)


@pytest.mark.parametrize("t,df,p", [
    # two-sided critical values from a printed t table
    (12.706, 1, 0.05), (2.228, 10, 0.05), (3.169, 10, 0.01), (2.086, 20, 0.05), (1.960, 1e6, 0.05),
    (0.0, 5, 1.0),
])
def test_t_distribution_against_the_table(t, df, p):
    assert t_two_sided_p(t, df) == pytest.approx(p, abs=2e-4)


def test_two_proportion_z_by_hand():
    # 15/50 vs 25/50: pooled 0.4, se = sqrt(0.4 * 0.6 * (1/50 + 1/50)) = 0.0979796,
    # z = 0.2 / se = 2.0412 (R: prop.test(c(15, 25), c(50, 50), correct = FALSE) gives
    # X-squared = 4.1667 = z^2, p-value = 0.04123).
    result = two_proportion_z_test(15, 50, 25, 50)
    assert result.statistic == pytest.approx(2.0412, abs=1e-4)
    assert result.statistic**2 == pytest.approx(4.1667, abs=1e-4)
    assert result.p_value == pytest.approx(0.04123, abs=1e-5)
    assert result.difference == pytest.approx(0.2) and result.relative_difference == pytest.approx(2 / 3)
    assert result.effect_size == pytest.approx(2 * math.asin(math.sqrt(0.5)) - 2 * math.asin(math.sqrt(0.3)))


def test_degenerate_samples():
    same = welch_t_test(summarize([5, 5, 5]), summarize([5, 5, 5]))
    assert (same.statistic, same.p_value) == (0.0, 1.0)
    apart = welch_t_test(summarize([5, 5, 5]), summarize([7, 7, 7]))
    assert apart.p_value == 0.0 and apart.statistic == math.inf
    no_errors = two_proportion_z_test(0, 100, 0, 100)
    assert (no_errors.statistic, no_errors.p_value) == (0.0, 1.0)
    with pytest.raises(ValueError):
        welch_t_test(summarize([1]), summarize([1, 2]))


def test_percentile_is_percentile_cont():
    # PostgreSQL: SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY x) FROM generate_series(1, 10) x -> 9.55
    assert percentile(list(range(1, 11)), 0.95) == pytest.approx(9.55)
    assert percentile([42], 0.95) == 42


def test_agrees_with_scipy_on_random_samples():
    stats = pytest.importorskip("scipy.stats")  # a cross-check only: the code does not use it
    rng = random.Random(7)
    for _ in range(20):
        a = [rng.gauss(100, 20) for _ in range(rng.randint(2, 80))]
        b = [rng.lognormvariate(4.6, 0.4) for _ in range(rng.randint(2, 80))]
        ours = welch_t_test(summarize(a), summarize(b))
        theirs = stats.ttest_ind(b, a, equal_var=False)
        assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-12)
