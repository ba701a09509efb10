"""Full-text search benchmark: latency of typical searches over a million stored items (English, Korean, Russian).

    .venv/bin/python bench/search.py [--items 1000000] [--database sqlite:////tmp/newswatch-bench/search-1m.db]
                                     [--runs 30] [--baseline-runs 3]

Builds the store once (synthetic items from 40 outlets, a third in each language, a quarter with an
article text; each scored by one model version; ANALYZEd as autovacuum would; kept and reused while it
holds ``--items`` items), then
times ``Store.scored_items`` — the one search behind the review page, ``newswatch search``, the API and
saved queries' feeds — for a first page of 20 results, over typical searches run in a shuffled order.
Prints p50/p95 per search and overall. The baseline, in the same run over the same store, is what the
inbox's search box did before: a substring of titles only (``lower(title) LIKE '%…%'``), newest first.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from newswatch.models import Feed
from newswatch.store import ItemFilter, Store
from newswatch.store.schema import items, predictions

PAGE = 20
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
# common words first: word n is drawn with weight 1/(n+1), roughly as words occur in news
ENGLISH = ("the of to and in said on for with north korea russia pyongyang moscow seoul missile military "
           "minister president talks treaty summit drills exercise alliance navy army officials sanctions "
           "trade energy grain border envoy delegation cooperation statement week report analysts state "
           "media agency launch satellite artillery shells troops ukraine war kremlin putin kim jong un "
           "allied joint carrier bomber japan united states defense chief visit meeting deal bridge rail "
           "port rajin khasan vostochny cosmodrome ballistic hypersonic nuclear test site sohae tumen river "
           "parliament ratified partnership comprehensive strategic mutual assistance belousov shoigu lavrov "
           "choe son hui foreign ministry spokesperson condemned provocation rehearsal invasion ulchi freedom "
           "shield vigilant defense freedom edge trilateral aircraft fighter jets escorted peninsula").split()
KOREAN = ("북한 러시아 김정은 푸틴 평양 모스크바 서울 정상회담 조약 군사 협력 미사일 발사 훈련 연합 한미 "
          "한미일 국방부 외교부 대변인 성명 제재 무기 거래 포탄 위성 파병 우크라이나 전쟁 동맹 을지 "
          "자유의 방패 항공모함 전략폭격기 공동 훈련을 실시했다 밝혔다 보도했다 조선중앙통신 노동신문 "
          "위원장 대통령 장관 방문 회담 합의 철도 교량 두만강 나선 하산 보스토치니 우주기지 탄도 극초음속 "
          "핵실험 도발 규탄 침략 연습 전투기 호위 반도 국제사회 안보리 유엔 대북 제재위원회 보고서").split()
RUSSIAN = ("и в на с что по не КНДР Россия Пхеньян Москва Сеул Путин Ким Чен Ын визит переговоры договор "
           "саммит учения альянс ракета запуск военные министр президент сотрудничество заявление санкции "
           "торговля энергетика граница делегация неделя доклад аналитики агентство спутник артиллерия "
           "снаряды войска Украина война Кремль совместные авианосец бомбардировщик Япония США оборона "
           "встреча соглашение мост железная дорога порт Раджин Хасан Восточный космодром баллистическая "
           "гиперзвуковая ядерное испытание полигон Туманная река парламент ратифицировал партнерство "
           "всеобъемлющее стратегическое взаимная помощь Белоусов Шойгу Лавров Цой Сон Хи МИД осудил "
           "провокация репетиция вторжения полуостров истребители сопровождали").split()
LANGUAGES = (ENGLISH, KOREAN, RUSSIAN)
SEARCHES = {  # what an analyst of these topics types, in each language
    "en word": "missile", "en rare word": "Vostochny", "en two words": "putin kim",
    "en phrase": '"joint drills"', "en phrase + word": '"strategic partnership" treaty',
    "ko word": "김정은", "ko two words": "푸틴 정상회담", "ko short + long": "북한 미사일",
    "ru word": "Пхеньян", "ru inflected stem": "переговор", "ru two words": "Путин Ким",
    "2-char alone": "북한",
    # a name of the beat's people also finds its other scripts' spellings (store/search.py)
    "person, every script": "Shoigu", "person with a 2-char Korean spelling": "Putin",
    "person found nowhere, 2-char Korean spelling": "Wang Yi",
}
TOPIC_SEARCH = ("en word, tagged russia_dprk", "treaty")


def sentence(rng: random.Random, words: tuple[str, ...], weights: list[float], n: int) -> str:
    return " ".join(rng.choices(words, weights, k=n))


def build(store: Store, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    outlets = [Feed(f"https://outlet{n}.example/rss", f"Outlet {n}") for n in range(40)]
    feed_ids = list(store.sync_feeds(outlets).values())
    vocabularies = [(tuple(words), [1.0 / (n + 1) for n in range(len(words))]) for words in LANGUAGES]
    chunk = 10_000
    started = time.perf_counter()
    for first in range(0, count, chunk):
        item_rows, scores = [], []
        for n in range(first, min(first + chunk, count)):
            words, weights = vocabularies[n % 3]
            when = START + timedelta(seconds=20 * n)
            text = " ".join(sentence(rng, words, weights, 20) + "." for _ in range(6)) if n % 4 == 0 else ""
            item_rows.append(dict(key=f"bench:{n}", feed_id=feed_ids[n % len(feed_ids)], guid=f"g{n}",
                                  url=f"https://outlet{n % 40}.example/news/{n}",
                                  title=sentence(rng, words, weights, rng.randint(7, 13)),
                                  summary=sentence(rng, words, weights, rng.randint(20, 40)), text=text,
                                  published_at=when, fetched_at=when))
            scores.append((rng.random() ** 3, rng.random() ** 3))
        with store.engine.begin() as conn:
            ids = conn.execute(items.insert().returning(items.c.id, items.c.fetched_at), item_rows).all()
            conn.execute(predictions.insert(), [
                dict(item_id=item_id, model_version="v1", created_at=fetched,
                     scores=json.dumps({"russia_dprk": a, "alliance_drills": b}),
                     tags=json.dumps([t for t, s in (("russia_dprk", a), ("alliance_drills", b)) if s >= 0.5]))
                for (item_id, fetched), (a, b) in zip(ids, scores)])
        done = first + len(item_rows)
        if done % 100_000 == 0 or done == count:
            print(f"  stored {done:,} items ({time.perf_counter() - started:.0f} s)", flush=True)
    with store.engine.begin() as conn:  # what autovacuum would do to a store that grew this much
        conn.execute(sa.text("ANALYZE"))


def stored(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()


def title_substring(store: Store, text: str) -> list[int]:
    """The baseline: the inbox's search before full text (a title substring), newest first."""
    query = (sa.select(items.c.id).where(sa.func.lower(items.c.title).contains(text.strip('"').lower(), autoescape=True))
             .order_by(items.c.id.desc()).limit(PAGE))
    with store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite:////tmp/newswatch-bench/search-1m.db")
    parser.add_argument("--runs", type=int, default=30, help="Timed rounds; each runs every search once.")
    parser.add_argument("--baseline-runs", type=int, default=3, help="Rounds of the (slow) title-substring baseline.")
    args = parser.parse_args()

    with Store.open(args.database) as store:
        have = stored(store)
        if have not in (0, args.items):
            raise SystemExit(f"{args.database} holds {have:,} items, not {args.items:,}: remove it or pick another")
        if have == 0:
            print(f"building {args.items:,} items in {args.database} …", flush=True)
            build(store, args.items)
        searches = {name: ItemFilter(search=text) for name, text in SEARCHES.items()}
        searches[TOPIC_SEARCH[0]] = ItemFilter(search=TOPIC_SEARCH[1], topics=("russia_dprk",))
        for where in searches.values():  # warm the page cache once, as a running server would be
            store.scored_items(where, limit=PAGE)
        timings: dict[str, list[float]] = {name: [] for name in searches}
        found: dict[str, int] = {}
        order = list(searches)
        rng = random.Random(1)
        for _ in range(args.runs):
            rng.shuffle(order)
            for name in order:
                started = time.perf_counter()
                found[name] = len(store.scored_items(searches[name], limit=PAGE))
                timings[name].append(time.perf_counter() - started)
        baseline: list[float] = []
        for _ in range(args.baseline_runs):
            for text in SEARCHES.values():
                started = time.perf_counter()
                title_substring(store, text)
                baseline.append(time.perf_counter() - started)

    print(f"\n{args.items:,} items, {args.database.split(':', 1)[0]}, first page of {PAGE}, {args.runs} rounds")
    print(f"{'search':<30}{'found':>6}{'p50 ms':>9}{'p95 ms':>9}")
    for name in searches:
        print(f"{name:<30}{found[name]:>6}{statistics.median(timings[name]) * 1000:>9.1f}"
              f"{percentile(timings[name], 95) * 1000:>9.1f}")
    every = [t for values in timings.values() for t in values]
    print(f"{'all searches':<30}{'':>6}{statistics.median(every) * 1000:>9.1f}{percentile(every, 95) * 1000:>9.1f}")
    print(f"{'baseline: title substring':<30}{'':>6}{statistics.median(baseline) * 1000:>9.1f}"
          f"{percentile(baseline, 95) * 1000:>9.1f}")
    print(f"p95 ratio search / baseline: {percentile(every, 95) / percentile(baseline, 95):.2f}")


if __name__ == "__main__":
    main()
