"""Full-text search (store/search.py) on SQLite and PostgreSQL: English, Korean, Russian; phrases, short terms,
hostile input; the index kept in step with items and backfilled by the migration; `newswatch search`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.migrations import alembic_config
from newswatch.models import Feed, Item, Prediction
from newswatch.store import ItemFilter, SearchError, Store
from newswatch.store.schema import create_db_engine
from newswatch.actors import spellings_of
from newswatch.store.search import MAX_PATTERNS_ON_POSTGRESQL, search_terms
from seeds import people_by_country, voices_by_country
from shipped_topics import NAMES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
YONHAP = Feed("https://yonhap.example/rss", "Yonhap")
TASS = Feed("https://tass.example/rss", "TASS")
ARTICLES = [  # key, feed, title, summary, {topic: score}
    ("en-treaty", YONHAP, "Putin and Kim sign strategic partnership treaty", "The pact pledges mutual assistance.",
     {"russia_dprk": 0.96, "alliance_drills": 0.05}),
    ("en-drills", YONHAP, "Allies begin joint drills off Busan", "Carrier group joins the exercise.",
     {"russia_dprk": 0.10, "alliance_drills": 0.91}),
    ("en-kimchi", YONHAP, "Kimchi exports hit a record", "Cabbage prices fell.", {"russia_dprk": 0.01, "alliance_drills": 0.0}),
    ("ko-summit", YONHAP, "김정은 위원장, 푸틴 대통령과 정상회담", "북한과 러시아가 군사 협력을 강화했다.",
     {"russia_dprk": 0.88, "alliance_drills": 0.02}),
    ("ko-missile", YONHAP, "북한, 동해상으로 탄도미사일 발사", "합참은 한미 연합 훈련에 대한 반발로 분석했다.",
     {"russia_dprk": 0.20, "alliance_drills": 0.55}),
    ("ru-visit", TASS, "Визит Путина в Пхеньян завершился подписанием договора", "Стороны обсудили сотрудничество.",
     {"russia_dprk": 0.93, "alliance_drills": 0.01}),
    ("ru-drills", TASS, "США и Южная Корея начали совместные учения", "РФ назвала учения провокацией.",
     {"russia_dprk": 0.05, "alliance_drills": 0.81}),
]


def store_articles(store: Store) -> dict[str, int]:
    ids = store.sync_feeds([YONHAP, TASS])
    found = {}
    for n, (key, feed, title, summary, scores) in enumerate(ARTICLES):
        [item] = store.insert_new(ids[feed.url], [Item(key=key, title=title, summary=summary,
                                                      published=NOW - timedelta(hours=len(ARTICLES) - n))], NOW)
        tags = tuple(topic for topic, score in scores.items() if score >= 0.5)
        store.save_predictions("v1", [(item, Prediction(scores, tags))], NOW)
        found[key] = item.id
    return found


def keys(store: Store, text: str | None = None, **where) -> list[str]:
    return [row.item.key for row in store.scored_items(ItemFilter(search=text, **where), limit=100)]


def test_words_phrases_and_languages(store):
    store_articles(store)
    assert keys(store, "putin kim") == ["en-treaty"]  # every word, in any order
    assert keys(store, "kim putin") == ["en-treaty"]
    assert keys(store, '"joint drills"') == ["en-drills"] and keys(store, '"drills joint"') == []
    assert keys(store, "kim") == ["en-kimchi", "en-treaty"]  # a substring: the price of needing no tokenizer
    assert keys(store, "KIMCHI record") == ["en-kimchi"]  # case-insensitive
    assert keys(store, "김정은") == ["ko-summit"]
    assert keys(store, "정상회담 푸틴") == ["ko-summit"]
    assert keys(store, "미사일") == ["ko-missile"]  # inside 탄도미사일: Korean glues words together
    assert keys(store, '"путин"') == ["ru-visit"]  # "Путина": case folded, inflection inside
    assert keys(store, "учения") == ["ru-drills"]
    assert keys(store, "ПХЕНЬЯН договора") == ["ru-visit"]
    assert keys(store, "cooperation") == []


def test_a_name_of_the_beats_people_finds_the_reports_of_every_script_unless_quoted(store):
    store_articles(store)
    everywhere = ["ru-visit", "ko-summit", "en-treaty"]  # "Визит Путина", "푸틴 대통령", "Putin and Kim"
    assert keys(store, "Putin") == keys(store, "путин") == keys(store, "Путина") == keys(store, "푸틴") == everywhere
    assert keys(store, '"Putin"') == ["en-treaty"] and keys(store, '"푸틴"') == ["ko-summit"]
    assert keys(store, "Putin 정상회담") == ["ko-summit"] and keys(store, "Putin договора") == ["ru-visit"]
    assert keys(store, "Kim Jong Un") == ["ko-summit"]  # the name's words together, as 김정은 (indexed)
    assert keys(store, "Vladimir Putin treaty") == ["en-treaty"]
    assert keys(store, "kim") == ["en-kimchi", "en-treaty"], "a bare surname names no one"


def test_a_two_syllable_korean_name_added_to_a_search_is_found_beside_a_particle_space_or_mark(store):
    ids = store.sync_feeds([YONHAP])
    titles = {"particle": "러 대통령 푸틴은 평양에 도착", "space": "푸틴 대통령 방북", "comma": "푸틴, 北에 감사",
              "glued": "뿌찐대통령께서 축전", "mark": "“푸틴”, 북러 조약 서명",
              "one-letter word": "Совещание было организован и проведено", "wang yi": "Министр Ван И прибыл в Москву"}
    for key, title in titles.items():
        store.insert_new(ids[YONHAP.url], [Item(key=key, title=title)], NOW)
    # PostgreSQL looks for fewer forms (store/search.py says why): not in a title that opens with the name
    found = ["particle"] + (["comma", "glued", "mark", "space"] if store.engine.dialect.name == "sqlite" else [])
    assert sorted(keys(store, "Putin")) == sorted(keys(store, "푸틴")) == sorted(found)
    assert sorted(keys(store, '"푸틴"')) == ["comma", "mark", "particle", "space"], "quoted: a plain substring"
    assert keys(store, "Wang Yi") == ["wang yi"], "no word's ending"


def test_no_person_of_the_table_is_searched_with_more_patterns_than_postgresql_plans_well():
    """Past MAX_PATTERNS_ON_POSTGRESQL, PostgreSQL reads every item for a name found nowhere (store/search.py):
    a spelling added to seeds/people.toml must not take a person past it."""
    people = [person for table in (people_by_country(), voices_by_country()) for by_person in table.values()
              for person in by_person]
    assert len(people) > 40
    for person in people:
        for typed in (person, *spellings_of(person)):
            [term] = search_terms(typed)
            assert len(term.patterns("postgresql")) <= MAX_PATTERNS_ON_POSTGRESQL, (typed, term.patterns("postgresql"))


def test_search_terms_say_what_else_they_look_for():
    [putin, kim] = search_terms("Putin kim")
    assert (putin.also, kim.also) == (("푸틴", "뿌찐", "путин"), ())
    [name] = search_terms("Lee Jae-myung")
    assert name.spellings == ("Lee Jae-myung", "lee jae myung", "이재명", "ли чжэ мен")
    [name] = search_terms("kim jong un")
    assert name.also == ("김정은", "ким чен ын", "kim jong-un")  # as Latin copy also writes it
    assert [term.text for term in search_terms('"Kim" Jong Un')] == ["Kim", "Jong", "Un"]
    assert search_terms('"Putin"')[0].also == ()


def test_terms_shorter_than_a_trigram(store):
    store_articles(store)
    assert keys(store, "북한") == ["ko-missile", "ko-summit"]  # alone: a substring scan, newest first
    assert keys(store, "북한 탄도") == ["ko-missile"]  # beside a longer term: narrows its matches
    assert keys(store, "рф") == ["ru-drills"]  # "РФ": Cyrillic case is folded for short terms too
    assert keys(store, "한미 훈련") == ["ko-missile"]


@pytest.mark.parametrize("hostile", ['NEAR(putin kim)', 'putin OR kim', 'title:putin', '"', 'kim*', '-kim', "AND",
                                     "'; drop table items; --", '100%', "a_b", "\\", '"unclosed phrase',
                                     "^putin", "{title summary}: kim", "putin + kim"])
def test_user_input_never_reaches_the_query_syntax(store, hostile):
    store_articles(store)
    try:
        keys(store, hostile)  # no database error, whatever it finds
    except SearchError as exc:  # or a reason the user can read
        assert "nothing to search for" in str(exc)
    assert keys(store, "treaty") == ["en-treaty"], "nothing was dropped"


def test_fts_syntax_is_searched_for_literally(store):
    ids = store.sync_feeds([YONHAP])
    store.insert_new(ids[YONHAP.url], [Item(key="odd", title='He said "NEAR(a b)" OR 50%_off: title*')], NOW)
    store.insert_new(ids[YONHAP.url], [Item(key="plain", title="near a b or 50 off title")], NOW)
    assert keys(store, 'NEAR(a') == ["odd"]
    assert keys(store, '50%_off') == ["odd"]
    assert keys(store, 'title*') == ["odd"]
    assert keys(store, '"said ""NEAR"') == ["odd"]  # no escaping by doubling for the user: phrases said, NEAR
    assert keys(store, 'OR 50%') == ["odd"]


def test_bad_searches_are_refused_with_a_reason(store):
    for text, reason in (('""', "nothing to search for"), ("   ", "nothing to search for"),
                         ("x" * 201, "limited to 200 characters"), ("kim\x00", "control characters")):
        with pytest.raises(SearchError, match=reason):
            keys(store, text)


def test_article_text_is_searched_and_the_index_follows_changes(store):
    ids = store_articles(store)
    assert keys(store, "Sunan airport") == []
    store.set_texts({ids["en-treaty"]: "The motorcade left Sunan airport for Kumsusan palace."})
    assert keys(store, "Sunan airport") == ["en-treaty"]
    store.set_texts({ids["en-treaty"]: "Rewritten."})
    assert keys(store, "Sunan airport") == [] and keys(store, "rewritten") == ["en-treaty"]
    store.set_stories({ids["en-treaty"]: ids["en-treaty"]})  # not a text change: the index is left alone
    assert keys(store, "putin kim") == ["en-treaty"]


def test_filters_and_paging(store):
    ids = store_articles(store)
    assert keys(store, topics=("alliance_drills",)) == ["ru-drills", "ko-missile", "en-drills"]
    assert keys(store, "drills", topics=("alliance_drills",)) == ["en-drills"]
    assert keys(store, min_score=0.9, topics=NAMES) == ["ru-visit", "en-drills", "en-treaty"]
    assert keys(store, min_score=0.9, topics=("russia_dprk",)) == ["ru-visit", "en-treaty"]
    assert keys(store, feed_urls=(TASS.url,)) == ["ru-drills", "ru-visit"]
    assert keys(store, story_id=ids["ko-summit"]) == ["ko-summit"]
    first = store.scored_items(ItemFilter(), limit=3)
    rest = store.scored_items(ItemFilter(), limit=10, before=first[-1].item.id)
    assert [r.item.key for r in first + rest] == [a[0] for a in reversed(ARTICLES)]
    assert first[0].prediction.scores["alliance_drills"] == 0.81 and first[0].feed_name == "TASS"


def test_the_migration_indexes_items_stored_before_it(database_url):
    engine = create_db_engine(database_url)
    with engine.begin() as conn:  # a store as it was before full-text search
        command.upgrade(alembic_config(conn), "0003")
        conn.execute(sa.text("insert into feeds (id, url, name) values (1, 'https://a.example/rss', 'A')"))
        conn.execute(sa.text("insert into items (key, feed_id, title, summary, text, fetched_at) values "
                             "('old', 1, 'Шойгу прибыл в Пхеньян', '', 'Talks on artillery shells', :now)"),
                     {"now": NOW.replace(tzinfo=None)})
    engine.dispose()
    with Store.open(database_url) as store:
        assert keys(store, "пхеньян") == ["old"] and keys(store, "artillery shells") == ["old"]


def test_search_command(data_dir):
    settings = load_settings(env={"NEWSWATCH_HOME": str(data_dir)})
    with Store.open(settings.database_url) as store:
        ids = store_articles(store)
    runner = CliRunner()
    listed = runner.invoke(main, ["search", "putin"])
    assert listed.exit_code == 0, listed.output
    assert f"{ids['en-treaty']}  " in listed.output and "Putin and Kim" in listed.stdout
    assert "Визит Путина" in listed.stdout and listed.stderr == "also searching for 'putin' as: 푸틴, 뿌찐, путин\n"
    as_json = runner.invoke(main, ["search", "учения OR", "--json"])
    assert as_json.exit_code == 0 and as_json.output == ""
    lines = [json.loads(line) for line in runner.invoke(main, ["search", "Пхеньян", "--json"]).output.splitlines()]
    assert [(line["key"], line["feed"], line["tags"]) for line in lines] == [("ru-visit", "TASS", ["russia_dprk"])]
    assert len(runner.invoke(main, ["search", "a", "--json", "--limit", "2"]).output.splitlines()) == 2
    empty = runner.invoke(main, ["search", "nothing-like-this"])
    assert empty.exit_code == 0 and "nothing stored matches" in empty.output
    bad = runner.invoke(main, ["search", '""'])
    assert bad.exit_code == 2 and "nothing to search for" in bad.output and "Traceback" not in bad.output
    blank = runner.invoke(main, ["search", "  "])
    assert blank.exit_code == 2 and "nothing to search for" in blank.output, "not every item"
