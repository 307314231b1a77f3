"""Fault scripts as data: parsing, the per-vendor queue, counts, routes and scopes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mediagen.sandbox import FAULT_KINDS, Fault, FaultScope, FaultScript
from mediagen.sandbox.faults import markdown_table, parse_standing

REQUEST = (FaultScope.REQUEST,)
JOB_ROUTE = (FaultScope.REQUEST, FaultScope.JOB)


def test_header_syntax_parses_name_and_parameters_and_prints_back() -> None:
    fault = Fault.parse(" rate_limit ; retry_after=2.5 ")
    assert fault == Fault("rate_limit", {"retry_after": "2.5"})
    assert fault.number("retry_after", 1) == 2.5
    assert str(fault) == "rate_limit;retry_after=2.5"


def test_unknown_fault_names_list_every_known_fault() -> None:
    with pytest.raises(ValueError, match="known faults: rate_limit, server_error") as info:
        Fault.parse("explode")
    assert all(name in str(info.value) for name in FAULT_KINDS)


def test_parameters_must_be_key_value_and_numbers_must_be_numbers() -> None:
    with pytest.raises(ValueError, match="write key=value"):
        Fault.parse("hang;30")
    with pytest.raises(ValueError, match="seconds='soon' is not a number"):
        Fault.parse("hang;seconds=soon").number("seconds", 1)


def test_a_fault_pushed_n_times_applies_to_the_next_n_requests_only() -> None:
    script = FaultScript()
    script.push("openai", "server_error", times=2)
    taken = [script.take("openai", "POST", "/v1/images/generations", REQUEST) for _ in range(3)]
    assert [f.name if f else None for f in taken] == ["server_error", "server_error", None]
    assert script.pending() == []
    assert len(script.applied("openai")) == 2


def test_a_fault_pushed_with_times_none_stays_until_cleared() -> None:
    script = FaultScript()
    script.push("openai", Fault("unavailable"), times=None)
    assert all(script.take("openai", "GET", "/v1/videos/x", REQUEST) for _ in range(5))
    script.clear("openai")
    assert script.take("openai", "GET", "/v1/videos/x", REQUEST) is None


def test_faults_are_kept_per_vendor() -> None:
    script = FaultScript()
    script.push("google", "rate_limit")
    assert script.take("openai", "POST", "/v1/responses", REQUEST) is None
    assert script.take("google", "POST", "/v1/x", REQUEST) == Fault("rate_limit")


def test_route_narrows_a_fault_by_path_glob_and_method() -> None:
    script = FaultScript()
    script.push("openai", "rate_limit", route="POST /v1/images/*")
    assert script.take("openai", "GET", "/v1/images/generations", REQUEST) is None
    assert script.take("openai", "POST", "/v1/responses", REQUEST) is None
    assert script.take("openai", "POST", "/v1/images/edits", REQUEST) == Fault("rate_limit")


def test_job_faults_wait_for_a_job_creating_request() -> None:
    script = FaultScript()
    script.push("openai", "job_fails")
    assert script.take("openai", "GET", "/v1/videos/v1", REQUEST) is None
    assert script.take("openai", "POST", "/v1/videos", JOB_ROUTE) == Fault("job_fails")


def test_times_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FaultScript().push("openai", "hang", times=0)


def test_wait_applied_returns_once_another_thread_applies_a_fault() -> None:
    script = FaultScript()
    script.push("openai", "server_error")
    assert not script.wait_applied(1, timeout=0.01)
    worker = threading.Thread(target=script.take, args=("openai", "GET", "/v1/x", REQUEST))
    worker.start()
    assert script.wait_applied(1, timeout=5)
    worker.join()


def test_standing_faults_read_vendor_times_and_route() -> None:
    vendor, fault, times, route = parse_standing("openai:rate_limit;retry_after=3;times=2;route=/v1/videos*")
    assert (vendor, fault, times, route) == ("openai", Fault("rate_limit", {"retry_after": "3"}), 2, "/v1/videos*")
    with pytest.raises(ValueError, match="vendor:name"):
        parse_standing("rate_limit")


def test_the_docs_fault_table_is_the_catalogue() -> None:
    docs = Path(__file__).parents[2] / "docs" / "sandbox.md"
    assert markdown_table() in docs.read_text(encoding="utf-8")


#: A route of each fake, its auth header, and how that vendor says its quota is spent.
QUOTA_ANSWERS = {
    "openai": (
        "GET",
        "/v1/videos",
        {"Authorization": "Bearer k"},
        429,
        lambda b: b["error"]["code"] == "insufficient_quota",
    ),
    "google": (
        "POST",
        "/v1/models/gemini-2.5-flash-image:generateContent",
        {"x-goog-api-key": "k"},
        429,
        lambda b: b["error"]["status"] == "RESOURCE_EXHAUSTED",
    ),
    "elevenlabs": ("GET", "/v1/models", {"xi-api-key": "k"}, 401, lambda b: b["detail"]["status"] == "quota_exceeded"),
}


@pytest.mark.parametrize("vendor", list(QUOTA_ANSWERS))
async def test_every_fake_answers_a_spent_quota_in_its_vendors_form(vendor: str) -> None:
    import httpx

    from mediagen.sandbox import Sandbox

    method, path, headers, status, says_quota = QUOTA_ANSWERS[vendor]
    async with Sandbox(vendors=(vendor,)) as sb, httpx.AsyncClient() as http:
        sb.faults.push(vendor, "quota_exceeded")
        answer = await http.request(method, sb.origin(vendor) + path, headers=headers, json={})
    assert answer.status_code == status
    assert says_quota(answer.json())
