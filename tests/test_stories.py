"""One event, one story, across languages: the hand-written pairs, and a real cycle over Korean, Russian and
English loopback feeds whose digest lists the event once with its other-language copies under it."""

import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner
from story_pairs import (PAIRS, HELD_OUT_PAIRS, HELD_OUT_PAIRS_2, HELD_OUT_PAIRS_3, HELD_OUT_PAIRS_4, HELD_OUT_PAIRS_5,
                         HELD_OUT_PAIRS_6, HELD_OUT_PAIRS_7, HELD_OUT_PAIRS_8, HELD_OUT_PAIRS_9, HELD_OUT_PAIRS_11,
                         HELD_OUT_PAIRS_12, HELD_OUT_PAIRS_13, HELD_OUT_PAIRS_14, load_pairs)

from newswatch.cli import main
from newswatch.anchors import Anchors
from newswatch.models import Feed, Item
from newswatch.stories import (CROSS_FLOOR, CROSS_LANGUAGE, SIGNALS, _bar_weights, _cross_language_story, _elsewhere,
                               _headline_place_unmatched, _learned_bar, assign_stories, meanings, words)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

# A few pairs of each kind from tests/data/story_pairs.jsonl (bench/stories.py measures all 120 and the pairs of
# the held-out files; no test names the sixteenth's, which was held out): same event in ko–en, ko–ru, en–ru;
# different events on one day (two Kim Jong Un appearances, two visitors to Kim).
SAME = ("pair-001", "pair-011", "pair-045", "pair-053")
DIFFERENT = ("pair-061", "pair-099", "pair-120", "pair-106")


def test_reports_of_one_event_in_other_languages_share_a_story_and_different_events_do_not():
    pairs = {pair.id: pair for pair in load_pairs()}
    assert {pair_id: pairs[pair_id].grouped() for pair_id in SAME} == dict.fromkeys(SAME, True)
    assert {pair_id: pairs[pair_id].grouped() for pair_id in DIFFERENT} == dict.fromkeys(DIFFERENT, False)


def test_a_putin_message_and_a_party_leaders_letter_on_one_day_stay_apart_in_any_language():
    pairs = {pair.id: pair for pair in load_pairs()}
    # KCNA English "message from Vladimir Putin" vs TASS Russian "Якушев направил Ким Чен Ыну…": cosine 0.60,
    # above the threshold; each puts forward a person the other never names.
    assert not pairs["pair-067"].grouped()
    # The same KCNA template in one language, Putin vs Zyuganov: the word rule alone would merge them.
    assert not pairs["pair-093"].grouped()
    # The party letter itself in KCNA Korean ("브.야꾸쉐브") and TASS Russian, and a Putin-Kim treaty in Korean
    # and English, still group: the same people, written as each wire writes them.
    assert pairs["pair-046"].grouped()
    assert pairs["pair-001"].grouped()


def test_the_same_people_at_another_kind_of_event_place_or_launch_stay_apart_and_one_event_still_groups():
    pairs = {pair.id: pair for pair in load_pairs(HELD_OUT_PAIRS)}
    # Merged before the event veto (cosine 0.55-0.74, within 27 h), each with the same people or none:
    apart = {
        "heldout-042": "Putin's greeting vs Kim's message of thanks for it (a greeting vs the reply)",
        "heldout-050": "Russian ships arrive in Wonsan vs a Russia-China patrol (a visit vs an exercise)",
        "heldout-052": "Lee backs a Trump-Kim meeting vs Trump's remark (Lee acts in one headline only)",
        "heldout-053": "Rudenko arrives in Pyongyang vs meets an ambassador in Moscow (a visit vs a meeting)",
        "heldout-059": "Kim at an anti-aircraft missile test vs a cruise missile launch (two missile classes)",
        "heldout-067": "Kim at a shipyard vs at a munitions factory, both KCNA Korean (two kinds of place)",
    }
    # One event written differently: a shipyard in three spellings, a missile class in the lead, a statement
    # that one wire names and the other quotes, artillery fire that the JCS "condemns" in quotes.
    together = ("heldout-001", "heldout-002", "heldout-021", "heldout-007", "heldout-016")
    _assert_apart_and_together(pairs, apart, together)


