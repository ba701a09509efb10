"""Feed kinds and encodings: JSON Feed beside RSS/Atom, and feeds that do not say how they are encoded.

Everything goes through a real cycle (loopback feed server, SQLite, the seed model) or the real parser.
"""

from __future__ import annotations

import codecs
import shutil
from xml.sax.saxutils import escape

import feedparser
import pytest
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import ConfigError, load_settings
from newswatch.models import FEED_KINDS, FetchResult
from newswatch.normalize import clean_text
from newswatch.parsers import PARSERS, NotAFeed, parse
from newswatch.cycle import ingest
from newswatch.store import Store
from conftest import scores_by

KOREAN_TITLES = [
    "북러 정상, 평양서 포괄적 전략적 동반자 관계 조약 서명",
    "한미 연합연습 '을지 자유의 방패' 오늘부터 11일간 실시",
    "한국은행, 기준금리 연 3.50% 동결",
    "북한 최선희 외무상, 모스크바서 라브로프 외무장관과 회담",
    "서울 아침 기온 영하 10도…올겨울 들어 가장 추워",
]
RUSSIAN_TITLES = [
    "Путин и Ким Чен Ын подписали в Пхеньяне договор о всеобъемлющем стратегическом партнёрстве",
    "Лавров провёл переговоры с главой МИД КНДР Цой Сон Хи",
    "США и Южная Корея начали ежегодные учения Щит свободы Ылчи",
    "Центробанк сохранил ключевую ставку на уровне 21 % годовых",
    "В Москве ожидается снегопад и гололедица",
]


def write_config(tmp_path, feeds: dict[str, str], kinds: dict[str, str] | None = None) -> str:
    config = tmp_path / "newswatch.toml"
    tables = "".join(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n'
                     + (f'kind = "{kinds[name]}"\n' if kinds and name in kinds else "")
                     for name, url in feeds.items())
    config.write_text(f'allow_private_addresses = true\ndata_dir = "{tmp_path / "data"}"\n{tables}')
    return str(config)


def stored_titles(store: Store, outcome) -> list[str]:
    return [item.title for item in store.items_by_id([item.id for item in outcome.new_items])]


# -- the registry ------------------------------------------------------------------------------------------------

def test_every_configurable_kind_has_a_parser():
    assert set(PARSERS) | {"auto"} == set(FEED_KINDS)


def test_a_json_feed_reads_as_the_same_items_as_its_atom_twin(feeds_dir):
    atom = parse(FetchResult("https://w.example/f", body=(feeds_dir / "world.atom").read_bytes()))
    json_feed = parse(FetchResult("https://w.example/f", body=(feeds_dir / "world.json").read_bytes()))
    assert len(atom.items) == 6 and json_feed.items == atom.items
    assert (atom.title, json_feed.title) == ("World Briefing (test feed)", "World Briefing (test feed, JSON Feed edition)")
    assert json_feed == parse(FetchResult("https://w.example/f", body=(feeds_dir / "world.json").read_bytes()),
                              "jsonfeed")


def test_a_kind_named_in_the_config_is_used_and_an_unknown_one_is_refused(tmp_path):
    settings = load_settings(write_config(tmp_path, {"A": "https://a.example/f", "J": "https://j.example/f"},
                                          {"J": "jsonfeed"}), env={})
    assert [feed.kind for feed in settings.feeds] == ["auto", "jsonfeed"]
    listed = CliRunner().invoke(main, ["feeds", "list", "--config", str(settings.source)]).output.splitlines()
    assert listed == ["A\thttps://a.example/f", "J\thttps://j.example/f\t(kind: jsonfeed)"]
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.kind: unknown feed kind 'telegram' \(known: auto, rss, jsonfeed\)"):
        load_settings(write_config(tmp_path, {"A": "https://a.example/f"}, {"A": "telegram"}), env={})


# -- JSON Feed against any JSON at all ---------------------------------------------------------------------------

