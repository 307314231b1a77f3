"""A request for n images as vendor calls: the fewest the model allows, as even as can be, each reporting `n`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.application.several import shares, split_calls
from mediagen.domain.request import MAX_N

counts = st.integers(min_value=1, max_value=200)


@given(n=counts, per_call=st.integers(min_value=1, max_value=20))
def test_n_images_are_the_fewest_calls_the_model_allows_as_even_as_can_be(n: int, per_call: int) -> None:
    calls = split_calls(n, per_call)
    assert sum(calls) == n and len(calls) == -(-n // per_call)
    assert all(1 <= c <= per_call for c in calls) and max(calls) - min(calls) <= 1
    assert list(calls) == sorted(calls, reverse=True)


@pytest.mark.parametrize(("n", "per_call", "calls"), [(10, 4, (4, 3, 3)), (3, 10, (3,)), (5, 1, (1,) * 5)])
def test_examples_of_the_split(n: int, per_call: int, calls: tuple[int, ...]) -> None:
    assert split_calls(n, per_call) == calls


def test_no_images_or_no_room_per_call_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        split_calls(0, 4)
    with pytest.raises(ValueError, match=">= 1"):
        split_calls(3, 0)


@given(
    n=st.integers(min_value=2, max_value=MAX_N),
    per_call=st.integers(min_value=1, max_value=12),
    first=st.integers(min_value=0, max_value=50),
)
def test_shares_number_every_image_once_in_order_and_each_reports_n(n: int, per_call: int, first: int) -> None:
    names = tuple(f"fox-{i}.png" for i in range(1, n + 1))
    planned = shares(first, names, per_call, "model-x")
    assert [i for share in planned for i in share.items] == list(range(first, first + n))
    assert tuple(name for share in planned for name in share.names) == names
    for share in planned:
        report = share.report()
        if len(planned) == 1:
            assert report.applied == {"n": n} and not report.adapted
        else:
            (adapted,) = report.adapted
            assert (adapted.name, adapted.requested) == ("n", n) and str(len(planned)) in adapted.used
            assert "model-x" in adapted.reason
        part = share.part(0, 1)
        assert part.items == share.items[:1] and part.names == share.names[:1] and part.calls == share.calls