def test_a_greeting_from_a_title_an_institutions_statement_an_arrival_and_unknown_ministers_stay_apart():
    pairs = {pair.id: pair for pair in load_pairs(HELD_OUT_PAIRS_2)}
    # The five merges the second round left (cosine 0.54-0.75, within 36 h):
    apart = {
        "heldout2-052": "Kim's New Year card to Putin vs KCNA's 'Receives … from Russian President' (the sender)",
        "heldout2-055": "Freedom Shield begins vs the KPA General Staff's threat about it (a statement)",
        "heldout2-067": "Belousov with the North Korean vs the Chinese defence minister (titles, two ministers)",
        "heldout2-068": "the same two meetings in Russian and Korean",
        "heldout2-073": "Kim arrives in Moscow 'ahead of talks' vs the talks the next day (an arrival)",
    }
    # The same event written with a title, a statement or an arrival still groups: Putin's card received
    # "from Russian President", the two defence ministers by name and by title (twice), the General Staff's
    # statement in English and Korean (anchored by the drill it names), Kim's arrival "ahead of talks" in English
    # and Russian.
    together = ("heldout2-011", "heldout2-023", "heldout2-036", "heldout2-013", "heldout2-028")
    _assert_apart_and_together(pairs, apart, together)


def test_a_protest_about_an_event_and_a_launch_of_another_class_the_next_day_stay_apart():
    pairs = {pair.id: pair for path in (HELD_OUT_PAIRS, HELD_OUT_PAIRS_3) for pair in load_pairs(path)}
    # The two merges the third round left (cosine 0.52 and 0.62, within 36 h):
    apart = {
        "heldout3-035": "the Russia-China bomber patrol vs Seoul protesting to the attaches (a protest)",
        "heldout3-049": "SRBMs vs cruise missiles the next day, whose lead recalls the SRBMs (the headline's class)",
    }
    # One event still groups: a class in one headline and only the other's lead (three times), a launch the
    # JCS "condemns" in quotes, one condemnation in English and Russian.
    together = ("heldout3-001", "heldout3-002", "heldout3-003", "heldout-016", "heldout-017")
    _assert_apart_and_together(pairs, apart, together)


def test_an_incursion_a_deployment_a_reply_a_drills_end_and_an_announced_visit_stay_apart_from_what_they_answer():
    pairs = {pair.id: pair for path in (HELD_OUT_PAIRS_3, HELD_OUT_PAIRS_4) for pair in load_pairs(path)}
    # Merges the fourth round left (cosine 0.52-0.66, within 36 h):
    apart = {
        "heldout4-059": "warplanes 'enter' the air defence zone vs the protest to the attaches (an incursion)",
        "heldout4-115": "a new 'отправка' of troops vs the ambassador summoned over it (a deployment)",
        "heldout4-116": "troops sent, naming no kind, vs a summons that names no one in common (a bare statement)",
        "heldout4-084": "Kim's greeting vs KCNA's '답전' from Putin (a reply word alone)",
        "heldout4-069": "the ICBM vs the B-1B drill 'after North Korea's ICBM test' (what came before)",
        "heldout4-097": "a drill's start vs its end",
        "heldout4-113": "'Putin to visit North Korea this week' vs 'Путин прилетел' (an announcement)",
        "heldout4-103": "Seoul's sanctions vs Moscow 'пообещал ответить' (a statement)",
    }
    # One event still groups: the patrol and the ADIZ entry, a reply in KCNA Korean and English, the drill's
    # start in two languages, the announced visit in two wires, the deployment's two reports. (heldout4-001, the
    # patrol's Russian headline naming only "китайские H-6K", no longer does: see the unanchored bar below.)
    together = ("heldout3-014", "heldout4-024", "heldout4-030", "heldout4-045", "heldout4-049")
    _assert_apart_and_together(pairs, apart, together)


