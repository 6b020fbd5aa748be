"""The dashboard: charts drawn from the analytics API (canvases present and painted), the
model performance table, alert rules created, edited, muted and unmuted through the page's
forms (the webhook URL write-only), recent events, and a reconciliation report downloaded
from the path recorded for its run (and nothing else)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import expect
from sqlalchemy import text

from tests.admin import support
from tests.admin.support import CHEAP, MID, SMART

WEBHOOK = "https://hooks.example.com/services/T000/B000/very-secret-token"
PAINTED = """(id) => { const c = document.getElementById(id);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0; for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
  return {painted, width: c.width, height: c.height}; }"""


def test_charts_render_from_the_analytics_api(signed_in, admin_env, shots):
    support.seed_ledger(admin_env.engine, [CHEAP, MID, SMART])
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/dashboard")
    support.wait_ready(page)
    expect(page.locator("html")).to_have_attribute("data-charts", "3")
    expect(page.locator("#analytics-error")).to_be_hidden()
    for chart in ("usage", "spend", "breakdown", "latency"):
        canvas = page.locator(f"#chart-{chart}")
        expect(canvas).to_be_visible()
        figures = page.evaluate(PAINTED, f"chart-{chart}")
        assert figures["width"] > 200 and figures["height"] > 100, (chart, figures)
        assert figures["painted"] > 2_000, (chart, figures)
    expect(page.locator("#usage-summary")).to_contain_text("400 requests")
    expect(page.locator("#spend-summary")).to_contain_text(re.compile(r"Spend \$\d+\.\d+"))
    expect(page.locator("#perf-table tbody tr")).to_have_count(3)
    support.screenshot(page, "dashboard", shots, publish=True)

    page.get_by_label("Period", exact=True).select_option("hour")
    page.wait_for_function("() => document.getElementById('usage-summary').textContent.includes('requests')")
    assert page.evaluate(PAINTED, "chart-usage")["painted"] > 2_000


def _rule_row(page, name: str):
    return page.locator("#rules-table tbody tr", has=page.get_by_text(name, exact=True))


def test_alert_rules_create_edit_mute_and_unmute(signed_in, admin_env, shots):
    with admin_env.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO alert_events (source, kind, fingerprint, severity, message) "
            "VALUES ('system', 'catalog.quarantine', 'ui-test', 'critical', 'Catalog batch quarantined: 3 prices missing')"))
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/dashboard")
    support.wait_ready(page)
    expect(page.locator("#events-table")).to_contain_text("Catalog batch quarantined: 3 prices missing")

    page.get_by_text("New rule").click()
    form = page.locator("details.new-rule form")
    form.get_by_label("Name", exact=True).fill("Daily spend")
    form.get_by_label("Metric").select_option("spend.total_usd")
    form.get_by_label("Comparison").select_option("gte")
    form.get_by_label("Threshold").fill("not a number")
    form.get_by_label("Channel", exact=True).select_option("webhook")
    form.get_by_label("Webhook URL or e-mail addresses").fill(WEBHOOK)
    form.get_by_role("button", name="Create rule").click()
    new = page.locator("details.new-rule form")
    expect(new.get_by_label("Threshold")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#alerts [role=alert]")).to_contain_text("threshold")
    expect(new.get_by_label("Name", exact=True)).to_have_value("Daily spend")  # the form keeps what was typed
    new.get_by_label("Threshold").fill("25.50")
    new.get_by_label("Webhook URL or e-mail addresses").fill(WEBHOOK)
    new.get_by_role("button", name="Create rule").click()
    row = _rule_row(page, "Daily spend")
    expect(row.locator("td").nth(1)).to_have_text("spend.total_usd gte 25.50 over 3600 s")
    assert "very-secret-token" not in page.content()  # write-only

    row.get_by_text("Edit").click()
    edit = row.locator("form.rule-form")
    expect(edit.get_by_label("Webhook URL or e-mail addresses")).to_have_value("")
    edit.get_by_label("Threshold").fill("30")
    edit.get_by_label("Severity").select_option("critical")
    edit.get_by_role("button", name="Save rule").click()
    row = _rule_row(page, "Daily spend")
    expect(row.locator("td").nth(1)).to_have_text("spend.total_usd gte 30 over 3600 s")
    expect(row.locator("td").nth(2)).to_have_text("critical")
    with admin_env.engine.connect() as conn:
        stored = conn.execute(text("SELECT threshold, channel, channel_config, muted_until FROM alert_rules "
                                   "WHERE name = 'Daily spend'")).one()
    assert str(stored.threshold) == "30" and stored.channel == "webhook" and stored.channel_config == {"url": WEBHOOK}

    row.get_by_label("Mute Daily spend for").select_option("8h")
    row.get_by_role("button", name="Mute Daily spend").click()
    row = _rule_row(page, "Daily spend")
    expect(row.locator("td.state")).to_have_text(re.compile(r"^muted until \d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    with admin_env.engine.connect() as conn:
        muted_until = conn.execute(text("SELECT muted_until FROM alert_rules WHERE name = 'Daily spend'")).scalar_one()
    assert timedelta(hours=7, minutes=59) < muted_until - datetime.now(UTC) <= timedelta(hours=8)
    support.screenshot(page, "dashboard-alerts", shots)
    row.get_by_role("button", name="Unmute Daily spend").click()
    expect(_rule_row(page, "Daily spend").locator("td.state")).to_have_text("active")


def test_a_reconciliation_report_downloads_from_its_recorded_path_only(signed_in, admin_env, shots, tmp_path):
    report = tmp_path / "reconciliation-2026-11.csv"
    report.write_text("generation_id,classification,delta_usd\ngen-1,matched,0\ngen-2,amount_mismatch,0.0042\n")
    html = tmp_path / "reconciliation-2026-11.html"
    html.write_text("<h1>Report</h1><script>alert(1)</script>")
    run_id = uuid.uuid4()
    with admin_env.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO reconciliation_runs (id, period_from, period_to, status, ledger_total_usd, bill_total_usd, "
            "delta_usd, accuracy, report_paths, finished_at) VALUES (:id, '2026-11-01', '2026-11-15', 'succeeded', "
            "12.5, 12.5042, 0.0042, 0.9991, CAST(:paths AS jsonb), now())"),
            {"id": run_id, "paths": json.dumps({"csv": str(report), "html": str(html), "parquet": str(tmp_path / "gone.parquet")})})
    page = signed_in
    page.goto(f"{admin_env.base_url}/admin/dashboard")
    support.wait_ready(page)
    runs = page.locator("#runs-table")
    expect(runs).to_contain_text("12.5042")
    expect(runs).to_contain_text("99.91 %")
    page.locator("#runs").scroll_into_view_if_needed()
    support.screenshot(page, "dashboard-runs", shots)
    with page.expect_download() as download_info:
        runs.get_by_role("link", name=re.compile(r"^CSV report")).first.click()
    download = download_info.value
    assert download.suggested_filename == f"reconciliation-{run_id}.csv"
    assert Path(download.path()).read_text(encoding="utf-8") == report.read_text()

    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=admin_env.base_url, cookies=cookies, timeout=10) as client:
        served = client.get(f"/admin/reports/{run_id}/html")
        assert served.status_code == 200 and served.headers["content-disposition"].startswith("attachment")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        assert client.get(f"/admin/reports/{run_id}/parquet").status_code == 404  # recorded, not on disk
        assert client.get(f"/admin/reports/{uuid.uuid4()}/csv").status_code == 404
        assert client.get(f"/admin/reports/{run_id}/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)
        assert client.get(f"/admin/reports/{run_id}/pdf").status_code == 400
        assert client.get("/admin/reports/not-a-uuid/csv").status_code == 400
