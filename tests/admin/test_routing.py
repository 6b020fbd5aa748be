"""The routing page: build a strategy (weights, requirements, an ordered fallback chain
edited with the keyboard), save it through routing/strategies, and watch the decision
tester (routing/recommend) change as a slider moves and as the sample request changes."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.admin import support
from tests.admin.support import ADMIN_TOKEN, API, CHEAP, MID, SMART

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _slider(page, label: str, key: str) -> None:
    slider = page.get_by_label(label, exact=True)
    slider.focus()
    slider.press(key)  # Home = 0, End = 100: keyboard only


def _decision(page) -> str:
    return page.locator("#decision").get_attribute("data-selected") or ""


def test_the_decision_follows_the_sample_request_and_the_sliders(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/routing")
    support.wait_ready(page)
    expect(page.locator("#d-selected")).not_to_be_empty()
    expect(page.get_by_label("Saved strategy")).to_contain_text("balanced")

    # The sample request: an image rules out text-only models, and the page says so.
    page.get_by_label("Includes an image").check()
    expect(page.locator("#d-excluded")).to_contain_text("image")
    page.get_by_label("Uses tools").check()
    expect(page.locator("#d-reasons")).not_to_be_empty()
    page.get_by_label("Includes an image").uncheck()
    _idle(page)

    # A saved strategy is asked for by its alias.
    page.get_by_label("Saved strategy").select_option("quality")
    expect(page.locator("#d-strategy")).to_contain_text("quality")
    by_saved_quality = _decision(page)
    page.get_by_label("Saved strategy").select_option("cheapest")
    expect(page.locator("#d-strategy")).to_contain_text("cheapest")
    assert _decision(page) != by_saved_quality
    page.get_by_label("Saved strategy").select_option("")
    _idle(page)

    # Unsaved weights: the tester follows the sliders (routing/recommend with "weights").
    _slider(page, "Latency", "Home")
    _slider(page, "Quality", "Home")
    _slider(page, "Cost", "End")
    expect(page.get_by_label("Kind")).to_have_value("custom")
    expect(page.locator("#w-cost-out")).to_have_text("100")
    _idle(page)
    by_cost = _decision(page)
    support.screenshot(page, "routing-tester", shots)
    _slider(page, "Cost", "Home")
    _slider(page, "Quality", "End")
    page.wait_for_function("(before) => { const d = document.getElementById('decision');"
                           " return d.getAttribute('aria-busy') === 'false' && d.dataset.selected"
                           " && d.dataset.selected !== before; }", arg=by_cost, timeout=10_000)
    assert _decision(page) != by_cost


def _idle(page) -> None:
    page.wait_for_timeout(400)  # past the 250 ms debounce
    page.wait_for_function("() => document.getElementById('decision').getAttribute('aria-busy') === 'false'")


def test_build_and_save_a_strategy_with_a_keyboard_edited_fallback_chain(signed_in, admin_env, shots):
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/routing")
    support.wait_ready(page)
    page.get_by_label("Name", exact=True).fill("ui-tools")
    page.get_by_label("Alias", exact=True).fill("ui/tools")
    _slider(page, "Latency", "Home")
    page.get_by_label("Tools (function calling)").check()
    page.get_by_label("Min context (tokens)").fill("32000")
    page.get_by_label("Max prompt price ($/M)").fill("5")
    add = page.get_by_label("Add a model")
    for model in (CHEAP, MID, SMART):
        add.fill(model)
        add.press("Enter")
    expect(page.locator("#chain li span")).to_have_text([CHEAP, MID, SMART])

    page.get_by_role("button", name=f"Move {SMART} up").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#chain li span")).to_have_text([CHEAP, SMART, MID])
    expect(page.get_by_role("button", name=f"Move {SMART} up")).to_be_focused()  # focus follows the item
    page.keyboard.press("Enter")
    expect(page.locator("#chain li span")).to_have_text([SMART, CHEAP, MID])
    expect(page.locator("#chain-status")).to_have_text(f"{SMART} moved to position 1")
    page.get_by_role("button", name=f"Remove {MID}").click()
    expect(page.locator("#chain li span")).to_have_text([SMART, CHEAP])
    support.screenshot(page, "routing", shots, publish=True)

    page.get_by_role("button", name="Save strategy").click()
    expect(page.locator("#strategy-status")).to_have_text("Saved ui-tools (version 1).")
    saved = httpx.get(f"{admin_env.base_url}{API}/routing/strategies/ui-tools", headers=BEARER).json()
    assert saved["kind"] == "custom" and saved["alias"] == "ui/tools"
    assert saved["weights"] == {"cost": 0.4, "latency": 0.0, "quality": 0.3}
    assert saved["requirements"] == {"supports_tools": True, "min_context_length": 32000,
                                     "max_prompt_price": "0.000005"}
    assert saved["fallback_chain"] == [SMART, CHEAP]
    expect(page.get_by_label("Saved strategy")).to_have_value("ui-tools")

    # Edit it again: the change is saved as a new version.
    page.get_by_role("button", name=f"Remove {CHEAP}").click()
    page.get_by_role("button", name="Save strategy").click()
    expect(page.locator("#strategy-status")).to_have_text("Saved ui-tools (version 2).")
    saved = httpx.get(f"{admin_env.base_url}{API}/routing/strategies/ui-tools", headers=BEARER).json()
    assert saved["fallback_chain"] == [SMART]

    # An unknown model in the chain is refused by the API, and the page says why.
    page.get_by_label("Saved strategy").select_option("")
    page.get_by_label("Name", exact=True).fill("ui-broken")
    add.fill("nobody/no-such-model")
    add.press("Enter")
    page.get_by_role("button", name="Save strategy").click()
    expect(page.locator("#strategy-error")).to_contain_text("no-such-model")