def test_reports_that_share_no_anchor_must_be_closer_to_be_one_story():
    pairs = {pair.id: pair for path in (PAIRS, HELD_OUT_PAIRS_2, HELD_OUT_PAIRS_4, HELD_OUT_PAIRS_5,
                                         HELD_OUT_PAIRS_6) for pair in load_pairs(path)}
    # Merged by the fifth round's rules (cosine 0.54-0.61, within 36 h, no veto): no person, number, name,
    # missile class, kind of place or two countries in common, so they had to reach the hand bar of 0.61;
    # the learned bar (sixteenth round) keeps them apart too.
    apart = {
        "heldout5-087": "the allies' Ulchi Freedom Shield begins vs Kim at an artillery drill during it (ru, en)",
        "heldout6-069": "Freedom Edge begins vs a launch 'as allies drill'",
        "heldout6-076": "a launch 'as allies drill' vs Kim at a firing drill",
        "heldout6-096": "a launch vs the Security Council session over it",
    }
    # One event below 0.61 still groups on an anchor: numbers (3,000 and 4,000 in both), a name across scripts
    # (Wonsan, 원산, Вонсан: twice), the same two countries in both headlines (중러 / China, Russia; Россия и Китай
    # / 중러).
    together = ("pair-025", "heldout5-035", "heldout6-045", "heldout4-037", "heldout6-029")
    _assert_apart_and_together(pairs, apart, together)
    # A translated name of the beat's institutions and drills is an anchor too: "北, '자유의 방패' 첫날 탄도미사일
    # 발사" vs "КНДР выпустила ракеты в первый день учений Freedom Shield" groups. The price of the table: the
    # drill's name is also what its start and Kim at an artillery drill during it share; under the hand bars both
    # heldout5-084 and -086 merged, under the learned bar (the sixteenth round) -084 is apart and -086 still merges.
    # And the patrol's Russian headline naming only "китайские H-6K", kept apart by the hand bars, groups under the
    # learned one (0.565 against a bar of 0.47: no anchor, but the same kind of event, 2.4 h apart).
    assert pairs["pair-021"].grouped() and not pairs["heldout5-084"].grouped() and pairs["heldout5-086"].grouped()
    assert pairs["heldout4-001"].grouped()


def test_the_same_person_at_the_same_place_of_the_table_joins_at_a_lower_bar():
    pairs = {pair.id: pair for path in (PAIRS, HELD_OUT_PAIRS_2, HELD_OUT_PAIRS_5, HELD_OUT_PAIRS_8)
             for pair in load_pairs(path)}
    # One visit's reports below CROSS_LANGUAGE (0.51), strongly anchored (a person one puts forward and the other
    # names, and a place or institution of anchors.INSTITUTIONS in both), reached the hand bar of 0.46 (the learned bar
    # groups them too):
    # Volodin with Choe Ryong Hae (the Duma, the SPA, 0.50), Lavrov at Wonsan-Kalma (ko–ru 0.49, 0.46), Volodin's
    # arrival naming the Duma and Kursk (ko–ru 0.47).
    together = ("pair-020", "heldout8-041", "pair-003", "heldout8-008", "heldout8-038")
    # Kept apart below 0.51: the same person at the same place but another event under the lower bar (Lavrov's
    # talks in Wonsan vs Kim receiving him, 0.452); a place of the table alone (Kursk, 0.48); a person alone
    # (Putin, 0.49); a person and a place further apart (Kozlov, Vladivostok, 0.42).
    apart = {
        "heldout8-082": "Lavrov with Choe Son Hui in Wonsan vs another event there with them (0.452)",
        "heldout2-069": "two events naming Kursk, no person in common",
        "heldout5-076": "two events of Putin's, no place of the table",
        "heldout5-091": "Kozlov at Vladivostok, two events (0.42)",
    }
    _assert_apart_and_together(pairs, apart, together)


