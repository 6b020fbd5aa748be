"""Signing in and out, the session cookie's flags, redirects for anonymous visitors, CSRF on
every state-changing form and on the JSON API through the session, and the unchanged bearer
path of the admin API."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

import httpx
import pytest

from tests.admin import support
from tests.admin.support import ADMIN_TOKEN, API

PAGES = ["/admin/dashboard", "/admin/providers", "/admin/models?q=gpt&status=active", "/admin/routing",
         "/admin/models/results?q=gpt", "/admin/dashboard/alerts", "/admin/dashboard/runs",
         f"/admin/reports/{uuid.uuid4()}/csv"]


@contextmanager
def _session(base_url: str) -> Iterator[tuple[httpx.Client, str]]:
    """An httpx client holding a session cookie, and the session's CSRF token."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin/providers"})
        assert response.status_code == 303 and response.headers["location"] == "/admin/providers"
        page = client.get("/admin/providers")
        assert page.status_code == 200
        yield client, re.search(r'data-csrf="([^"]+)"', page.text).group(1)


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(admin_env, path):
    with httpx.Client(base_url=admin_env.base_url, timeout=10) as client:
        response = client.get(path)
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/admin/login?next=/admin/")
        assert unquote(location.split("next=", 1)[1]) == path
        htmx = client.get(path, headers={"HX-Request": "true"})
        assert htmx.status_code == 204 and htmx.headers["hx-redirect"].startswith("/admin/login?next=")
        assert client.get("/admin").headers["location"] == "/admin/login"


def test_sign_in_returns_to_the_page_asked_for_and_sign_out_ends_the_session(page, admin_env, shots):
    base = admin_env.base_url
    page.goto(f"{base}/admin/models?q=gpt")
    page.wait_for_url(re.compile(r".*/admin/login\?next=.*"))
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That is not the admin token."
    assert page.get_by_label("Admin token").get_attribute("aria-invalid") == "true"
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    support.wait_ready(page)
    support.screenshot(page, "login", shots, publish=True)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/models?q=gpt")
    assert page.get_by_label("Search").input_value() == "gpt"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/admin/login")
    assert not [c for c in page.context.cookies() if c["name"] == "minerva_admin"]
    page.goto(f"{base}/admin/dashboard")
    page.wait_for_url(f"{base}/admin/login?next=/admin/dashboard")


def test_the_session_cookie_is_httponly_samesite_strict_and_expires(page, admin_env):
    support.login(page, admin_env.base_url)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "minerva_admin"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["secure"] is False  # this app is configured for plain http (tests)
    assert 3000 < cookie["expires"] - time.time() <= 3600
    assert ADMIN_TOKEN not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # not readable by scripts

    with httpx.Client(base_url=admin_env.base_url, timeout=10) as client:
        response = client.post("/admin/login", data={"token": ADMIN_TOKEN})
        header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "max-age=3600" in header
    assert "path=/" in header and "secure" not in header


def test_a_form_post_without_its_csrf_token_is_refused(admin_env):
    with _session(admin_env.base_url) as (client, csrf):
        rule = {"name": "csrf probe", "metric": "spend.total_usd", "comparison": "gt", "threshold": "1",
                "window_seconds": "3600", "cooldown_seconds": "3600", "severity": "info", "channel": "log",
                "enabled": "on"}
        assert client.post("/admin/alerts/rules", data=rule).status_code == 403
        assert client.post("/admin/alerts/rules", data={**rule, "csrf_token": csrf[:-2] + "xx"}).status_code == 403
        assert client.post("/admin/logout", data={}).status_code == 403
        accepted = client.post("/admin/alerts/rules", data={**rule, "csrf_token": csrf})
        assert accepted.status_code == 303, accepted.text
        by_header = client.post("/admin/alerts/rules", data={**rule, "name": "csrf probe 2"},
                                headers={"X-CSRF-Token": csrf})
        assert by_header.status_code == 303  # what htmx sends (hx-headers on <body>)
        # Another browser's session token is no good either.
        with _session(admin_env.base_url) as (_, other_csrf):
            assert client.post("/admin/logout", data={"csrf_token": other_csrf}).status_code == 403
        assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303


def test_the_json_api_takes_the_session_only_with_its_csrf_header_and_the_bearer_path_is_unchanged(admin_env):
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with _session(admin_env.base_url) as (client, csrf):
        for path in ("/provider/configure", "/routing/strategies"):  # a FastAPI router, the gateway
            refused = client.get(API + path)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["error"]["code"] == "csrf_failed"
            assert client.get(API + path, headers={"X-CSRF-Token": "wrong"}).status_code == 403
            assert client.get(API + path, headers={"X-CSRF-Token": csrf}).status_code == 200, path
            # An Authorization header always wins: a wrong bearer is 401 even beside a good cookie.
            wrong = client.get(API + path, headers={"X-CSRF-Token": csrf, "Authorization": "Bearer nope"})
            assert wrong.status_code == 401, path
    with httpx.Client(base_url=admin_env.base_url, timeout=10) as anonymous:
        for path in ("/provider/configure", "/routing/strategies"):
            assert anonymous.get(API + path, headers=bearer).status_code == 200
            missing = anonymous.get(API + path)
            assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    with httpx.Client(base_url=admin_env.base_url, timeout=10,
                      cookies={"minerva_admin": "v1.a.1.9999999999.sig"}) as forger:
        assert forger.get(API + "/provider/configure", headers={"X-CSRF-Token": "x"}).status_code == 401
        assert forger.get("/admin/providers").status_code == 303
