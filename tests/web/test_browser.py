"""The dashboard in a real browser (Debian's chromium, headless, through Playwright): each
role sees its pages and not the others, the overview's figures equal the measures, charts
and the map draw, a partner submits a quarterly update, keyboard-only use and a phone-width
screen work, and no page logs an error or asks for anything outside the server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.measures.dashboard import dashboard, latest_month, load_sources
from saferboard.web.app import create_app
from saferboard.web.settings import Settings
from tests.web.conftest import PASSWORD, SECRET, Clock

CHROMIUM = "/usr/bin/chromium"
# Where to keep the screenshots (docs/ when refreshing the documentation's pictures).
SHOTS = os.environ.get("SAFERBOARD_SCREENSHOTS")
NAV = ("Overview", "Targets", "People", "Projects", "Action plan", "Data", "Records",
       "Downloads", "Users", "Audit log")
SEES = {
    "board": {"Overview", "Targets", "People", "Projects", "Action plan"},
    "police": {"Overview", "Targets", "Projects", "Action plan", "Downloads"},
    "analyst": {"Overview", "Targets", "People", "Projects", "Action plan", "Data", "Records",
                "Downloads"},
    "manager": {"Overview", "Targets", "Projects", "Action plan", "Downloads"},
    "admin": {"Users", "Downloads"},
    "dpo": {"Audit log", "Downloads"},
}


@contextmanager
def live_server(settings: Callable[[int], Settings]) -> Iterator[str]:
    """The app of `settings(port)` served by uvicorn in a thread on a free loopback port;
    its base URL while the block runs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings(port))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
        app.state.saferboard.db.close()