def test_a_korean_and_a_russian_report_with_a_person_in_common_join_at_a_lower_bar():
    pairs = {pair.id: pair for path in (PAIRS, HELD_OUT_PAIRS_2, HELD_OUT_PAIRS_5, HELD_OUT_PAIRS_6, HELD_OUT_PAIRS_9,
                                         HELD_OUT_PAIRS_11) for pair in load_pairs(path)}
    # One event's Korean and Russian reports, one putting forward a person the other names, below their bar before
    # this rule: at the hand bar of 0.48 instead of 0.51 (the Tumen road bridge's groundbreaking 0.483, Putin
    # with Choe Son Hui 0.4996, Kim at a rocket-launcher test 0.493), and at 0.43
    # instead of 0.46 for the same person at the same place (the banquet for Matviyenko 0.457, Kim's wreath in
    # Vladivostok 0.440).
    together = ("pair-009", "heldout5-044", "heldout9-011", "heldout11-005", "heldout11-023")
    # Kept apart: two events of the same people in Korean and Russian (Putin's New Year greeting vs Kim's card,
    # 0.473, under 0.48); a Korean and a Russian report sharing a place and no person (the port call vs Kim aboard
    # the frigate, Wonsan, 0.4999: the bar stays 0.51); an English pair with a person in common (Kim's Victory Day
    # greeting vs the KPA troops in the parade, en–ko 0.49: 0.51 stays its bar).
    apart = {
        "heldout2-053": "Putin's New Year greeting vs Kim's card to Putin, ru–ko (0.473)",
        "heldout9-059": "the port call vs Kim aboard the frigate, Wonsan, no person in common, ko–ru (0.4999)",
        "heldout5-076": "Kim's Victory Day greeting vs the KPA troops in the parade, ko–en (0.49)",
    }
    _assert_apart_and_together(pairs, apart, together)
    base, weights = _bar_weights()
    assert dict(zip(SIGNALS, weights))["ko_ru"] < 0 and dict(zip(SIGNALS, weights))["person"] < 0


def test_reports_naming_different_places_of_the_table_share_no_anchor():
    pairs = {pair.id: pair for path in (PAIRS, HELD_OUT_PAIRS_4, HELD_OUT_PAIRS_7) for pair in load_pairs(path)}
    # Each names places, institutions or drills of anchors.INSTITUTIONS, none in common: they must reach
    # the hand bar of 0.61 whatever else they shared; under the learned bar it is a signal that raises it.
    apart = {
        "heldout4-122": "a launch from Sohae vs the ministers citing Security Council resolutions (0.52)",
        "heldout7-061": "one treaty ratified by the State Duma vs by the SPA Standing Committee (0.56)",
    }
    # Shoigu, secretary of "the Security Council of the Russian Federation", is not at the UN's (0.57).
    together = ("pair-002",)
    _assert_apart_and_together(pairs, apart, together)
    wonsan, kalma, vladivostok = (Anchors.of(title, "", "en") for title in ("Lavrov in Wonsan", "Lavrov tours Kalma",
                                                                          "Lavrov in Vladivostok"))
    assert not _elsewhere(wonsan, kalma) and _elsewhere(wonsan, vladivostok)
    assert not _elsewhere(wonsan, Anchors.of("Lavrov meets Choe", "", "en"))


def test_a_headline_naming_a_place_of_the_table_the_other_report_does_not_name_shares_no_anchor():
    pairs = {pair.id: pair for path in (HELD_OUT_PAIRS_2, HELD_OUT_PAIRS_3, HELD_OUT_PAIRS_4, HELD_OUT_PAIRS_6,
                                        HELD_OUT_PAIRS_8, HELD_OUT_PAIRS_12) for pair in load_pairs(path)}
    # One headline names the Security Council or a drill of anchors.INSTITUTIONS and the other report names it
    # nowhere: the hand bar of 0.61 (a signal raising the learned bar), though both name the missile's class ("ICBM")
    # or countries.
    apart = {
        "heldout12-057": "a Hwasong-20 launch vs the Security Council's session on it (en–ko 0.53)",
        "heldout12-058": "the Security Council's session vs the launch (en–ko 0.56)",
        "heldout6-088": "Freedom Edge starting vs a B-1B air drill the next day (en–ko 0.55)",
        "heldout6-089": "the same, ko–ru (0.57)",
        "heldout8-093": "a sanctions monitors' report vs Russia at the Security Council (en–ru 0.54)",
    }
    # The other report names the place in its lead (Lavrov at Wonsan; a launch during Freedom Shield), or the
    # headline names it only inside a quote (Kim Yo Jong: "을지 연습은 대결 광기").
    together = ("heldout4-016", "heldout2-014", "heldout3-012")
    _assert_apart_and_together(pairs, apart, together)
    council = Anchors.of("UN Security Council meets on North Korea ICBM", "", "en")
    launch = Anchors.of("North Korea fires ICBM", "The missile flew 1,000 km.", "en")
    assert _headline_place_unmatched(council, launch) and _headline_place_unmatched(launch, council)
    assert not _headline_place_unmatched(council, Anchors.of("N. Korea ICBM", "The Security Council met.", "en"))
    assert not _headline_place_unmatched(Anchors.of('김여정 "을지 연습은 도발"', "", "ko"), launch)


