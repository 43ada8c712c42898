"""ExactSum: order-independent exact float sums, the state behind every dataset mean."""

from __future__ import annotations

import math
import random

from stfbench.metrics.exact_sum import ExactSum


def test_cancellation_that_naive_summation_loses():
    terms = [1e16, 1.0, -1e16]
    assert sum(terms) == 0.0  # the naive sum drops the 1.0
    total = ExactSum()
    total.add(terms)
    assert total.value == 1.0


def test_value_is_independent_of_order_and_equals_fsum():
    rng = random.Random(0)
    terms = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(2000)]
    values = set()
    for _ in range(5):
        rng.shuffle(terms)
        total = ExactSum()
        total.add(terms)
        values.add(total.value)
    assert values == {math.fsum(terms)}


def test_merge_equals_adding_everything_in_one():
    rng = random.Random(1)
    terms = [rng.gauss(0.8, 0.1) for _ in range(999)]
    shards = [ExactSum() for _ in range(4)]
    for i, term in enumerate(terms):
        shards[i % 4].add([term])
    merged = ExactSum()
    for shard in shards[::-1]:
        merged.merge(ExactSum(shard.state()))  # through the state a run folder stores
    whole = ExactSum()
    whole.add(terms)
    assert merged.value == whole.value == math.fsum(terms)


def test_bare_float_state_is_accepted():
    assert ExactSum(2.5).value == 2.5
    assert ExactSum().value == 0.0


def test_non_finite_terms_follow_fsum():
    for terms in ([1.0, math.inf, 2.0], [math.inf, -math.inf], [math.nan, 1.0], [-math.inf]):
        total = ExactSum()
        total.add(terms)
        restored = ExactSum(total.state())
        expected = math.fsum(terms) if not (math.inf in terms and -math.inf in terms) else math.nan
        for value in (total.value, restored.value):
            assert value == expected or (math.isnan(value) and math.isnan(expected))
