"""The review page in a real browser: Debian's Chromium, headless and off the network, driven by Playwright."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from newswatch import app
from newswatch.models import Item
from newswatch.web import create_app
from web_data import FEEDS, NOW, RUSSIA_DPRK, build_home, stored_rows

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENS = Path("/tmp/newswatch-screens")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed "
                                "(apt-get install chromium; .ci/run does); the browser test needs Debian's Chromium")


@pytest.fixture
def served(seed_models, tmp_path):
    """`newswatch web` on a free loopback port, in a thread, over a data dir of scored items."""
    import uvicorn

    settings = build_home(tmp_path / "home", seed_models)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield settings, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.timeout(300)  # trains the seed model (when first in the session) and a real candidate
def test_label_in_the_browser_and_screenshots(served, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
    settings, base = served
    target = next(r for r in stored_rows(settings) if r.item.title == RUSSIA_DPRK)
    shots = tmp_path / "screens"
    shots.mkdir()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(base + "/")
            page.evaluate("window.notReloaded = true")

            def label_in_place(item: str, verdict: str, shown: str) -> None:
                cell = page.locator(f"#{item} [data-topic-cell=russia_dprk]")
                cell.locator(f"button[data-label={verdict}]").click()
                sync_api.expect(cell.locator(".label-status")).to_contain_text(shown)
                sync_api.expect(cell.locator(f"button[data-label={verdict}]")).to_have_attribute("aria-pressed", "true")

            label_in_place(f"item-{target.item.id}", "no", "labeled not about it by web")
            grouped = page.locator("li.story", has=page.locator(".copies"))
            sync_api.expect(grouped).to_have_count(1)  # the three feeds' copies of one story: one block
            sync_api.expect(grouped.locator(".copies-head")).to_contain_text(re.compile(r"\+2 sources: .+, .+"))
            sync_api.expect(grouped.locator("li.copy")).to_have_count(2)
            copy_id = grouped.locator("li.copy").first.get_attribute("id")
            label_in_place(copy_id, "yes", "labeled about it by web")  # a compact copy labels in place too
            assert page.evaluate("window.notReloaded") is True, "the page reloaded instead of updating in place"
            assert errors == []
            page.screenshot(path=str(shots / "inbox.png"), full_page=True)
            page.goto(base + "/model")
            sync_api.expect(page.locator("svg.chart")).to_have_count(2)
            page.get_by_role("button", name="Retrain now").click()  # the real gated retrain, in the background
            decision = page.locator(".retrain-status")
            sync_api.expect(decision).to_contain_text(re.compile("v2 promoted|stays in service"), timeout=180_000)
            if "v2 promoted" in decision.inner_text():
                sync_api.expect(page.locator("svg.chart").first).to_contain_text("v2")
            page.screenshot(path=str(shots / "model.png"), full_page=True)
        finally:
            browser.close()
    labels = {(row.item.id, topic): (label.value, label.source) for row in stored_rows(settings)
              for topic, label in row.labels.items()}
    assert labels == {(target.item.id, "russia_dprk"): (False, "web"),
                      (int(copy_id.removeprefix("item-")), "russia_dprk"): (True, "web")}
    SCREENS.mkdir(exist_ok=True)
    for shot in shots.iterdir():
        assert shot.stat().st_size > 10_000
        shutil.copy(shot, SCREENS / shot.name)


KOREAN = "북한과 러시아, 평양서 군사 협력 강화 합의"
RUSSIAN = "Россия и КНДР договорились расширить военное сотрудничество"


def _has_cjk_fonts() -> bool:
    fc_list = shutil.which("fc-list")
    return fc_list is not None and "Noto Sans CJK" in subprocess.run([fc_list], capture_output=True, text=True).stdout


@pytest.mark.skipif(not _has_cjk_fonts(), reason="fonts-noto-cjk is not installed (apt-get install fonts-noto-cjk; "
                    ".ci/run does): without it Hangul would be drawn as boxes")
def test_korean_and_russian_titles_are_drawn_with_fonts_that_have_their_letters(served):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
    settings, base = served
    with app.open_store(settings) as store:
        feed_id = store.sync_feeds(FEEDS)[FEEDS[0].url]
        store.insert_new(feed_id, [Item(key=f"url:https://peninsula.example.com/{lang}", title=title, summary=title,
                                        url=f"https://peninsula.example.com/{lang}", lang=lang)
                                   for lang, title in (("ko", KOREAN), ("ru", RUSSIAN))], NOW)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(base + "/?tagged=any")
            session = page.context.new_cdp_session(page)
            session.send("DOM.enable")
            session.send("CSS.enable")
            root = session.send("DOM.getDocument")["root"]["nodeId"]
            for lang, title in (("ko", KOREAN), ("ru", RUSSIAN)):
                sync_api.expect(page.locator(f'.title[lang="{lang}"]')).to_have_text(title)
                node = session.send("DOM.querySelector", {"nodeId": root, "selector": f'.title[lang="{lang}"]'})
                fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
                # every glyph drawn by a real font: no "Last Resort"/tofu, and Hangul by the CJK face asked for
                assert fonts and all(font["glyphCount"] > 0 for font in fonts), fonts
                if lang == "ko":
                    assert any("CJK" in font["familyName"] for font in fonts), fonts
        finally:
            browser.close()