def test_the_hosts_reception_of_a_guest_stays_apart_from_the_guests_arrival():
    pairs = {pair.id: pair for path in (HELD_OUT_PAIRS_4, HELD_OUT_PAIRS_12) for pair in load_pairs(path)}
    apart = {"heldout12-069": "Yevkurov arrives in Pyongyang vs Kim Jong Un receives him (en–ru 0.65)"}
    together = ("heldout12-003", "heldout4-019")  # Kim receives Trutnev, Lavrov: 접견 and принял are one reception
    _assert_apart_and_together(pairs, apart, together)


def test_a_council_session_and_a_comment_on_a_launch_group_with_their_own_reports_and_not_with_the_launch():
    pairs = {pair.id: pair for pair in load_pairs(HELD_OUT_PAIRS_13)}
    apart = {
        "heldout13-040": "a launch vs Beijing's words on it, whose Korean headline names the launch with 에 (en–ko 0.57)",
        "heldout13-057": "the first ferry docking at Rajin vs the line's opening (en–ru 0.55)",
    }
    # The Security Council's session and Seoul's NSC in each language: "긴급회의", "заседание" are meetings, and
    # "北 정찰위성 발사에 긴급 NSC 주재" reports no launch.
    together = ("heldout13-004", "heldout13-005", "heldout13-031", "heldout13-032")
    _assert_apart_and_together(pairs, apart, together)


def test_a_partys_reaction_stays_apart_from_the_event_and_from_another_partys_reaction():
    pairs = {pair.id: pair for path in (HELD_OUT_PAIRS_4, HELD_OUT_PAIRS_12, HELD_OUT_PAIRS_14)
             for pair in load_pairs(path)}
    apart = {
        "heldout14-037": "the ICBM vs the Council's session on it, 안보리 … 발사 관련 긴급회의 (en–ko 0.62)",
        "heldout14-040": "the ICBM vs the deputy foreign minister's words, 러 외무차관 \"…\" (en–ko 0.62)",
        "heldout14-042": "\"Russia blames U.S. pressure after … launch\" vs the launch (en–ru 0.51)",
        "heldout14-043": "the Council's session vs the deputy foreign minister's words (en–ko 0.62)",
        "heldout4-112": "the Kremlin's announcement, 크렘린 \"푸틴, … 국빈방문\", vs Putin's arrival",
    }
    # The Council's session in Korean and Russian (안보리 leads, the launch is what it discusses); the deputy minister
    # in Korean and "Руденко: …" in Russian.
    together = ("heldout12-007", "heldout14-009")
    _assert_apart_and_together(pairs, apart, together)


def test_a_wreath_at_a_memorial_and_a_tour_of_a_ship_stay_apart_from_the_talks_and_the_port_call_there():
    pairs = {pair.id: pair for pair in load_pairs(HELD_OUT_PAIRS_9)}
    # The same person at the same place of the table within a day, above the bar before this rule (0.54-0.56):
    apart = {
        "heldout9-067": "Shoigu lays a wreath at the Kursk memorial vs Kim receives Shoigu (memorial vs meeting)",
        "heldout9-069": "the same two events in Russian and English",
        "heldout9-070": "Kim tours the frigate in Wonsan vs the fleet's port call there (a tour vs an arrival)",
    }
    # Each event's own reports still group: the talks, the wreath, the port call, Kim aboard (en–ko, ru–en).
    together = ("heldout9-019", "heldout9-024", "heldout9-025", "heldout9-027", "heldout9-028")
    _assert_apart_and_together(pairs, apart, together)


