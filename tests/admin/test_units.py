"""The pure parts of the admin pages, on literal data: session cookies (forged, expired,
another token's), CSRF tokens, the cookie's flags, the "next" redirect guard, alert-rule
form validation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from starlette.responses import Response

from proxy.admin import session as s
from proxy.admin.alert_rules import RuleFormError, rule_values
from proxy.admin.auth import safe_next
from proxy.admin.forms import Form

TOKEN = "admin-token-for-unit-tests"


def test_a_cookie_reads_back_until_it_expires_and_only_with_its_token():
    cookie, issued = s.issue(TOKEN, 600, now=1_000_000)
    assert s.read(cookie, TOKEN, now=1_000_100) == issued
    assert s.read(cookie, TOKEN, now=1_000_600) is None  # expired
    assert s.read(cookie, "another-token", now=1_000_100) is None  # the token changed: every session ends
    assert s.read(cookie, None, now=1_000_100) is None and s.read(cookie, " ", now=1_000_100) is None
    assert TOKEN not in cookie


@pytest.mark.parametrize("tamper", [
    lambda c: c.replace("v1.", "v2.", 1),
    lambda c: ".".join(c.split(".")[:3] + [str(int(c.split(".")[3]) + 10_000)] + c.split(".")[4:]),  # longer life
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
    lambda c: c + ".x",
    lambda c: "",
    lambda c: "x" * 600,
])
def test_a_tampered_cookie_is_no_session(tamper):
    cookie, _ = s.issue(TOKEN, 600, now=1_000_000)
    assert s.read(tamper(cookie), TOKEN, now=1_000_100) is None


def test_csrf_tokens_are_per_session():
    _, one = s.issue(TOKEN, 600)
    _, two = s.issue(TOKEN, 600)
    assert one.csrf_token != two.csrf_token
    assert s.csrf_matches(one, one.csrf_token) and not s.csrf_matches(one, two.csrf_token)
    assert not s.csrf_matches(one, None) and not s.csrf_matches(one, "")


def test_token_check_and_cookie_flags():
    assert s.token_matches(f" {TOKEN} ", TOKEN) and not s.token_matches("nope", TOKEN)
    assert not s.token_matches(TOKEN, None) and not s.token_matches("", "")
    response = Response()
    s.set_cookie(response, "value", s.SessionConfig(secure_cookie=True, ttl_seconds=900))
    header = response.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=strict", "secure", "max-age=900", "path=/"):
        assert flag in header


def test_session_config_from_the_environment():
    assert s.SessionConfig.from_environ({}, production=True).secure_cookie is True
    assert s.SessionConfig.from_environ({}, production=False).secure_cookie is False
    config = s.SessionConfig.from_environ({"MINERVA_ADMIN_COOKIE_SECURE": "true",
                                           "MINERVA_ADMIN_SESSION_TTL_S": "1800"}, production=False)
    assert config == s.SessionConfig(secure_cookie=True, ttl_seconds=1800)
    with pytest.raises(ValueError, match="MINERVA_ADMIN_COOKIE_SECURE"):
        s.SessionConfig.from_environ({"MINERVA_ADMIN_COOKIE_SECURE": "maybe"}, production=False)
    with pytest.raises(ValueError, match="MINERVA_ADMIN_SESSION_TTL_S"):
        s.SessionConfig.from_environ({"MINERVA_ADMIN_SESSION_TTL_S": "5"}, production=False)


@pytest.mark.parametrize("value, expected", [
    (None, "/admin/dashboard"), ("/admin/models?q=x", "/admin/models?q=x"), ("https://evil.example/admin/",
     "/admin/dashboard"), ("//evil.example/admin/x", "/admin/dashboard"), ("/api/platform/x", "/admin/dashboard"),
    ("/admin/login?next=/admin/x", "/admin/dashboard"), ("/admin/\\evil", "/admin/dashboard"),
])
def test_only_admin_pages_may_follow_login(value, expected):
    assert safe_next(value) == expected


def _form(**fields: str) -> Form:
    return Form({k: [v] for k, v in fields.items()})


GOOD = {"name": "Spend", "metric": "spend.total_usd", "comparison": "gt", "threshold": "12.50",
        "window_seconds": "3600", "cooldown_seconds": "0", "severity": "warning", "channel": "email",
        "channel_target": "a@example.com, b@example.org", "scope": '{"model": "openai/gpt-4o"}', "enabled": "on"}


def test_a_rule_form_becomes_column_values():
    values = rule_values(_form(**GOOD))
    assert values["threshold"] == Decimal("12.50") and values["channel_config"] == {"to": ["a@example.com", "b@example.org"]}
    assert values["scope"] == {"model": "openai/gpt-4o"} and values["enabled"] is True and values["cooldown_seconds"] == 0


def test_a_rule_form_names_every_bad_field():
    with pytest.raises(RuleFormError) as caught:
        rule_values(_form(**{**GOOD, "name": "", "metric": "nope", "threshold": "NaN", "window_seconds": "0",
                             "scope": "[1]", "channel_target": "not-an-address"}))
    assert set(caught.value.errors) == {"name", "metric", "threshold", "window_seconds", "scope", "channel_target"}


def test_a_blank_target_keeps_the_stored_one_only_for_the_same_channel():
    current = {"channel": "webhook"}
    kept = rule_values(_form(**{**GOOD, "channel": "webhook", "channel_target": ""}), current=current)
    assert "channel_config" not in kept
    with pytest.raises(RuleFormError, match="channel_target"):
        rule_values(_form(**{**GOOD, "channel": "email", "channel_target": ""}), current=current)
    assert rule_values(_form(**{**GOOD, "channel": "log", "channel_target": ""}))["channel_config"] == {}
