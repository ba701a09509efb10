"""OPML import and export of the feed list: real-shaped exports of five readers, round trips, hostile XML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.feedlist import OpmlError, read_opml

OPML = Path(__file__).resolve().parent / "opml"

EXPECTED = {
    "feedly.opml": [
        ("https://en.yna.co.kr/RSS/news.xml", "Yonhap News Agency", ("Korea",)),
        ("https://www.nknews.org/feed/", "NK News", ("Korea", "Defense & Security")),
        ("https://tass.com/rss/v2.xml", "TASS", ("Russia",)),
    ],
    "inoreader.opml": [
        ("https://www.yna.co.kr/rss/news.xml", "연합뉴스 최신기사", ("한국",)),
        ("https://www.hani.co.kr/rss/", "한겨레 전체기사", ("한국",)),
        ("https://www.interfax.ru/rss.asp", "Интерфакс", ("Russia",)),
        ("https://www.38north.org/feed/", "38 North", ()),
    ],
    "miniflux.opml": [
        ("https://thediplomat.com/feed/", "The Diplomat", ("All",)),
        ("https://news.kbs.co.kr/rss/rss.xml", "KBS 뉴스", ("Korea",)),
        ("https://koreajoongangdaily.joins.com/section/rss", "Korea JoongAng Daily", ("Korea",)),
    ],
    "freshrss.opml": [
        ("https://www.kommersant.ru/RSS/main.xml", "Коммерсантъ. Главное", ("Uncategorized",)),
        ("https://ria.ru/export/rss2/archive/index.xml", "РИА Новости", ("Russia", "wire", "ru")),
        ("https://meduza.io/rss/all", "Meduza", ("Russia",)),
    ],
    "netnewswire.opml": [
        ("https://www.dailynk.com/english/feed/", "Daily NK", ()),
        ("https://www.koreaherald.com/rss/newsAll", "The Korea Herald", ("Asia", "Korea")),
        ("https://jsonfeed.example.org/feed.json", "JSON Feed Example", ("Asia",)),
    ],
}


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "newswatch.toml"
    path.write_text('# my feeds\ndata_dir = "data"\n\n[[feeds]]\nurl = "https://tass.com/rss/v2.xml"\n'
                    'name = "TASS (mine)"\ntags = ["ru"]\n', encoding="utf-8")
    return path


def feeds_of(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(feed.url, feed.name, feed.tags) for feed in load_settings(path, env={}).feeds]


@pytest.mark.parametrize("name", EXPECTED)
def test_each_readers_export_reads_with_names_and_folders_as_tags(name):
    feeds = read_opml((OPML / name).read_bytes(), name)
    assert [(feed.url, feed.name, feed.tags) for feed in feeds] == EXPECTED[name]


def test_import_adds_what_is_new_skips_what_is_configured_and_keeps_the_file_intact(config):
    result = run("feeds", "import", str(OPML / "feedly.opml"), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "2 feed(s) added" in result.output and "1 skipped (already configured)" in result.output
    assert feeds_of(config) == [("https://tass.com/rss/v2.xml", "TASS (mine)", ("ru",)),
                                *[f for f in EXPECTED["feedly.opml"] if "tass" not in f[0]]]
    assert config.read_text(encoding="utf-8").startswith("# my feeds\n")
    again = run("feeds", "import", "-", "--config", str(config), input=(OPML / "feedly.opml").read_bytes())
    assert "0 feed(s) added" in again.output and "3 skipped" in again.output


def test_export_then_import_round_trips_url_name_and_tags(config, tmp_path):
    for name in EXPECTED:
        assert run("feeds", "import", str(OPML / name), "--config", str(config)).exit_code == 0
    odd = 'A "quoted" & <bracketed> name, 북한/러시아'
    assert run("feeds", "add", "https://odd.example/f?a=1&b=2", "--name", odd, "--tag", "a/b", "--tag", "Ω",
               "--config", str(config)).exit_code == 0
    exported = run("feeds", "export", "--config", str(config))
    assert exported.exit_code == 0 and exported.output.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml')
    fresh = tmp_path / "fresh.toml"
    fresh.write_text('data_dir = "data"\n', encoding="utf-8")
    imported = run("feeds", "import", "-", "--config", str(fresh), input=exported.output.encode())
    assert f"{len(feeds_of(config))} feed(s) added" in imported.output
    assert feeds_of(fresh) == feeds_of(config)
    assert run("feeds", "export", "--config", str(fresh)).output == exported.output


HOSTILE = {
    "billion laughs": (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
                       b'<!ENTITY c "&b;&b;&b;&b;">]><opml><body><outline text="&c;" xmlUrl="https://x.example/f"/>'
                       b"</body></opml>", "entity declarations are refused"),
    "external entity": (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                        b'<opml><body><outline text="&e;" xmlUrl="https://x.example/f"/></body></opml>',
                        "entity declarations are refused"),
    "undeclared entity": (b'<opml><body><outline text="&nbsp;" xmlUrl="https://x.example/f"/></body></opml>',
                          "not well-formed XML: undefined entity"),
    "not OPML": (b'<rss version="2.0"><channel/></rss>', "not OPML (the root element is <rss>"),
    "not XML": (b"url,name\nhttps://x.example/f,X\n", "not well-formed XML"),
    "empty": (b"", "not well-formed XML"),
    "a feed: URL": (b'<opml version="2.0"><body>\n<outline text="X" xmlUrl="feed://x.example/f"/></body></opml>',
                    ":2: outline 'X': only http(s) feed URLs can be watched, got 'feed://x.example/f'"),
    "an environment reference": (b'<opml version="2.0"><body><outline text="X" '
                                 b'xmlUrl="https://x.example/f?k=${AWS_SECRET_ACCESS_KEY}"/></body></opml>',
                                 ":1: outline 'X': a ${NAME} reference is refused in an imported feed"),
    "an environment reference in a name": (b'<opml version="2.0"><body><outline text="${HOME}" '
                                           b'xmlUrl="https://x.example/f"/></body></opml>',
                                           ":1: outline '${HOME}': a ${NAME} reference is refused"),
    "an environment reference in a folder": (b'<opml version="2.0"><body><outline text="${SMTP_PASSWORD}"><outline '
                                             b'text="X" xmlUrl="https://x.example/f"/></outline></body></opml>',
                                             ":1: outline 'X': a ${NAME} reference is refused"),
    "a URL with no host": (b'<opml version="2.0"><body><outline text="X" xmlUrl="http:///f.xml"/></body></opml>',
                           ":1: outline 'X': a feed URL needs a host name or address, got 'http:///f.xml'"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_bad_or_hostile_opml_file_is_refused_in_one_line_and_changes_nothing(case, config, tmp_path):
    data, message = HOSTILE[case]
    with pytest.raises(OpmlError, match=re.escape(message)):
        read_opml(data, "in.opml")
    before = config.read_bytes()
    (tmp_path / "in.opml").write_bytes(data)
    result = CliRunner().invoke(main, ["feeds", "import", str(tmp_path / "in.opml"), "--config", str(config)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and "in.opml" in result.output
    assert config.read_bytes() == before


def test_the_shipped_default_config_is_not_edited_by_an_import(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSWATCH_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["feeds", "import", str(OPML / "miniflux.opml")])
    assert result.exit_code == 2 and "copy it to ./newswatch.toml" in result.output