def test_a_strongly_anchored_candidate_counts_the_difference_of_the_bars():
    item, strong, plain, unanchored = (Item(key=f"k{i}", title="t", summary="", id=i, lang="ko") for i in range(1, 5))
    vectors = {1: np.array([1.0, 0.0])}
    def at(cos: float) -> np.ndarray:
        return np.array([cos, np.sqrt(1 - cos * cos)])
    vectors.update({2: at(0.47), 3: at(0.47), 4: at(0.60)})
    stories_ = {2: 2, 3: 3, 4: 4}
    bars = {2: 0.46, 3: CROSS_LANGUAGE, 4: 0.61}
    assert _cross_language_story(item, [strong], stories_, vectors, bars) == 2
    assert _cross_language_story(item, [plain], stories_, vectors, bars) is None
    assert _cross_language_story(item, [unanchored], stories_, vectors, bars) is None
    # Two candidates of two stories, each clearing its own bar: the one further above its bar wins, unless the two
    # are within CROSS_MARGIN of each other.
    assert _cross_language_story(item, [strong, plain], stories_, vectors, {2: 0.46, 3: 0.45}) is None
    assert _cross_language_story(item, [strong, plain], stories_, vectors, {2: 0.40, 3: 0.46}) == 2


def test_the_learned_bar_weighs_the_signals_the_rounds_read_and_keeps_its_floor():
    # stories_bar.json (bench/stories_fit.py, fitted on the sixteen older pair files): every signal has its weight,
    # in cosine units. Evidence of one event lowers the bar (a person in common, a missile class, a number, the same
    # kind of event, a Korean-Russian pair whose vectors read lower); places that differ, a headline's place the
    # other report never names, two statements (two reactions) and hours apart raise it.
    base, weights = _bar_weights()
    weight = dict(zip(SIGNALS, weights))
    assert len(weights) == len(SIGNALS) and 0.5 < base < 0.7
    assert all(weight[name] < 0 for name in ("person", "missiles", "numbers", "institutions", "kinds_equal", "ko_ru"))
    assert all(weight[name] > 0 for name in ("elsewhere", "headline_place_unmatched", "both_statements", "days_apart"))
    # No bar is below CROSS_FLOOR, whatever the pair shares; a pair with no signal gets the base.
    assert _learned_bar([1.0 if weight[name] < 0 else 0.0 for name in SIGNALS]) == CROSS_FLOOR
    assert _learned_bar([0.0] * len(SIGNALS)) == pytest.approx(base)
    assert _learned_bar([0.0] * (len(SIGNALS) - 1) + [1.0]) > 0.9  # 36 hours apart: nothing short of one text


def _assert_apart_and_together(pairs: dict, apart: dict[str, str], together: tuple[str, ...]) -> None:
    assert {pair_id: pairs[pair_id].grouped() for pair_id in apart} == dict.fromkeys(apart, False)
    assert {pair_id: pairs[pair_id].grouped() for pair_id in together} == dict.fromkeys(together, True)


def test_a_copy_in_one_language_joins_its_story_unless_published_days_apart():
    pair = next(p for p in load_pairs() if p.id == "pair-001")
    copy = replace(pair.a, id=2, key="copy")
    assert replace(pair, b=copy).grouped()
    # A feed serving a week-old item for the first time: fetched now, published outside the story window.
    old_copy = replace(copy, published=copy.published - timedelta(days=7))
    assert not replace(pair, b=old_copy).grouped()


def test_cross_language_reports_days_apart_are_never_merged():
    pair = next(p for p in load_pairs() if p.id == "pair-001")
    later = replace(pair.a, published=pair.a.published + timedelta(days=2))
    assert not replace(pair, a=later).grouped()


