"""A request for n images as vendor calls: as few as the model's `images_per_call` allows, and how each result
reports it (pure functions, property-tested in tests/unit/test_several.py)."""

from __future__ import annotations

import attrs

from mediagen.domain.backend import BackendSpec
from mediagen.domain.result import Adapted, ParameterReport


def split_calls(n: int, per_call: int) -> tuple[int, ...]:
    """n images as the fewest calls of at most `per_call` each, as even as can be (10 by 4: 4, 3, 3), larger first."""
    if n < 1 or per_call < 1:
        raise ValueError(f"n and per_call must be >= 1, got {n} and {per_call}")
    calls = -(-n // per_call)
    base, more = divmod(n, calls)
    return tuple(base + 1 if index < more else base for index in range(calls))


def images_per_call(spec: BackendSpec, model: str) -> int:
    """The most images one call to `model` makes; 1 for a model the spec does not list."""
    found = spec.model(model)
    return found.constraints.images_per_call if found is not None else 1


@attrs.frozen
class Share:
    """One vendor call's part of a request for n images: its images' batch items and file names, in the vendor's
    order, and the plan the request was split by, which each of its results reports."""

    items: tuple[int, ...]
    names: tuple[str | None, ...]
    #: The request's n.
    asked: int
    #: The images each call of the plan makes.
    calls: tuple[int, ...]
    #: The most images one call of the planned model makes.
    per_call: int
    model: str

    @property
    def first(self) -> int:
        return self.items[0]

    def part(self, start: int, count: int) -> Share:
        """The share of `count` images from `start` (a call split again on a backend that makes fewer per call)."""
        return attrs.evolve(self, items=self.items[start : start + count], names=self.names[start : start + count])

    def report(self) -> ParameterReport:
        """`n` as the results report it: applied when one call made them all, else adapted to the calls made."""
        if len(self.calls) == 1:
            return ParameterReport(applied={"n": self.asked})
        if self.per_call == 1:
            used = f"{len(self.calls)} calls of one image"
            reason = f"{self.model} makes one image per call"
        else:
            used = f"{len(self.calls)} calls of {'+'.join(str(c) for c in self.calls)} images"
            reason = f"{self.model} makes at most {self.per_call} images per call"
        return ParameterReport(adapted=(Adapted("n", self.asked, used, reason),))


def shares(first_item: int, names: tuple[str | None, ...], per_call: int, model: str) -> tuple[Share, ...]:
    """The calls for a request of len(names) images on `model`, with their items numbered from `first_item`."""
    calls = split_calls(len(names), per_call)
    out: list[Share] = []
    start = 0
    for count in calls:
        items = tuple(range(first_item + start, first_item + start + count))
        out.append(Share(items, names[start : start + count], len(names), calls, per_call, model))
        start += count
    return tuple(out)
