"""`ExactSum`: a float sum that does not depend on the order of its terms, so a sharded or resumed run's
dataset means equal one process's bit for bit.

It keeps Shewchuk's non-overlapping partials (the state `math.fsum` keeps inside): their exact sum is the
exact sum of every term added, and `value` rounds it once. A handful of floats, whatever the term count.
Non-finite terms (an identical frame's infinite PSNR) are summed apart, as `math.fsum` does: any inf makes the
value inf, inf and -inf (or any nan) make it nan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


class ExactSum:
    """Exact running sum of floats; `value` = the correctly rounded sum of all terms (order-independent)."""

    def __init__(self, partials: Iterable[float] | float = ()) -> None:
        self.partials: list[float] = []
        self.special = 0.0  # sum of the non-finite terms
        self.add([partials] if isinstance(partials, int | float) else partials)  # a bare float: an older state

    def add(self, terms: Iterable[float]) -> None:
        """Add every term exactly (Shewchuk 1997; the algorithm of `math.fsum`)."""
        partials = self.partials
        for term in terms:
            x = float(term)
            if not math.isfinite(x):
                self.special += x
                continue
            kept = 0
            for y in partials:
                if abs(x) < abs(y):
                    x, y = y, x
                high = x + y
                low = y - (high - x)
                if low:
                    partials[kept] = low
                    kept += 1
                x = high
            partials[kept:] = [x]

    def state(self) -> list[float]:
        """The partials (and the non-finite sum, if any) as a list of floats; `ExactSum(state)` restores it."""
        return [*self.partials, self.special] if self.special else list(self.partials)

    def merge(self, other: ExactSum) -> None:
        self.add(other.state())

    @property
    def value(self) -> float:
        return self.special if self.special else math.fsum(self.partials)
