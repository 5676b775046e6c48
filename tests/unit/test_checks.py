"""One Check and one status vocabulary for the health check and vigia doctor."""

from __future__ import annotations

from services.commands.doctor import SYMBOLS, format_check
from services.commands.doctor.checks import CHECKS, QUESTIONS, check_public_reads, failed, passed, skipped
from shared.checks import Check, worst
from shared.pipeline.health import overall


def test_it_ranks_statuses_and_folds_skipped_into_ok() -> None:
    checks = [Check("a", "ok", ""), Check("b", "skipped", ""), Check("c", "degraded", "")]
    assert worst(checks) == "degraded"
    assert worst([*checks, Check("d", "unhealthy", "")]) == "unhealthy"
    assert worst([Check("b", "skipped", "")]) == "skipped" and worst([]) == "ok"
    assert overall({c.name: c for c in checks[:2]}) == "healthy"
    assert overall({c.name: c for c in checks}) == "degraded"


def test_it_gives_a_person_the_verdict_pass_fail_or_skip() -> None:
    assert [Check("x", s, "").verdict for s in ("ok", "skipped", "degraded", "unhealthy")] == [
        "pass", "skip", "fail", "fail"]
    assert [Check("x", s, "").failed for s in ("ok", "skipped", "degraded", "unhealthy")] == [
        False, False, True, True]
    assert set(SYMBOLS) == {"pass", "fail", "skip"}


def test_it_keeps_the_health_report_form_of_a_check() -> None:
    assert Check("redis", "ok", "PING answered", latency_ms=0.4).as_dict() == {
        "status": "ok", "detail": "PING answered", "latency_ms": 0.4}
    assert Check("groq", "skipped", "not set", title="Groq key accepted", fix="x").as_dict() == {
        "status": "skipped", "detail": "not set"}


def test_it_asks_one_titled_question_per_doctor_check_with_the_weight_of_its_failure() -> None:
    names = {check.__name__.removeprefix("check_") for check in (*CHECKS, check_public_reads)}
    assert names == set(QUESTIONS)
    assert failed("database", "down", "start it").status == "unhealthy"
    assert failed("groq", "rejected", "check the key").status == "degraded"
    line = format_check(failed("groq", "rejected", "check the key"))
    assert line == "✗ Groq key accepted: rejected — fix: check the key"
    assert format_check(passed("redis", "answered")) == "✓ Redis reachable: answered"
    assert format_check(skipped("portal", "no key")) == "– Portal key accepted: no key"
