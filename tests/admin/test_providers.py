"""The providers page: configure OpenRouter (the key write-only, shown as its fingerprint;
money as decimal strings), refuse a bad amount beside its field, test the connection."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from minerva_core.credentials import fingerprint
from tests.admin import support
from tests.admin.support import ADMIN_TOKEN, API

KEY = "sk-or-v1-admin-ui-test-0123456789abcdef"


def test_configure_openrouter_and_test_the_connection(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/providers")
    support.wait_ready(page)
    expect(page.locator("#config-status")).to_contain_text("Not configured yet")
    expect(page.get_by_role("heading", level=1)).to_have_text("Providers")

    page.get_by_label("API key").fill(KEY)
    page.get_by_label("Base URL").fill(admin_env.upstream)
    page.get_by_label("Provider sort").select_option("price")
    page.get_by_label("Preferred providers, in order").fill("openai, anthropic")
    page.get_by_label("Daily limit").fill("50.00")
    page.get_by_label("Monthly limit").fill("1000.125")
    page.get_by_label("Requests per minute").fill("600")
    page.get_by_label("Tokens per minute").fill("200000")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator("#fingerprint")).to_have_text(f"{fingerprint(KEY)} (stored)")
    expect(page.get_by_label("API key")).to_have_value("")  # write-only: never shown back

    stored = httpx.get(f"{admin_env.base_url}{API}/provider/configure",
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert stored["cost_limits"] == {"daily_limit_usd": "50.00", "monthly_limit_usd": "1000.125"}
    assert stored["rate_limits"] == {"rpm": 600, "tpm": 200000}
    assert stored["routing_preferences"] == {"sort": "price", "order": ["openai", "anthropic"]}
    assert stored["base_url"] == admin_env.upstream and stored["credential"]["stored_fingerprint"] == fingerprint(KEY)

    page.reload()
    support.wait_ready(page)
    expect(page.get_by_label("Daily limit")).to_have_value("50.00")
    expect(page.get_by_label("Monthly limit")).to_have_value("1000.125")
    assert KEY not in page.content()

    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-facts")).to_be_visible()
    expect(page.locator("#t-status")).to_have_text("healthy")
    expect(page.locator("#t-reachable")).to_have_text("yes")
    expect(page.locator("#t-key")).to_have_text("yes")
    expect(page.locator("#t-latency")).to_have_text(re.compile(r"^\d+(\.\d+)? ms$"))
    expect(page.locator("#t-credits")).to_have_text(re.compile(r"^\$\d+(\.\d+)?$"))
    expect(page.locator("#t-fingerprint")).to_have_text(f"{fingerprint(KEY)} (stored)")
    support.screenshot(page, "providers", shots, publish=True)


def test_a_bad_amount_is_refused_beside_its_field(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/providers")
    support.wait_ready(page)
    page.get_by_label("Daily limit").fill("fifty")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator("#config-error")).to_contain_text("daily_limit_usd")
    expect(page.get_by_label("Daily limit")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Daily limit")).to_be_focused()
    support.screenshot(page, "providers-invalid", shots)