def test_each_item_is_encoded_once_and_its_meaning_kept_for_later_cycles(store):
    """The items of the last 36 hours are the candidates of every later cycle: encoded once, kept."""
    feed_url = "https://wire.example/rss"
    feed_id = store.sync_feeds([Feed(feed_url, "Wire")])[feed_url]
    signing = next(p for p in load_pairs() if p.id == "pair-001")  # Korean, then English
    # A Russian report moved to the same day: the treaty's ratification, the same people signing, so it is
    # compared by meaning (a launch, or a report not naming Putin, would be told apart without encoding).
    ratification = next(p for p in load_pairs() if p.id == "pair-022")
    russian = replace(ratification.a, published=signing.b.published)
    encoded: list[int] = []

    def counting(items):
        encoded.extend(item.id for item in items)
        return meanings(items)

    def arrive(item, key):  # (the pair files key every item a or b)
        [stored] = store.insert_new(feed_id, [replace(item, id=None, key=key)], NOW)
        return stored, assign_stories(store, [stored], NOW, encoder=counting)

    korean, _ = arrive(signing.a, "ko")
    assert encoded == [], "one language so far: nothing to encode"
    english, assigned = arrive(signing.b, "en")
    assert assigned == {english.id: korean.id} and sorted(encoded) == sorted([korean.id, english.id])
    other, _ = arrive(russian, "ru")
    assert encoded[2:] == [other.id], "the kept vectors are read back, not encoded again"
    assert set(store.meanings([korean.id, english.id, other.id])) == {korean.id, english.id, other.id}


def test_an_item_read_as_another_language_by_mistake_sends_no_english_item_to_the_encoder(store):
    """A language detector's slip on an odd English headline (read as German, Norwegian…) is no report in a
    language newswatch links: were it one, every English item of the window would be encoded against it."""
    feed_url = "https://wire.example/rss"
    feed_id = store.sync_feeds([Feed(feed_url, "Wire")])[feed_url]
    pair = next(p for p in load_pairs() if p.id == "pair-001")
    english = [replace(pair.b, id=None, key=f"en-{n}", guid=f"en-{n}", url=f"https://wire.example/en/{n}",
                       title=f"{pair.b.title} ({n})", summary=f"Report {n}.") for n in range(3)]
    slip = replace(pair.b, id=None, key="de", guid="de", url="https://wire.example/de", lang="de",
                   title="Putin und Kim Jong Un unterzeichnen Abkommen in Pjöngjang", summary="")
    encoded: list[int] = []

    def counting(items):
        encoded.extend(item.id for item in items)
        return meanings(items)

    stored = store.insert_new(feed_id, [slip, *english], NOW)
    assert len(stored) == 4
    assign_stories(store, stored, NOW, encoder=counting)
    assert encoded == []


def test_a_cycle_reads_the_words_of_its_new_items_only_and_forgets_those_gone_from_the_window(store, monkeypatch):
    """Every item of the window is compared with each new one; its words are read once per open store."""
    from newswatch import stories

    feed_url = "https://wire.example/rss"
    feed_id = store.sync_feeds([Feed(feed_url, "Wire")])[feed_url]

    def reports(first: int, count: int, at: datetime) -> list[Item]:
        return store.insert_new(feed_id, [Item(key=f"k{n}", title=f"Report {n} on talks number w{n}",
                                               url=f"https://wire.example/{n}", summary=f"Lead of report {n}.",
                                               lang="en", published=at) for n in range(first, first + count)], at)

    read: list[str] = []
    monkeypatch.setattr(stories, "words", lambda text: read.append(text) or words(text))
    older = reports(0, 3, NOW)
    assign_stories(store, older, NOW)
    assert len(read) == 3 * 2  # title and lead of each
    read.clear()
    later = NOW + timedelta(hours=1)
    newer = reports(3, 2, later)
    assert set(assign_stories(store, newer, later)) == {item.id for item in newer}
    assert len(read) == 2 * 2  # the three older items' words were kept
    much_later = NOW + stories.WINDOW + timedelta(minutes=30)  # the older three are out of the window now
    [last] = reports(5, 1, much_later)
    assign_stories(store, [last], much_later)
    assert set(stories._WORD_SETS[store]) == {newer[0].id, newer[1].id, last.id}


