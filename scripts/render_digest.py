"""Render a digest email's HTML part to PNG with headless Chromium, for a look by eye.

    .venv/bin/python scripts/render_digest.py [--out /tmp/digest.png] [HTML_FILE]

Without HTML_FILE it builds the digest the alert tests send (a hostile <script> title included,
a story syndicated by three sources, two topics, a label link) and renders that.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newswatch.config import DEFAULT_TOPICS
from newswatch.digest import build_digest
from newswatch.models import Item, Match, Prediction

NOW = datetime(2026, 5, 4, 0, 30, tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoryItem(Item):
    story_id: str | None = None


def sample_html() -> str:
    summary = ("Officials met in Vladivostok to discuss munitions deliveries, labour exports and satellite "
               "technology, according to state media on both sides.")
    rows = [
        ('Kim <script>alert("x")</script> meets Shoigu & co', {"russia_dprk": 0.93}, "Yonhap", 20, "a"),
        ("Putin and Kim sign strategic partnership treaty", {"russia_dprk": 0.97}, "TASS", 45, "treaty"),
        ("Russia, North Korea seal defence pact", {"russia_dprk": 0.91}, "NK News", 50, "treaty"),
        ("Treaty with Pyongyang ratified in Moscow", {"russia_dprk": 0.88}, "Meduza", 55, "treaty"),
        ("Ulchi Freedom Shield begins; Pyongyang calls it rehearsal for invasion", {"alliance_drills": 0.86},
         "The Diplomat", 90, "ufs"),
    ]
    matches = []
    for n, (title, scores, source, age, story) in enumerate(rows, start=1):
        item = StoryItem(key=str(n), id=n, title=title, summary=summary, url=f"https://news.example/{n}",
                         published=NOW - timedelta(minutes=age), story_id=story)
        why = {t: ("pyongyang", "moscow", "treaty") for t in scores}
        matches.append(Match(item, Prediction(scores, tuple(scores), why), source))
    digest = build_digest(matches, {t.name: t.title for t in DEFAULT_TOPICS}, tz="Asia/Seoul", web_base_url="https://newswatch.example")
    assert digest is not None
    return digest.html


def render(html_file: Path, out: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium: apt-get update && apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                        f"--screenshot={out}", "--window-size=900,1400", html_file.resolve().as_uri()],
                       check=True, timeout=120, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html_file", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/digest.png"))
    args = parser.parse_args()
    html_file = args.html_file
    if html_file is None:
        html_file = args.out.with_suffix(".html")
        html_file.write_text(sample_html(), encoding="utf-8")
    render(html_file, args.out)
    print(f"{html_file} → {args.out}")


if __name__ == "__main__":
    main()