HOSTILE = {
    "a list": (b"[1, 2, 3]", "JSON without a jsonfeed.org"),
    "no version": (b'{"items": []}', "JSON without a jsonfeed.org"),
    "a version that is a number": (b'{"version": 1.1, "items": []}', "JSON without a jsonfeed.org"),
    "items not a list": (b'{"version": "https://jsonfeed.org/version/1.1", "items": {"a": 1}}', '"items" list'),
    "not JSON": (b"{oops", "not JSON"),
    "invalid UTF-8": (b'{"version": "https://jsonfeed.org/version/1", "items": [], "t": "\xff"}', "not JSON"),
    "nested a million deep": (b'{"a":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}", "not JSON"),
    "a 100,000-digit number": (b'{"n": ' + b"9" * 100_000 + b"}", "not JSON"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_json_that_is_no_json_feed_is_a_clear_not_a_feed(case):
    body, reason = HOSTILE[case]
    with pytest.raises(NotAFeed, match=reason):
        parse(FetchResult("https://j.example/f", body=body), "jsonfeed")
    if body.startswith(b"{"):  # what auto sends to the JSON Feed parser
        with pytest.raises(NotAFeed, match=reason):
            parse(FetchResult("https://j.example/f", body=body))


def test_json_feed_items_of_every_odd_shape_are_skipped_or_read_without_error():
    body = b"""{"version": "https://jsonfeed.org/version/1", "items": [
        7, null, [], "item", {},
        {"id": 42, "title": "A numeric id", "url": "https://j.example/a"},
        {"id": true, "title": ["not", "a", "string"], "content_text": "Title was a list"},
        {"id": "x", "title": "Bad dates", "date_published": "yesterday", "date_modified": 1700000000},
        {"id": "y", "content_html": "<script>alert(1)</script><p>No title, only <b>content</b></p>",
         "date_published": "2024-06-19T21:10:00+09:00"},
        {"id": "z", "title": "Naive date", "date_published": "2024-06-19T21:10:00"}
    ]}"""
    items = parse(FetchResult("https://j.example/f", body=b"\xef\xbb\xbf" + body)).items
    assert [item.title for item in items] == ["A numeric id", "Title was a list", "Bad dates",
                                              "No title, only content", "Naive date"]
    assert [item.key for item in items][:1] + [item.guid for item in items][1:] == [
        "url:https://j.example/a", None, "x", "y", "z"]
    assert [item.published and item.published.isoformat() for item in items] == [
        None, None, None, "2024-06-19T12:10:00+00:00", None]


def test_a_feed_forced_to_a_kind_that_does_not_fit_fails_with_a_reason(feed_server, tmp_path, feeds_dir):
    feed_server.add_file("world.json", (feeds_dir / "world.json").read_bytes())
    feed_server.add_file("world.atom", (feeds_dir / "world.atom").read_bytes())
    settings = load_settings(write_config(tmp_path, {"J": feed_server.url("world.json"),
                                                     "A": feed_server.url("world.atom")},
                                          {"J": "rss", "A": "jsonfeed"}), env={})
    with Store.open(settings.database_url) as store:
        json_as_rss, atom_as_json = ingest(settings, store)
    assert json_as_rss.error.startswith("not a feed") and atom_as_json.error.startswith("not a feed: not JSON")


# -- a JSON Feed through a real cycle: stored and classified as its Atom twin is ---------------------------------

def test_json_feed_items_are_stored_and_classified_like_rss_items(seed_models, feed_server, feeds_dir, tmp_path,
                                                                     monkeypatch):
    tags = {}
    for name in ("world.atom", "world.json"):
        feed_server.add_file(name, (feeds_dir / name).read_bytes())
        run_dir = tmp_path / name
        run_dir.mkdir()
        config = write_config(run_dir, {"World": feed_server.url(name)})
        monkeypatch.setenv("NEWSWATCH_HOME", str(run_dir / "data"))
        shutil.copytree(seed_models, run_dir / "data" / "models")
        result = CliRunner().invoke(main, ["run", "--config", config], catch_exceptions=False)
        assert "feeds: 1 ok, 0 failed" in result.output and "items: 6 new" in result.output, result.output
        with Store.open(load_settings(config).database_url) as store:
            [model_version] = _model_versions(store)
            scored = scores_by(store, model_version)
        assert len(scored) == 6
        tags[name] = sorted((item.key, item.title, item.summary, item.published, tuple(sorted(scores.items())))
                            for item, scores in scored)
    assert tags["world.json"] == tags["world.atom"]
    assert any(score > 0.5 for *_, scores in tags["world.json"] for _, score in scores), "some are tagged"


def _model_versions(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.exec_driver_sql("select distinct model_version from predictions").scalars())


# -- encodings ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, titles", [("korea-euckr.xml", KOREAN_TITLES), ("russia-koi8r.xml", RUSSIAN_TITLES),
                                          ("russia-cp1251.xml", RUSSIAN_TITLES)])
def test_a_feed_that_declares_no_encoding_is_read_in_the_one_it_has(name, titles, feed_server, feeds_dir, tmp_path):
    body = (feeds_dir / name).read_bytes()
    assert b"encoding=" not in body
    feed_server.add_file(name, body)  # served as application/rss+xml: no charset in the header either
    settings = load_settings(write_config(tmp_path, {"F": feed_server.url(name)}), env={})
    with Store.open(settings.database_url) as store:
        [outcome] = ingest(settings, store)
        assert outcome.error is None
        assert sorted(stored_titles(store, outcome)) == sorted(titles)


def _rss(title: str, declaration: str = "") -> str:
    return (f'{declaration}<rss version="2.0"><channel><title>t</title>'
            f"<item><title>{title}</title><guid>g1</guid><description>{title}</description></item></channel></rss>")


@pytest.mark.parametrize("case, body, content_type", [
    ("UTF-8 with a BOM", codecs.BOM_UTF8 + _rss(KOREAN_TITLES[0]).encode(), "application/rss+xml"),
    ("UTF-8 declaring nothing", _rss(RUSSIAN_TITLES[0]).encode(), "text/xml"),
    ("UTF-8 declaring ISO-8859-1 in the XML", _rss(KOREAN_TITLES[0], '<?xml version="1.0" encoding="ISO-8859-1"?>')
     .encode(), "application/rss+xml"),
    ("UTF-8 declared ISO-8859-1 in HTTP, UTF-8 in the XML", _rss(RUSSIAN_TITLES[0], '<?xml version="1.0" '
     'encoding="utf-8"?>').encode(), "text/xml; charset=ISO-8859-1"),
    ("EUC-KR declaring UTF-8", _rss(KOREAN_TITLES[0], '<?xml version="1.0" encoding="UTF-8"?>').encode("euc-kr")
     + b"<!-- " + "북한 러시아 평양 모스크바 조약 회담 외무상 정상 ".encode("euc-kr") * 4 + b"-->",
     "application/rss+xml"),
    ("windows-1251 declared as such", _rss(RUSSIAN_TITLES[0], '<?xml version="1.0" encoding="windows-1251"?>')
     .encode("cp1251"), "application/rss+xml"),
    ("an unknown encoding declared", _rss(RUSSIAN_TITLES[0], '<?xml version="1.0" encoding="x-martian"?>')
     .encode("koi8-r") + b"<!-- " + RUSSIAN_TITLES[1].encode("koi8-r") * 3 + b"-->", "application/rss+xml"),
])
def test_boms_declarations_that_fit_and_valid_utf8_win(case, body, content_type, feed_server, tmp_path):
    feed_server.route("f.xml", headers={"Content-Type": content_type}, body=body)
    settings = load_settings(write_config(tmp_path, {"F": feed_server.url("f.xml")}), env={})
    with Store.open(settings.database_url) as store:
        [outcome] = ingest(settings, store)
        [title] = stored_titles(store, outcome)
    assert title in (KOREAN_TITLES[0], RUSSIAN_TITLES[0]), case


MARKUP = [
    "<p onclick='steal()'>Kim &amp; Putin met <a href='/news/1'>in Pyongyang</a></p><img src='x.png' alt='pic'>",
    "<script>alert(1)</script><style>p{color:red}</style>Drills <b>began</b><!-- note --> today",
    "<iframe src='https://evil.example/'>Seoul</iframe><noscript>no</noscript><applet>app</applet> and Tokyo",
    "<svg><text>vector</text></svg><table><tr><td>cell</td></tr></table><a href='javascript:evil()'>link</a>",
    "<base href='https://evil.example/'><meta http-equiv='refresh' content='0'><form><input value='v'>form</form>",
]


@pytest.mark.parametrize("markup", MARKUP)
def test_entry_text_is_what_feedparsers_sanitizer_would_have_left(markup):
    """rss.parse turns feedparser's sanitizer off (clean_text strips the markup anyway): the stored text must
    stay what the sanitized HTML gives, in RSS's escaped and CDATA forms and in Atom's HTML content."""
    rss = ("<rss version='2.0'><channel><title>t</title><link>https://outlet.example/</link>"
           f"<item><title>a</title><link>/a</link><description>{escape(markup)}</description></item>"
           f"<item><title>b</title><link>/b</link><description><![CDATA[{markup}]]></description></item>"
           "</channel></rss>")
    atom = ("<feed xmlns='http://www.w3.org/2005/Atom' xml:base='https://outlet.example/'><title>t</title>"
            f"<entry><title>c</title><link href='c'/><id>c</id><content type='html'>{escape(markup)}</content></entry>"
            "</feed>")
    for body in (rss, atom):
        sanitized = feedparser.parse(body.encode())
        items = parse(FetchResult(feed_url="https://outlet.example/feed", body=body.encode())).items
        assert [item.summary for item in items] == [clean_text(entry.summary) for entry in sanitized.entries]
        assert [item.url for item in items] == [entry.link for entry in sanitized.entries]
