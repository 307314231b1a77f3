"""ReportBuilder: every parameter a request set ends applied, adapted or ignored; strict turns ignored into errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from mediagen.domain.errors import UnsupportedParameter
from mediagen.domain.media import MediaType
from mediagen.domain.report import ReportBuilder
from mediagen.domain.request import MediaRequest
from mediagen.testing.strategies import valid_requests


def _builder(request: MediaRequest) -> ReportBuilder:
    return ReportBuilder(request, "m-1", backend="acme", vendor="Acme")


def test_applied_adapted_and_ignored_each_keep_the_asked_value_and_a_reason() -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="p", duration=5, seed=3, negative_prompt="rain")
    report = _builder(request)
    report.apply("seed")
    report.apply("duration", 5.0)
    report.adapt("duration", 4.0, "4, 8 or 12 seconds; 4 is nearest")
    report.ignore("negative_prompt", "m-1 takes no negative prompt")
    result = report.finish(strict=False)
    assert result.applied == {"seed": 3}
    assert [(a.name, a.requested, a.used) for a in result.adapted] == [("duration", 5, 4.0)]
    assert [(i.name, i.value) for i in result.ignored] == [("negative_prompt", "rain")]


def test_settle_applies_without_reasons_and_adapts_with_them_joined_once() -> None:
    report = _builder(MediaRequest(media_type=MediaType.IMAGE, prompt="p", seed=7, size="10x10"))
    report.settle("seed", 7, [])
    report.settle("size", "1024x1024", ["nearest size", "nearest size", "square only"])
    result = report.finish(strict=False)
    assert result.applied == {"seed": 7}
    assert result.adapted[0].reason == "nearest size; square only"


def test_parameters_the_adapter_never_mentions_are_reported_ignored_naming_the_vendor() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="p", extra={"style": "vivid"}, seed=1)
    result = _builder(request).finish(strict=False)
    reasons = {i.name: i.reason for i in result.ignored}
    assert reasons["seed"] == "m-1 has no such setting"
    assert reasons["extra.style"] == "not an option mediagen passes to Acme for m-1"


def test_strict_mode_names_the_first_ignored_parameter() -> None:
    report = _builder(MediaRequest(media_type=MediaType.IMAGE, prompt="p", seed=1))
    with pytest.raises(UnsupportedParameter) as caught:
        report.finish(strict=True)
    assert caught.value.field == "seed" and "acme would ignore it" in caught.value.message


@settings(max_examples=60, deadline=None)
@given(valid_requests())
def test_every_set_parameter_is_accounted_for_exactly_once(request: MediaRequest) -> None:
    report = _builder(request)
    names = sorted(request.set_parameters())
    for position, name in enumerate(names):
        if position % 3 == 0:
            report.apply(name)
        elif position % 3 == 1:
            report.adapt(name, "other", "because")
    result = report.finish(strict=False)
    seen = [*result.applied, *(a.name for a in result.adapted), *(i.name for i in result.ignored)]
    assert sorted(seen) == names