@pytest.fixture(scope="module")
def server(base_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("browser") / "browser.duckdb"
    shutil.copy(base_db, db)
    with live_server(lambda port: Settings(db=db, secret=SECRET, port=port,
                                           clock=Clock(datetime.now(UTC)))) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (scripts/test.sh does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Watch:
    """Console errors, page errors and requests of one page."""

    def __init__(self, page: Page, base: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.outside.append(r.url)
                if not r.url.startswith((base, "data:")) else None)

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.outside, self.outside


def _shot(page: Page, name: str) -> None:
    """A full-page screenshot for the documentation, when SAFERBOARD_SCREENSHOTS asks for
    them (nothing checks them, and each costs a second of the suite)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def _settle(page: Page) -> None:
    """Wait for the page a click led to, and for its one request after loading (the hotspot
    map's cells), so that an error it logs is seen. Not Playwright's "networkidle": that
    waits a further 500 ms of quiet on every page, and these pages make no other requests
    (Watch would show one)."""
    page.wait_for_load_state("load")
    if page.locator("#map[data-url]").count():
        page.wait_for_selector("#map svg path.leaflet-interactive, "
                               "#map:has-text('could not be drawn')", timeout=20_000)


def _login(page: Page, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    _settle(page)


def _logout(page: Page) -> None:
    page.click("header button:has-text('Sign out')")
    page.wait_for_url("**/login")


@pytest.mark.parametrize("user", list(SEES))
def test_each_role_sees_its_pages_only(browser: Browser, server: str, user: str) -> None:
    page = browser.new_page()
    watch = Watch(page, server)
    _login(page, server, user)
    shown = {t for t in NAV if page.locator("header nav a", has_text=t).count()
             and page.locator("header nav a", has_text=t).first.inner_text() == t}
    assert shown == SEES[user]
    for name in sorted(shown):  # every page the role may open loads without an error
        page.click(f"header nav a:text-is('{name}')")
        _settle(page)
        assert page.locator("main h1").count() == 1, (user, name)
        assert "Error" not in page.title(), (user, name, page.title())
    forbidden = {"Users": "/admin/users", "Audit log": "/audit", "Records": "/records",
                 "Data": "/data"}
    for name, url in forbidden.items():
        if name not in SEES[user]:
            response = page.goto(server + url)
            assert response is not None and response.status == 403, (user, url)
            assert "permission" in page.inner_text("main")
    _logout(page)
    response = page.goto(server + "/overview")
    assert page.url.startswith(server + "/login")
    watch.errors = [e for e in watch.errors if "403" not in e]  # the refused pages above
    watch.clean()
    page.close()


def test_overview_figures_equal_the_measures(browser: Browser, server: str, base_db: Path
                                             ) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page, server)
    _login(page, server, "analyst")
    assert page.url.endswith("/overview")
    con = store.connect(base_db, read_only=True)
    try:
        cats, config = categories.load(), load_config()
        sources = load_sources(con, cats)
        board = dashboard(sources, cats, config, "Barnet", latest_month(sources, "Barnet"))
    finally:
        con.close()
    checked = 0
    for row in board.rows:
        tr = page.locator(f"#dashboard tr[data-category='{row.category}']")
        assert tr.count() == 1
        if row.source is None:
            assert "No data" in tr.inner_text()
            continue
        assert tr.locator("td.rag").get_attribute("data-rag") == row.rag
        assert tr.locator("td[data-field=quarter_volume]").inner_text() == \
            f"{row.quarter_volume:,}"
        assert tr.locator("td[data-field=rolling12_volume]").inner_text() == \
            f"{row.rolling12_volume:,}"
        assert tr.locator("td[data-field=rolling12_change_pct]").inner_text() == \
            f"{row.rolling12_change_pct:+.1f}%"
        for f in row.factors:
            assert f.text in tr.locator("td.factors").inner_text()
        checked += 1
    assert checked >= 5
    _shot(page, "web-overview.png")
    # Click through to a category: trend and peer charts are SVGs with marks; the map
    # has its grid drawn by Leaflet.
    page.click("#dashboard a:text-is('Burglary')")
    page.wait_for_url("**/category/Burglary*")
    page.wait_for_selector("#trend svg .mark-line path", timeout=20_000)
    page.wait_for_selector("#peers svg .mark-symbol path", timeout=20_000)
    page.wait_for_selector("#map svg path.leaflet-interactive", timeout=20_000)
    assert page.locator("#trend svg .mark-line path").count() >= 2
    assert page.locator("#peers svg .mark-symbol path").count() >= 20
    assert page.locator("#map svg path.leaflet-interactive").count() > 100
    assert page.get_attribute("#trend svg", "aria-label")
    _shot(page, "web-category.png")
    _logout(page)
    watch.clean()
    page.close()


def test_partner_submits_a_quarterly_update(browser: Browser, server: str) -> None:
    page = browser.new_page()
    watch = Watch(page, server)
    _login(page, server, "police")
    page.goto(server + "/actions?quarter=2012-Q4")
    agencies = page.locator("article.action p").all_inner_texts()
    assert agencies and all("(Police)" in t for t in agencies if t.startswith("Lead:"))
    article = page.locator("#action-AP1\\.02")
    article.locator("summary").click()
    article.locator("textarea[name=update]").fill("Two operations in March; arrests made.")
    article.locator("select[name=rag]").select_option("G")
    article.locator("button:has-text('Save update')").click()
    page.wait_for_url("**/actions?quarter=2012-Q4&saved=AP1.02")
    text = page.locator("#action-AP1\\.02").inner_text()
    assert "Two operations in March; arrests made." in text
    assert "RAG this quarter: Green" in text  # the row's word, as the CLI prints it
    _logout(page)
    watch.clean()
    page.close()


def test_keyboard_only_and_phone_width(browser: Browser, server: str) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    watch = Watch(page, server)
    page.goto(server + "/login")
    assert page.evaluate("document.activeElement.id") == "username"  # autofocus
    page.keyboard.type("board")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/overview")
    # No sideways scrolling of the page at 375px: wide tables scroll inside their region.
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] + 1, widths
    _shot(page, "web-phone.png")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")  # -> main
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Burglary":
            break
    else:
        pytest.fail("the Burglary link is not reachable with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", outline  # a visible focus indicator
    page.keyboard.press("Enter")
    page.wait_for_url("**/category/Burglary*")
    page.wait_for_selector("#trend svg .mark-line path", timeout=20_000)
    page.wait_for_selector("#map svg path.leaflet-interactive", timeout=20_000)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] + 1, widths
    watch.clean()
    page.close()
