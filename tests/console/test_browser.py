"""The console in a real browser (Debian's chromium driven by Playwright): the sandbox on an embedded
chain at 60x, one page, every control. Screenshots of each step go to results/console/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.controls import DerIn
from console.settings import ConsoleSettings
from simulation.sandbox import Sandbox, sandbox
from simulation.scenario import load_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("results/console")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    scenario = load_scenario("console").with_overrides(speed=60)
    out = tmp_path_factory.mktemp("console-run")
    with sandbox(
        scenario, out, lambda _m: None, ConsoleSettings(port=0), (DerIn(kind="battery", capacity_w=5000),)
    ) as b:
        yield b


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: run `make setup` (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def base(box: Sandbox) -> str:
    return f"http://127.0.0.1:{box.console.port}"


def test_wrong_or_missing_token_is_refused(box: Sandbox, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    r = page.goto(base(box) + "/")
    assert r.status == 401 and "access token" in page.content()
    r = page.goto(base(box) + "/?token=" + "x" * 43)
    assert r.status == 401 and "wrong console token" in page.content()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "0-refused.png"))
    page.close()
    for path in ("/events", "/actions"):
        assert httpx.get(base(box) + path, timeout=5).status_code == 401
    post = httpx.post(
        base(box) + "/actions/der",
        content="kind=solar&capacity_w=5000",
        headers={"HX-Request": "true"},
        timeout=5,
    )
    assert post.status_code == 401
    forged = httpx.post(
        base(box) + "/actions/der",
        content="kind=solar&capacity_w=5000",
        headers={"Authorization": f"Bearer {box.console.token}"},
        timeout=5,
    )
    assert forged.status_code == 403  # not from the page: no HX-Request header
    assert box.grid_token not in httpx.get(box.console.url, timeout=5, follow_redirects=True).text


def test_the_whole_console(box: Sandbox, browser: object) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1300})  # type: ignore[attr-defined]
    page.goto(box.console.url)
    assert page.url.rstrip("/") == base(box)  # the token became a cookie and left the address bar
    page.wait_for_selector('tr.prosumer[data-kind="battery"][data-registered="true"]', timeout=90_000)
    page.screenshot(path=str(SHOTS / "1-open.png"), full_page=True)
    content = page.content()
    assert box.grid_token not in content and box.admin_token not in content

    # add a solar DER -> it appears, registers on chain, and its readings move the power chart
    page.select_option("#add-der select[name=kind]", "solar")
    page.fill("#add-der input[name=capacity_w]", "9000")
    page.click("#add-der button[type=submit]")
    page.wait_for_selector('#log li[data-action="add DER"]', timeout=60_000)
    assert "solar" in page.inner_text("#log")
    solar = 'tr.prosumer[data-kind="solar"]'
    page.wait_for_selector(f'{solar}[data-registered="true"][data-status="online"]', timeout=90_000)
    address = page.get_attribute(solar, "data-address")
    index = int(page.get_attribute(solar, "data-index") or "-1")
    assert address and box.run.deployment.registry.is_active(address)
    page.wait_for_function(
        "() => { const p = window.flexsimChart.points; "
        "return p.length && (p[p.length - 1][1].solar || 0) > 100 }",
        timeout=60_000,
    )
    assert float(page.get_attribute(solar, "data-power") or 0) > 0
    page.screenshot(path=str(SHOTS / "2-solar-added.png"), full_page=True)

    # inject an outage -> its status and power change
    page.fill("#outage-duration", "3600")  # an hour simulated, a minute at 60x
    page.click(f'{solar} button[data-action="outage"]')
    page.wait_for_selector(f'{solar}[data-status="outage"]', timeout=30_000)
    page.wait_for_function(
        f"() => Number(document.querySelector('{solar}').dataset.power) === 0", timeout=30_000
    )
    page.screenshot(path=str(SHOTS / "3-outage.png"), full_page=True)

    # send a request -> answers appear, then the settlement
    page.select_option("#send-request select[name=direction]", "up")
    page.fill("#send-request input[name=power_w]", "800")
    page.fill("#send-request input[name=duration_s]", "600")
    page.fill("#send-request input[name=lead_time_s]", "900")
    page.click("#send-request button[type=submit]")
    page.wait_for_selector('#log li[data-action="flexibility request"]', timeout=30_000)
    assert "queued" in page.inner_text('#log li[data-action="flexibility request"]')
    page.wait_for_selector("#request tr.answer", timeout=60_000)
    page.screenshot(path=str(SHOTS / "4-answers.png"), full_page=True)
    kinds = {a.get_attribute("data-kind") for a in page.query_selector_all("#request tr.answer")}
    assert kinds & {"accepted", "declined", "applied", "selected", "displaced"}
    declined_solar = page.query_selector(f'#request tr.answer[data-prosumer="{address.lower()}"]')
    assert declined_solar is not None  # the solar roof in outage answered too
    page.wait_for_selector(
        'tr.settlement[data-status="settled"], tr.settlement[data-status="closed"]', timeout=180_000
    )
    page.screenshot(path=str(SHOTS / "5-settlement.png"), full_page=True)

    # remove the DER -> it leaves the registry on chain
    page.click(f'{solar} button[data-action="remove"]')
    page.wait_for_selector(f'{solar}[data-status="removed"][data-registered="false"]', timeout=60_000)
    assert not box.run.deployment.registry.is_active(address)
    page.screenshot(path=str(SHOTS / "6-removed.png"), full_page=True)

    # change the simulation's speed: the aggregator's clock and every prosumer's
    page.fill("#clock-speed input[name=speed]", "120")
    page.click("#clock-speed button[type=submit]")
    page.wait_for_selector('#log li[data-action="clock speed"]', timeout=30_000)
    assert "at 120x" in page.inner_text('#log li[data-action="clock speed"]')
    page.wait_for_function(
        "() => document.getElementById('clock').innerText.includes('120×')", timeout=30_000
    )
    battery = box.fleet.pids()[1]
    assert battery["exit"] is None
    commands = box.run.out / "prosumers" / f"prosumer-{box.controls.seed}-1.commands.jsonl"
    assert '"speed": 120' in commands.read_text()
    log = box.run.out / "logs" / "prosumer-0001.log"
    deadline = time.time() + 15
    while "simulated clock" not in log.read_text() and time.time() < deadline:
        time.sleep(0.5)
    assert "120x (console)" in log.read_text()  # the battery's process runs on the new clock
    page.screenshot(path=str(SHOTS / "7-clock.png"), full_page=True)

    # every action is in the run's results with its time
    actions = box.console.actions.actions
    names = [a.action for a in actions]
    for name in ("add DER", "outage", "flexibility request", "remove DER", "clock speed"):
        assert name in names
    assert all(a.ok for a in actions), [a.outcome for a in actions if not a.ok]
    saved = (box.run.out / "console-actions.json").read_text()
    assert re.search(r'"remove DER"', saved) and f'"index": {index}' in saved
    assert time.time() - actions[0].real_t < 3600
    page.close()
