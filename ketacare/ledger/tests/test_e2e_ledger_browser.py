"""In headless Chromium, on the demo clinic: the clinic admin's stock overview, count, investigation (marked theft:
both DEA clocks shown), dispensing log and misuse signals; the nurse's draw-and-waste steps on the running infusion,
with a witness re-entering their password. Screenshots are kept under test-artifacts/."""

import pytest

from ketacare.ledger.models import Discrepancy, LedgerEntry
from ketacare.ledger.services import draw_state
from tests.browser import sign_in, sign_out
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_ledger_pages_on_the_demo_clinic(live_server, page, screenshot):
    from ketacare.seed.demo import seed_demo

    seed_demo(password=PASSWORD)
    base = live_server.url
    sign_in(page, base, "admin")
    page.get_by_role("link", name="Controlled substances").click()
    page.wait_for_load_state("load")
    assert "expiring soon" in page.content() and "Open investigations" in page.content()
    screenshot(page, "stock")
    page.get_by_role("link", name="Investigations").click()
    page.get_by_label("Finding").select_option("theft")
    page.get_by_role("button", name="Record the finding").click()
    page.wait_for_load_state("load")
    d = Discrepancy.objects.get(resolved_at__isnull=True)
    assert d.classification == "theft"
    assert f"{d.notice_due_on:%a %Y-%m-%d}" in page.content() and f"{d.form106_due_on:%a %Y-%m-%d}" in page.content()
    screenshot(page, "investigation-theft")
    page.goto(base + "/ledger/")
    page.get_by_role("link", name="Count Infusion room cart").click()
    page.wait_for_load_state("load")
    screenshot(page, "count")
    page.goto(base + "/ledger/reports/dispensing")
    screenshot(page, "dispensing-log")
    page.goto(base + "/ledger/signals")
    screenshot(page, "signals")
    page.goto(base + "/ledger/setup")
    screenshot(page, "setup")
    page.goto(base + "/ledger/movements")
    screenshot(page, "movements")
    sign_out(page)

    sign_in(page, base, "nurse")
    page.goto(base + "/treatment/board/")
    assert "unreconciled draw" in page.content()
    screenshot(page, "board-flag")
    draw = LedgerEntry.objects.get(kind="draw", session__state="dosing")
    page.goto(base + f"/treatment/sessions/{draw.session_id}/#controlled-substances")
    screenshot(page, "session-open-draw")
    outstanding = draw_state(draw).outstanding
    given = outstanding - 1
    page.get_by_label("Given to the patient").fill(str(given))
    page.get_by_role("button", name="Record given").click()
    page.wait_for_load_state("load")
    page.locator(".waste-form").get_by_label("Witness username").fill("prescriber")
    page.locator(".waste-form").get_by_label("Witness password").fill(PASSWORD)
    page.get_by_role("button", name="Waste with witness").click()
    page.wait_for_load_state("load")
    assert draw_state(draw).reconciled
    screenshot(page, "session-reconciled")
    assert page.console_errors == []
