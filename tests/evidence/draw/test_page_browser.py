"""The draw's public page in a real browser (Debian's chromium through Playwright), under
the hub's content security policy: the configuration and commitments, the countdown, a
receipt checked before the draw, the live reveal over Server-Sent Events as the draw
happens (the seed, then the winners tier by tier), the winners list, a winner's receipt
checked after; a screenshot of the big screen."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from testkit.serving import serve_app
from tests.evidence.draw.service_support import DrawWorld, create, csv_list, make_app, upload, world

__all__ = ["world"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_public_page_reveals_the_draw_live(
    world: DrawWorld, browser: Browser, tmp_path: Path
) -> None:
    draw = create(world, title="Licence plates, December", waitingList=2)
    draw_id = draw["id"]
    assert upload(world, draw_id, csv_list([(f"plate-{i}",) for i in range(30)])).status_code == 200
    assert world.client.post(f"/draws/{draw_id}/commit", headers=world.headers()).status_code == 200
    receipts = world.client.get(f"/draws/{draw_id}/receipts", headers=world.headers())
    receipt = [json.loads(line) for line in receipts.content.splitlines()]

    with serve_app(make_app(world.parts), access_log=False) as hub:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{hub.url}/draws/{draw_id}/page")
        expect(page.locator("h1")).to_have_text("Licence plates, December")
        expect(page.locator("#state")).to_have_text("committed")
        expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        assert draw["configHash"] in page.content()
        page.fill("#receipt", json.dumps(receipt[4]))
        page.click("#check")
        expect(page.locator("#outcome")).to_have_text("Entry 4 is entered; not drawn yet.")

        world.skip_past(draw["config"]["beacon"]["round"])
        drawn = world.client.post(f"/draws/{draw_id}/draw", headers=world.headers()).json()
        expect(page.locator("#state")).to_have_text("drawn", timeout=15000)
        expect(page.locator("#seed")).to_have_text(drawn["result"]["seed"])
        expect(page.locator("#reveal li")).to_have_count(5)
        expect(page.locator("#winners tr")).to_have_count(5)
        expect(page.locator("#countdown")).to_have_text("drawn")
        first = world.client.get(f"/draws/{draw_id}/winners").json()["items"][0]
        page.fill("#receipt", json.dumps(receipt[first["index"]]))
        page.click("#check")
        expect(page.locator("#outcome")).to_have_text(f"Entry {first['index']}: rank 1, first.")
        shot = tmp_path / "draw-page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert errors == []
