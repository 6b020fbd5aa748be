"""The model browser: search, filters, sort and paging agree with models/discover; up to
four models compared side by side; bulk disable and enable; "Sync now" with its progress
bar reaching 100 % (a real discover flow in a child process against the emulator)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect
from sqlalchemy import text

from tests.admin import support
from tests.admin.support import ADMIN_TOKEN, API, CHEAP, MID, SMART

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _discover(admin_env, **params) -> dict:
    response = httpx.get(f"{admin_env.base_url}{API}/models/discover", params=params, headers=BEARER)
    assert response.status_code == 200, response.text
    return response.json()


def _shown(page) -> list[str]:
    return page.locator("#results input.pick").evaluate_all("boxes => boxes.map(b => b.value)")


def _settled(page, title_pattern: str) -> None:
    expect(page.locator("#results-title")).to_have_text(re.compile(title_pattern))
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_search_filter_sort_and_page_agree_with_the_api(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/models")
    support.wait_ready(page)
    everything = _discover(admin_env, limit=25)
    _settled(page, rf"^{everything['total']} models · page 1 of \d+$")
    assert _shown(page) == [m["id"] for m in everything["data"]]

    page.get_by_label("Search").fill("gpt")
    expected = _discover(admin_env, q="gpt", limit=25)
    _settled(page, rf"^{expected['total']} models")
    assert _shown(page) == [m["id"] for m in expected["data"]] and expected["total"] > 2
    expect(page).to_have_url(re.compile(r"/admin/models\?q=gpt"))

    page.get_by_label("Provider", exact=True).select_option("openai")
    page.get_by_label("tools", exact=True).check()
    page.get_by_label("Min context (tokens)").fill("100000")
    page.get_by_label("Max prompt price ($ per million)").fill("5")
    page.get_by_label("Sort by").select_option("prompt_price")
    page.get_by_label("Order", exact=True).select_option("desc")
    page.get_by_role("button", name="Apply filters").click()
    expected = _discover(admin_env, q="gpt", provider="openai", capability="tools", min_context=100000,
                         max_prompt_price="5", sort="prompt_price", order="desc", limit=25)
    _settled(page, rf"^{expected['total']} models?")
    assert _shown(page) == [m["id"] for m in expected["data"]] and expected["total"] >= 2
    prices = page.locator("#results tbody tr td:nth-child(5)").all_inner_texts()
    assert prices == [m["pricing"]["prompt_per_million"] for m in expected["data"]]
    support.screenshot(page, "models-filtered", shots)

    # Paging over everything, with the filters cleared by a plain GET (no script needed).
    page.goto(f"{admin_env.base_url}/admin/models?status=all&sort=name")
    support.wait_ready(page)
    page.get_by_role("link", name="Next →").click()
    _settled(page, r"page 2 of")
    second = _discover(admin_env, status="all", sort="name", limit=25, offset=25)
    assert _shown(page) == [m["id"] for m in second["data"]]
    expect(page).to_have_url(re.compile(r"page=2"))


def test_compare_up_to_four_then_disable_and_enable_them(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/models?q=openai/gpt-4")
    support.wait_ready(page)
    for model in (CHEAP, MID):
        page.get_by_label(f"Select {model}", exact=True).check()
    page.get_by_label("Search").fill("claude-sonnet-4")
    _settled(page, rf"^{_discover(admin_env, q='claude-sonnet-4')['total']} models? ·")
    page.get_by_label(f"Select {SMART}", exact=True).check()  # the selection survives a new search
    expect(page.locator("#selection-count")).to_have_text("(3 of 4)")

    page.get_by_role("button", name="Compare").click()
    table = page.locator("#compare-table")
    expect(table.locator("thead th")).to_have_text(["", CHEAP, MID, SMART])
    by_id = {m["id"]: m for m in _discover(admin_env, q="gpt-4")["data"] + _discover(admin_env, q="sonnet")["data"]}
    prompt_row = table.locator("tbody tr", has=page.get_by_role("rowheader", name="Prompt $/M"))
    expect(prompt_row.locator("td")).to_have_text([by_id[m]["pricing"]["prompt_per_million"] for m in (CHEAP, MID, SMART)])
    context_row = table.locator("tbody tr", has=page.get_by_role("rowheader", name="Context"))
    expect(context_row.locator("td")).to_have_text([f"{by_id[m]['context_length']:,}" for m in (CHEAP, MID, SMART)])
    support.screenshot(page, "models", shots, publish=True)

    # A fourth is allowed, a fifth is not.
    page.get_by_label("Search").fill("")
    _settled(page, rf"^{_discover(admin_env)['total']} models ·")
    free = [b for b in _shown(page) if b not in (CHEAP, MID, SMART)]
    page.get_by_label(f"Select {free[0]}", exact=True).check()
    expect(page.locator("#selection-count")).to_have_text("(4 of 4)")
    expect(page.get_by_label(f"Select {free[1]}", exact=True)).to_be_disabled()
    page.get_by_role("button", name=f"Remove {free[0]} from the selection").click()
    expect(page.locator("#selection-count")).to_have_text("(3 of 4)")

    page.get_by_role("button", name="Disable selected").click()
    expect(page.locator("#bulk-status")).to_have_text(re.compile(r"^Disabled 3 model\(s\)"))
    with admin_env.engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM ai_models WHERE id = ANY(:ids)"),
                                     {"ids": [CHEAP, MID, SMART]}).all())
    assert statuses == dict.fromkeys((CHEAP, MID, SMART), "disabled")
    expect(page.locator("#selection-count")).to_have_text("(0 of 4)")
    for model in (CHEAP, MID, SMART):  # the list is refreshed: only active models are listed
        expect(page.get_by_label(f"Select {model}", exact=True)).to_have_count(0)
    support.screenshot(page, "models-disabled", shots)

    page.get_by_label("Status", exact=True).select_option("disabled")
    _settled(page, r"^3 models")
    for model in (CHEAP, MID, SMART):
        page.get_by_label(f"Select {model}", exact=True).check()
    page.get_by_role("button", name="Enable selected").click()
    expect(page.locator("#bulk-status")).to_have_text(re.compile(r"^Enabled 3 model\(s\)"))
    with admin_env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ai_models WHERE status = 'disabled'")).scalar_one() == 0


def test_sync_now_shows_progress_until_it_succeeds(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/models")
    support.wait_ready(page)
    # Record every value the progress bar takes, from the page itself.
    page.evaluate("""() => { window.__progress = [];
        new MutationObserver(() => window.__progress.push(document.getElementById('sync-progress').value))
          .observe(document.getElementById('sync-progress'), {attributes: true}); }""")
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_function("() => ['succeeded', 'failed', 'quarantined', 'error'].includes("
                           "document.getElementById('sync-status').dataset.state)", timeout=180_000)
    status = page.locator("#sync-status")
    assert status.get_attribute("data-state") == "succeeded", status.inner_text()
    expect(status).to_have_text(re.compile(r"^Sync succeeded 100 % \((\d+) of \1\): 0 new, "))
    expect(page.locator("#sync-progress")).to_have_js_property("value", 100)
    seen = page.evaluate("window.__progress")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    with admin_env.engine.connect() as conn:
        job = conn.execute(text("SELECT status, requested_by, progress_done, progress_total FROM model_sync_jobs "
                                "ORDER BY created_at DESC LIMIT 1")).one()
    assert job.status == "succeeded" and job.requested_by == "api" and job.progress_done == job.progress_total
    support.screenshot(page, "models-sync", shots)