def _rss(title: str, items: list[tuple[str, str, str, datetime]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid><description>{summary}</description>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for t, summary, link, when in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.org/</link><description>{title}</description>{entries}</channel></rss>")


@pytest.fixture
def three_languages(data_dir, seed_models, feed_server, smtp_server, tmp_path):
    shutil.copytree(seed_models, data_dir / "models")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    feeds = {
        "yonhap-ko.xml": _rss("연합뉴스", [
            ("김정은, 러시아 쇼이구 안보회의 서기 접견…북러 군사협력 논의",
             "(서울=연합뉴스) 김정은 북한 국무위원장이 평양을 방문한 세르게이 쇼이구 러시아 국가안보회의 서기를 "
             "접견하고 북러 군사협력 강화 방안을 논의했다고 조선중앙통신이 보도했다.",
             "https://www.yna.co.kr/view/AKR1", now - timedelta(hours=3)),
            ("한미 해병대, 포항서 연합상륙훈련 실시",
             "(서울=연합뉴스) 한국과 미국 해병대가 경북 포항 일대에서 대규모 연합상륙훈련을 실시했다고 해병대사령부가 "
             "밝혔다. 훈련에는 상륙돌격장갑차와 헬기가 투입됐다.",
             "https://www.yna.co.kr/view/AKR2", now - timedelta(hours=5)),
        ]),
        "tass-ru.xml": _rss("ТАСС", [
            ("Ким Чен Ын принял в Пхеньяне секретаря Совбеза РФ Шойгу",
             "ПХЕНЬЯН, /ТАСС/. Лидер КНДР Ким Чен Ын принял секретаря Совета безопасности России Сергея Шойгу, "
             "прибывшего в Пхеньян. Стороны обсудили укрепление военного сотрудничества России и КНДР.",
             "https://tass.ru/politika/1", now - timedelta(hours=2)),
            ("Центробанк сохранил ключевую ставку",
             "МОСКВА, /ТАСС/. Банк России по итогам заседания совета директоров сохранил ключевую ставку.",
             "https://tass.ru/ekonomika/2", now - timedelta(hours=1)),
        ]),
        "yonhap-en.xml": _rss("Yonhap News Agency", [
            ("N. Korea's Kim receives Russian security chief Shoigu in Pyongyang",
             "SEOUL (Yonhap) -- North Korean leader Kim Jong-un received Sergei Shoigu, secretary of Russia's "
             "Security Council, in Pyongyang and discussed expanding military cooperation, state media said.",
             "https://en.yna.co.kr/view/AEN1", now - timedelta(hours=1)),
        ]),
    }
    config = tmp_path / "newswatch.toml"
    lines = ["allow_private_addresses = true"]
    for name, (outlet, body) in zip(feeds, [("Yonhap Korean", feeds["yonhap-ko.xml"]),
                                           ("TASS", feeds["tass-ru.xml"]),
                                           ("Yonhap English", feeds["yonhap-en.xml"])]):
        feed_server.add_file(name, body.encode("utf-8"))
        lines += ["[[feeds]]", f'url = "{feed_server.url(name)}"', f'name = "{outlet}"']
    lines += ["[[channels]]", 'name = "analyst-mail"', f'url = "{smtp_server.apprise_url()}"', "retry_seconds = 0"]
    config.write_text("\n".join(lines) + "\n")
    return config


def test_a_cycle_over_korean_russian_and_english_feeds_mails_one_entry_per_event(three_languages, smtp_server):
    result = CliRunner().invoke(main, ["run", "--config", str(three_languages)], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    [mail] = smtp_server.wait_for(1)
    # the body decodes with CRLF line ends in some transfer encodings (seen when the English copy leads)
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    entries = [block for block in text.split("\n\n") if block.startswith("* ")]
    shoigu = [entry for entry in entries if "Shoigu" in entry or "Шойгу" in entry or "쇼이구" in entry]
    assert len(shoigu) == 1, text  # one entry for the event, whichever copy leads it
    [entry] = shoigu
    assert "+2 sources" in entry, entry
    assert entry.count("  also: ") == 2, entry
    for outlet, lang in (("Yonhap Korean", "ko"), ("TASS", "ru"), ("Yonhap English", "en")):
        assert f"{outlet} [{lang}]" in entry, entry
    assert any("연합상륙훈련" in e for e in entries if e is not entry), text  # the unrelated drill stays its own entry
