"""The classifier's parts on their own: reading Korean and Russian, concept features, explanations,
label weights, the estimator contract, repeatable training."""

from __future__ import annotations

import hashlib
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from classifiers.concepts import feature_names, relation_columns
from classifiers.explain import (STOP_WORDS, Explainer, Reading, _across_a_name, _add, _as_compound, _as_written,
                                 _pair_as_written, _whole_name, relation_name)
from classifiers.registry import LoadedModel, Registry
from classifiers.text import LANGUAGES, korean_stem, ngrams, normalize, read_words, without_captions, words
from classifiers.train import example_weights, train, train_candidate
from newswatch.labeled_items import seed_corpus
from newswatch.models import Item, LabeledItem
from shipped_topics import NAMES as TOPICS

# Trainings on every seed take 10-40 s each on a busy two-core machine; some tests run two.
pytestmark = pytest.mark.timeout(600)

NAMES = feature_names()


@pytest.fixture(scope="module")
def seed_model():
    """Trained on every seed, any warning of the solver recorded (none is expected)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = train(seed_corpus(TOPICS), TOPICS, thresholds={"russia_dprk": 0.5, "alliance_drills": 0.5})
    model.training_warnings = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    return model


# Written for these tests in the voice of Yonhap and TASS (not taken from any evaluation set).
KOREAN_TIES = Item(key="ko-ties", title="러시아 국방장관, 평양서 김정은 접견…\"군사협력 강화\"",
                   summary="(서울=연합뉴스) 안드레이 벨로우소프 러시아 국방장관이 평양을 방문해 김정은 국무위원장과 "
                           "만나 양국 군사협력 확대 방안을 논의했다고 조선중앙통신이 전했다.")
KOREAN_OTHER = Item(key="ko-other", title="서울 아파트값 3주 연속 상승",
                    summary="한국부동산원에 따르면 이번 주 서울 아파트 매매가격은 0.1% 올라 3주 연속 상승했다.")
RUSSIAN_TIES = Item(key="ru-ties", title="Шойгу прибыл в Пхеньян для переговоров с Ким Чен Ыном",
                    summary="Секретарь Совбеза России Сергей Шойгу прибыл в КНДР, где обсудит с руководством "
                            "республики военное сотрудничество, передает ТАСС.")
RUSSIAN_OTHER = Item(key="ru-other", title="Центробанк сохранил ключевую ставку",
                     summary="Банк России сохранил ключевую ставку на уровне 16% годовых, сообщил регулятор.")


def test_korean_and_russian_items_about_russia_dprk_ties_are_tagged(seed_model):
    predictions = LoadedModel("v", seed_model).predict_items([KOREAN_TIES, KOREAN_OTHER, RUSSIAN_TIES, RUSSIAN_OTHER])
    assert [p.tags for p in predictions] == [("russia_dprk",), (), ("russia_dprk",), ()], predictions


@pytest.mark.parametrize("item, letters", [(KOREAN_TIES, "[가-힣]"), (RUSSIAN_TIES, "[а-я]")], ids=["ko", "ru"])
def test_why_is_in_the_items_language_with_no_stop_words_numbers_or_fragments(seed_model, item, letters):
    [prediction] = LoadedModel("v", seed_model).predict_items([item])
    reasons = prediction.why["russia_dprk"]
    assert reasons and all(re.search(letters, reason) for reason in reasons), reasons
    relation_words = {"+", "(제목)", "(한", "문장)", "в", "одном", "предложении", "заголовке"}
    for reason in reasons:
        for word in set(reason.split()) - relation_words:
            assert len(word) > 1 and not re.search(r"\d", word) and word not in STOP_WORDS, reasons


@pytest.mark.parametrize("item", [
    Item(key="ru-dateline", title="Шойгу прибыл в Пхеньян",
         summary="ПХЕНЬЯН, 4 июня. /ТАСС/. Секретарь Совбеза России Сергей Шойгу прибыл в КНДР, передает РИА Новости."),
    Item(key="ko-dateline", title="로씨야 국가두마 대표단 평양 도착",
         summary="(평양 조선중앙통신) 로씨야련방 국가두마 대표단이 평양에 도착하였다."),
], ids=["ru", "ko"])
def test_a_news_agency_in_the_dateline_is_no_reason(seed_model, item):
    [prediction] = LoadedModel("v", seed_model).predict_items([item])
    agencies = {"тасс", "риа", "новости", "조선중앙통신"}
    assert prediction.why["russia_dprk"] and not any(set(reason.split()) & agencies
                                                     for reason in prediction.why["russia_dprk"]), prediction.why


def test_an_english_report_quoting_a_korean_name_past_its_lead_is_explained_in_english(seed_model):
    """The relation reason names the pair in the language the features read the headline and lead in, not in
    the language of a few Hangul letters further down the body."""
    lead = ("Russian President Vladimir Putin met North Korean leader Kim Jong Un in Pyongyang on Wednesday, "
            "and the two signed a pact on military cooperation. " * 12)
    text = f"Putin and Kim sign a defence pact in Pyongyang\n{lead}The pact's name in Korean is 포괄적 전략적 동반자."
    features = seed_model.features([text])
    assert LANGUAGES[features.languages[0]] == "en"
    [reasons] = Explainer(seed_model).top_terms([text], features, np.array([0]), TOPICS.index("russia_dprk"), k=5)
    relations = {NAMES[c] for c in relation_columns()}
    assert any(reason in relations for reason in reasons), reasons
    assert not any(re.search("[가-힣]", reason) for reason in reasons), reasons


def test_english_why_terms_are_words_a_reader_recognises(seed_model):
    texts = ["On Wednesday the U.S. and South Korea began Freedom Shield drills, 2025's largest\n"
             "The allies said on Wednesday the 11-day exercise would involve 20,000 troops."]
    features = seed_model.features(texts)
    [reasons] = Explainer(seed_model).top_terms(texts, features, np.array([0]), TOPICS.index("alliance_drills"), k=8)
    shown = " ".join(reasons).split()
    assert "wednesday" not in shown and "the" not in shown and not any(re.search(r"\d", w) for w in shown), reasons


@pytest.mark.parametrize("text, name", [
    ("Choe Son Hui meets Lavrov in Moscow\nNorth Korean Foreign Minister Choe Son Hui held talks with Russian "
     "Foreign Minister Sergey Lavrov in Moscow.", "choe son hui"),
    ("Путин и Ким Чен Ын обсудили выполнение договора о стратегическом партнерстве\n"
     "Президент России Владимир Путин провел телефонный разговор с председателем КНДР.", "ким чен ын"),
    ("Шойгу встретился с Ким Чен Ыном в Пхеньяне\nСекретарь Совбеза России Сергей Шойгу провел переговоры с "
     "Ким Чен Ыном.", "ким чен ыном"),
    ("US, South Korea begin Ulchi Freedom Shield drills\nThe allies began the annual Ulchi Freedom Shield exercise "
     "on Monday, the Joint Chiefs of Staff said.", "ulchi freedom shield"),
], ids=["en", "ru", "ru-inflected", "drill"])
def test_a_name_of_several_words_is_shown_whole(seed_model, text, name):
    """"kim", "чен", "ын" or "freedom" (parts of a name, as the regression weighs them) told an analyst nothing: a part
    of a name of the people table or of the concepts is shown as the whole name, as the text writes it."""
    topic = "alliance_drills" if "drills" in text else "russia_dprk"
    features = seed_model.features([text])
    [reasons] = Explainer(seed_model).top_terms([text], features, np.array([0]), TOPICS.index(topic), k=10)
    assert name in reasons, reasons
    parts = set(name.split())
    assert not [reason for reason in reasons if reason != name and set(reason.split()) & parts], reasons


def test_a_report_whose_relations_outweigh_every_word_is_still_explained_by_words(seed_model):
    """A report about its topic fires a dozen relations, each weighing more than any word; ranked together they took
    every candidate's place and the reason shown was one relation and no word."""
    text = ("North Korea launches missiles as US and South Korea open Freedom Shield allied drills\n"
            "North Korea fired two short-range ballistic missiles into the East Sea on Monday, hours after South Korea "
            "and the United States began their combined Freedom Shield exercise, Seoul's Joint Chiefs of Staff said.")
    features = seed_model.features([text])
    [reasons] = Explainer(seed_model).top_terms([text], features, np.array([0]), TOPICS.index("alliance_drills"), k=5)
    relations = {NAMES[c] for c in relation_columns()}
    assert len(reasons) == 5 and sum(reason in relations for reason in reasons) == 1, reasons


def test_a_piece_of_a_hyphenated_word_is_shown_as_the_whole_word():
    assert _as_compound("era", "era", Reading("kremlin revives soviet-era ties")) == "soviet-era"
    assert _as_compound("kn", "kn", Reading("dozens of kn-23 and kn-24 missiles")) == "kn-23"  # the first
    assert _as_compound("kn", "kn", Reading("북한은 kn-23으로 공격")) == "kn-23"  # a particle is no part of it
    assert _as_compound("pyongyang", "pyongyang", Reading("moscow-pyongyang flights")) == "pyongyang"  # a concept
    assert _as_compound("troops", "troops", Reading("north korean troops")) == "troops"


def test_a_pair_with_a_piece_of_a_hyphenated_word_is_shown_with_the_whole_word():
    assert _as_compound("crossing drill", "crossing drill", Reading("marines hold river-crossing drill")) == \
        "river-crossing drill"
    assert _as_compound("putin kim", "putin kim", Reading("the putin-kim pact")) == "putin-kim"
    assert _as_compound("russia relations", "russia relations", Reading("in dprk-russia relations")) == \
        "dprk-russia relations"
    # written on its own too: the pair as it is
    assert _as_compound("crossing drill", "crossing drill", Reading("a river-crossing drill, the first crossing drill")) \
        == "crossing drill"
    assert _as_compound("air drill", "air drill", Reading("a us-led air drill")) == "air drill"


@pytest.mark.parametrize("feature, text", [
    ("shield begins", "ulchi freedom shield begins monday"),
    ("кндр ким", "лидер кндр ким чен ын принял делегацию"),
    ("korea fires", "north korea fires two missiles"),
])
def test_a_pair_joining_a_piece_of_a_name_to_its_neighbour_is_no_reason(feature, text):
    """"shield begins" of "Ulchi Freedom Shield begins" is a fragment: the name is a reason of its own."""
    reading = Reading(normalize(text))
    assert _across_a_name(" ".join(reading.words[reading.as_written.index(w)] for w in feature.split()), reading)


def test_a_pair_is_shown_as_the_text_writes_the_two_words_together():
    """A Russian pair of stems is shown in the forms the text has side by side, not in the first form of each word
    (the stems of "совместным патрулированием" were shown as "совместного патрулированием", after the title's
    "совместного полета")."""
    reading = Reading(normalize("Протест из-за совместного полета бомбардировщиков\n"
                                "Токио выразил протест в связи с совместным патрулированием бомбардировщиков."))
    at = reading.as_written.index("совместным")
    assert _as_written(f"{reading.words[at]} {reading.words[at + 1]}", reading) == "совместным патрулированием"


@pytest.mark.parametrize("pair, text, together", [
    ("summit key", "putin-kim summit: key takeaways", False),
    ("drills military", "joint drills, military cooperation", False),
    ("threatens countermeasures", 'pyongyang threatens "countermeasures" over drills', True),
    ("n korea", "n. korea fires missiles", True),
    ("crossing drill", "a river-crossing drill", False),  # a piece of a hyphenated word: shown whole instead
    ("러시아 북한", "러시아와 북한이", True),  # Korean words are shown without their particles: not looked for
])
def test_two_words_the_text_writes_apart_are_no_phrase(pair, text, together):
    assert (_pair_as_written(pair, Reading(normalize(text))) == pair) is together


def test_a_bare_surname_and_its_neighbour_are_no_phrase():
    reading = Reading(normalize("Putin and Kim hold talks on UN sanctions"))
    assert _across_a_name("kim hold", reading) and _across_a_name("and kim", reading)
    assert not _across_a_name("un sanctions", reading), "UN is the United Nations, not a piece of Kim Jong Un"


def test_a_pair_inside_a_name_or_also_written_apart_from_it_stays():
    assert not _across_a_name("freedom shield", Reading(normalize("ulchi freedom shield begins")))
    reading = Reading(normalize("north korea fires missiles. south korea says korea fires are rare"))
    assert not _across_a_name("korea fires", reading)  # the second "korea fires" is no piece of a name


def test_a_piece_from_inside_a_korean_word_is_shown_as_that_word():
    """Korean features include the syllable pieces inside words ("북러정상회담" → "북러"); shown as pieces they were
    dropped, and a KCNA report was explained by one relation and a verb."""
    reading = Reading(normalize("로씨야련방 안전리사회 비서 쇼이구를 접견하시였다"))
    assert _as_written("쇼이", reading) == "쇼이구" and _as_written("로씨야", reading) == "로씨야련방"
    assert _as_written("북러", reading) is None  # a piece of no word of this text (another text's, sharing a column)


@pytest.mark.parametrize("text, names", [
    ("US sanctions list adds entities in Iran, Russia, North Korea\nThe Treasury named companies in three countries.",
     {"russia", "north", "korea"}),
    ("Россия и КНДР подписали соглашение о безвизовых поездках\nМосква и Пхеньян договорились о групповых поездках.",
     {"россия", "кндр"}),
])
def test_no_word_beside_the_relation_repeats_its_countries(seed_model, text, names):
    """"Russia + North Korea in headline" says "russia" and "north korea" already: in English and Russian too (the
    relation's words were compared in their capitals, and only Korean, which has none, was kept from repeating)."""
    features = seed_model.features([text])
    [reasons] = Explainer(seed_model).top_terms([text], features, np.array([0]), TOPICS.index("russia_dprk"), k=5)
    relations = {NAMES[c] for c in relation_columns()} | {relation_name(NAMES[c], "ru") for c in relation_columns()}
    assert any(reason in relations for reason in reasons), reasons
    assert not any(set(reason.split()) <= names for reason in reasons if reason not in relations), reasons


def test_a_pair_replaces_its_shown_words_and_a_relation_stays():
    shown, words = ["러시아 + 중국 (제목)", "freedom", "air"], [{"러시아", "+", "중국", "(제목)"}, {"freedom"}, {"air"}]
    for term in ("중국", "freedom edge", "large-scale", "large scale", "edge"):
        _add(shown, words, term)
    assert shown == ["러시아 + 중국 (제목)", "freedom edge", "air", "large-scale"], shown
    assert words == [{"러시아", "+", "중국", "(제목)"}, {"freedom", "edge"}, {"air"}, {"large", "scale"}]


def test_a_word_of_two_names_in_one_text_is_not_given_either():
    """"korean" of a text naming North Korean and South Korean troops is neither name; "freedom shield" inside "ulchi
    freedom shield" is no second name."""
    assert _whole_name("korean", Reading(normalize("north korean and south korean troops"))) is None
    assert _whole_name("korean", Reading(normalize("north korean troops"))) == "north korean"
    assert _whole_name("freedom", Reading(normalize("the ulchi freedom shield drills"))) == "ulchi freedom shield"


@pytest.mark.parametrize("text, shown", [
    ("North Korea fires KN-23 missiles supplied to Russia, Ukraine says\n"
     "Ukrainian officials said Russia launched North Korean KN-23 ballistic missiles at Kharkiv.", "kn-23"),
    ("Ким Чен Ын поздравил Путина с 80-летием Победы\n"
     "Лидер КНДР направил поздравление президенту России в связи с 80-летием Победы.", "80-летием"),
], ids=["en", "ru"])
def test_a_word_the_text_joins_to_a_number_is_shown_with_it(seed_model, text, shown):
    """Numbers are no reasons ("2025"), but "kn" or "летием" alone are pieces of "KN-23" and "80-летием"."""
    features = seed_model.features([text])
    [reasons] = Explainer(seed_model).top_terms([text], features, np.array([0]), TOPICS.index("russia_dprk"), k=10)
    assert shown in reasons and shown.strip("0123456789-") not in reasons, reasons


def test_korean_words_lose_their_particles_and_russian_words_are_stemmed():
    assert korean_stem("러시아와의") == korean_stem("러시아") == "러시아"
    assert korean_stem("김정은이") == korean_stem("김정은") == "김정은"  # a name ending like a particle
    assert korean_stem("국가") == "국가" and korean_stem("것으로") == "것으로"
    assert words(normalize("России Россией")) == ["росс", "росс"]
    assert {"북러", "연합훈"} <= set(ngrams(normalize("북러정상회담 한미연합훈련")))
    assert words(normalize("北김정은")) == ["北", "김정은"]


@pytest.mark.parametrize("text, pair", [
    ("Putin meets Kim Jong Un\n", "Russia + North Korea"),
    ("푸틴, 김정은과 회담\n", "Russia + North Korea"),
    ("北·러 정상회담\n", "Russia + North Korea"),
    ("Путин встретился с Ким Чен Ыном\n", "Russia + North Korea"),
    ("Россия и КНДР подписали договор\n", "Russia + North Korea"),
    # NATO's eastern flank, where its members drill: elsewhere (TOPICS.md: "NATO in Europe")
    ("US holds military exercises in Poland\n", "drill + elsewhere"),
    ("NATO allies begin drills in Lithuania near Belarus border\n", "drill + elsewhere"),
    ("US, Romanian troops hold joint exercise near Black Sea\n", "drill + elsewhere"),
    ("폴란드서 나토 연합훈련 시작\n", "drill + elsewhere"),
    ("에스토니아에서 다국적 연합훈련\n", "drill + elsewhere"),
    ("НАТО начало учения в Польше\n", "drill + elsewhere"),
], ids=["en", "ko", "ko-abbreviated", "ru", "ru-dprk", "poland", "lithuania", "black-sea", "ko-poland", "ko-estonia", "ru-poland"])
def test_a_headline_fires_one_concept_pair_in_every_language(seed_model, text, pair):
    [row] = concepts_of(seed_model, text)
    assert row.get(f"{pair} in headline") == 1, row


@pytest.mark.parametrize("text, north_korea", [
    ("Putin, Kim pledge closer military ties\n", True),  # the wires' second mention: a bare surname
    ("Kim thanks Putin for birthday greetings\n", True),
    ("Seoul's envoy Kim Hong-kyun meets Russian ambassador\n", False),  # a Kim with no Putin beside him
    ("Kim Hong-kyun, Lavrov discuss detained missionary\n", False),
    ("Putin meets Xi in Beijing\n", False),
])
def test_a_bare_kim_names_north_korea_only_beside_putin(seed_model, text, north_korea):
    [row] = concepts_of(seed_model, text)
    assert bool(row.get("Russia + North Korea in headline") == 1) is north_korea, row


@pytest.mark.parametrize("text, russia_and_north_korea", [
    ("Russian Youth Delegation Arrives Here\n", True),  # KCNA's title-only copy: "here" is Pyongyang
    ("Delegation of Russian Federation Council Leaves Here\n", True),
    ("Chinese Delegation Arrives Here\n", False),
    # other outlets' "here" is their own city, in a body's past tense
    ("Russian delegation visits Seoul\nThe Russian delegation arrived here on Tuesday.", False),
])
def test_kcnas_here_of_a_visitors_arrival_names_pyongyang(seed_model, text, russia_and_north_korea):
    [row] = concepts_of(seed_model, text)
    named = {name for name in row if name.startswith("Russia + North Korea")}
    assert bool(named) is russia_and_north_korea, row


@pytest.mark.parametrize("body, read", [
    # AP's caption of a file photo, closed by its credit: nothing of the report
    ("A U.S. Air Force B-1B bomber flies with South Korean jets during a joint air drill on Feb. 19, 2023. "
     "(South Korea Defense Ministry via AP)", ""),
    # Bloomberg's: the caption ends with the day of the photo; the credit closes the sentence before it
    ("A tank fires during a live fire exercise in Gotemba, Japan, on Saturday, May 22, 2021. Biden turns to allies. "
     "The deal is done. Photographer: Akio Kon/Bloomberg", "Biden turns to allies."),
    # a credit inside a scraped page: the caption is the sentence before, the report goes on after it
    ("Kim may be pleased. Korea Summit Press Pool/Getty Images The United States agreed to downsize a drill.",
     " The United States agreed to downsize a drill."),
    ("South Korean and U.S. Marines take part in a landing drill in Pohang, South Korea, March 26, 2024. "
     "REUTERS/Kim Hong-Ji/File Photo Russia and North Korea signed a pact.", " Russia and North Korea signed a pact."),
    ("This photo, provided by the Joint Chiefs of Staff, shows a combined drill. (PHOTO NOT FOR SALE) (Yonhap) "
     "The drills end Friday.", " The drills end Friday."),
    ("한미 해병대가 상륙훈련을 하고 있다. [국방부 제공] 러시아 대표단이 평양에 도착했다.", "러시아 대표단이 평양에 도착했다."),
    # no credit: Yonhap's dateline, a date in a report, the word "photo"
    ("SEOUL, Aug. 22 (Yonhap) -- The allies began drills on Aug. 21, 2023. A photo shows it.", None),
], ids=["ap", "bloomberg", "getty", "reuters", "yonhap", "korean", "no-credit"])
def test_a_photos_caption_is_not_read(body, read):
    assert without_captions(body) == (body if read is None else read)


def test_a_file_photo_of_a_drill_does_not_make_a_report_about_one(seed_model):
    text = ("Biden to move forward with sale of F-16 jets to Turkey\nA U.S. Air Force B-1B bomber (top) flies with "
            "U.S. Air Force F-16 fighter jets over the South Korea Peninsula during a joint air drill in South Korea "
            "on Feb. 19, 2023. (South Korea Defense Ministry via AP)")
    [row] = concepts_of(seed_model, text)
    assert not [name for name in row if "drill" in name], row


@pytest.mark.parametrize("text", [
    "U.S., South Korea, Japan hold Freedom Edge drills\n",
    "한미일, 프리덤 에지 연합훈련 실시\n",
    "США, Южная Корея и Япония начали совместные учения\n",
], ids=["en", "ko", "ru"])
def test_an_allied_drill_fires_one_concept_in_every_language(seed_model, text):
    [row] = concepts_of(seed_model, text)
    assert row.get("drill with allies in headline") == 1, row


def test_training_gives_no_convergence_warning(seed_model):
    assert seed_model.training_warnings == []


def test_the_same_data_give_the_same_model_file_and_thresholds(tmp_path):
    corpus = seed_corpus(TOPICS)[::6]
    files, thresholds = set(), []
    for run in ("a", "b"):
        candidate = train_candidate(corpus, TOPICS, np.zeros(len(corpus), dtype=bool), None, margin=0.01, folds=3)
        model, metadata = candidate.model, candidate.metadata
        registry = Registry(tmp_path / run, TOPICS)
        version = registry.save(model, metadata)
        files.add(hashlib.sha256((registry.root / f"{version}.skops").read_bytes()).hexdigest())
        thresholds.append(metadata["thresholds"])
    assert len(files) == 1 and thresholds[0] == thresholds[1]


def concepts_of(model, *texts: str) -> list[dict[str, float]]:
    return [{name: value for name, value in zip(NAMES, row) if value} for row in model.features(texts).concepts]


def test_tokens_keep_the_abbreviations_of_korea_and_the_us():
    assert {"n korea", "u s", "jong un"} <= set(ngrams(normalize("N. Korea and the U.S. – Kim Jong-ün")))


def test_a_relation_counts_where_one_sentence_names_both_sides(seed_model):
    together, apart = concepts_of(seed_model,
        "Officials meet\nPutin met Kim Jong Un in Vladivostok on Tuesday. Both praised the treaty.",
        "Officials meet\nPutin spoke about the economy. Separately, North Korea fired a missile.")
    assert together["Russia + North Korea in one sentence"] == pytest.approx(np.log1p(1))
    assert "Russia + North Korea in headline" not in together
    assert "Russia + North Korea in one sentence" not in apart
    assert apart["Russia in lead"] == apart["North Korea in lead"] == 1


def test_a_drill_with_two_allies_in_the_headline(seed_model):
    [row] = concepts_of(seed_model, "U.S., South Korea begin Freedom Shield drills\n")
    assert row["drill with allies in headline"] == 1 and row["US + South Korea in headline"] == 1


def test_why_names_words_of_the_text_and_at_most_one_relation(seed_model):
    texts = ["Putin hosts Kim Jong Un in Vladivostok\nThe Russian president and the North Korean leader "
             "discussed munitions and satellite technology at a summit."]
    features = seed_model.features(texts)
    [reasons] = Explainer(seed_model).top_terms(texts, features, np.array([0]), TOPICS.index("russia_dprk"), k=5)
    relations = {NAMES[c] for c in relation_columns()}
    assert 0 < len(reasons) <= 5
    assert sum(reason in relations for reason in reasons) <= 1
    text = f" {' '.join(read_words(normalize(texts[0]))[1])} "  # a reason is words the text writes in that order
    assert all(f" {reason} " in text for reason in reasons if reason not in relations), reasons


def test_estimator_contract(seed_model):
    assert clone(seed_model).get_params() == seed_model.get_params()
    assert not hasattr(clone(seed_model), "regressions_")
    scores = seed_model.predict_proba(["Putin and Kim sign a defence pact", "Stocks rally in Tokyo"])
    assert scores.shape == (2, len(TOPICS)) and ((0 <= scores) & (scores <= 1)).all()


def test_a_weighted_label_moves_the_model_more_than_an_unweighted_one():
    seeds = seed_corpus(TOPICS)
    label = LabeledItem(Item(key="l", title="Zebra crossing festival opens in Pyongyang and Moscow"), ("russia_dprk",))
    corpus = seeds + [label]
    plain = train(corpus, TOPICS, example_weights(len(corpus), 1, 1.0))
    weighted = train(corpus, TOPICS, example_weights(len(corpus), 1, 50.0))
    probe = ["Zebra crossing festival opens"]
    assert weighted.predict_proba(probe)[0, 0] > plain.predict_proba(probe)[0, 0]
    assert list(example_weights(5, 2, 10.0)) == [1, 1, 1, 10, 10]


def test_every_concept_name_is_a_word_or_a_word_pair():
    """The features are words and word pairs: a longer name would never be found (the people table's
    "Choe Ryong Hae" is looked for as "ryong hae")."""
    from classifiers import concepts
    from classifiers.text import term

    assert [name for concept in concepts.NAMES for name in concepts.names(concept) if len(term(name).split()) > 2] == []


def test_an_abbreviation_takes_no_russian_case_forms():
    """"КНДР" and "МБР" are not declined; their made-up forms ("кндрог") were only hashed columns that other
    words share ("number of")."""
    from classifiers.concepts import terms

    assert [t for t in terms("North Korea") if t.startswith("кндр")] == ["кндр"]
    assert "козлов" in terms("Russia") and "козловым" not in " ".join(terms("Russia")).split()


def test_the_people_table_is_the_one_stories_read_and_names_russia_and_north_korea():
    """``seeds/people.toml`` is one table for ``newswatch.actors`` and the concepts: every Russian and North
    Korean person of the stories' table fires their country's concept, in each spelling; a spokesman
    (Peskov) names his country but is no actor of a report."""
    from classifiers.concepts import person_name, terms
    from classifiers.text import term
    from newswatch.actors import PEOPLE, named
    from seeds import people_by_country, voices_by_country

    for country in ("Russia", "North Korea"):
        for person, spellings in people_by_country()[country].items():
            assert PEOPLE[person] == spellings
            assert {term(person_name(spelling)) for spelling in spellings} <= set(terms(country)), person
    assert "Dmitry Peskov" in voices_by_country()["Russia"] and "Dmitry Peskov" not in PEOPLE
    assert named("Peskov said the Kremlin had no comment") == frozenset()
    assert {"peskov", "песков"} <= set(terms("Russia"))


def test_the_beats_people_and_places_name_russia_and_north_korea_in_every_language(seed_model):
    """Reports name the beat's ministers, envoys, firms and places instead of the countries (TOPICS.md:
    visits, arms, rail and port projects): one sentence naming them is a Russia–North Korea pair."""
    texts = ["Talks\nKozlov arrived for talks with Choe Ryong Hae on Monday.",
             "Arms\nWagner fighters used shells made in Pyongyang, officials said.",
             "Rail\nA freight train crossed from Khasan to Rajin on Tuesday.",
             "회담\n코즐로프 부총리가 최룡해 위원장과 회담했다.",
             "Переговоры\nКозлов провел переговоры с Пак Тхэ Соном в Расоне.",
             "Визит\nМантуров прибыл в Вонсан."]
    for text, found in zip(texts, concepts_of(seed_model, *texts)):
        assert "Russia + North Korea in one sentence" in found, text


def test_a_korean_headlines_one_syllable_list_names_its_countries_and_a_date_names_none(seed_model):
    """"한·미·일" is the US, South Korea and Japan; "6일" (the 6th) is no Japan, "한 관계자" (an
    official) no South Korea."""
    listed, dated = concepts_of(seed_model, "한·미·일 연합훈련 시작\n", "정부 발표\n6일 한 관계자가 말했다.")
    assert {"US in headline", "South Korea in headline", "Japan in headline", "drill with allies in headline"} <= set(listed)
    assert not {"Japan in lead", "South Korea in lead"} & set(dated)
    assert words(normalize("정치·경제 분야")) == ["정치", "경제", "분야"]


def test_the_lead_is_counted_in_words_in_every_language():
    from classifiers.model import build_model

    model = build_model(lead_words=3)
    assert model.head("Title\nOne two three four.") == "Title\nOne two three"
    assert model.head("제목\n북한이 6일 동해상으로 미사일을 발사했다.") == "제목\n북한이 6일 동해상으로"
    assert model.head("Title\nshort") == "Title\nshort"


def test_concept_weights_are_shared_and_corrected_per_language(seed_model):
    """Each language's concept weights are the shared ones plus its own correction: the model reads a
    concept in one language unlike in another when its examples say so."""
    _, concepts = seed_model.weights(TOPICS.index("alliance_drills"))
    assert concepts.shape == (3, len(NAMES))
    assert not np.allclose(concepts[0], concepts[1])


def test_the_threshold_is_the_lowest_within_one_standard_error_of_the_best_f1():
    from classifiers.train import THRESHOLD_GRID, choose_thresholds

    truth = np.array([1] * 100 + [0] * 100)
    # positives score 0.3-0.99, negatives 0.0-0.4: F1 is best at 0.39, and within its noise down to 0.30
    scores = np.concatenate([np.linspace(0.3, 0.99, 100), np.linspace(0.0, 0.4, 100)])
    Y = np.column_stack([truth, truth])
    chosen = choose_thresholds(Y, np.column_stack([scores, scores]), TOPICS, pinned={"alliance_drills": 0.7})
    f1 = lambda th: 2 * ((scores >= th) & (truth == 1)).sum() / ((scores >= th).sum() + truth.sum())
    best = max(f1(th) for th in THRESHOLD_GRID)
    assert chosen["alliance_drills"] == 0.7
    assert f1(chosen["russia_dprk"]) >= best - np.sqrt(best * (1 - best) / 100)
    assert chosen["russia_dprk"] < 0.41
    # the threshold in service stays while it is in that band (a retrain on a few labels moved it for noise),
    # and gives way once it is out of it
    in_band = max(th for th in THRESHOLD_GRID if f1(th) >= best - np.sqrt(best * (1 - best) / 100))
    assert in_band > chosen["russia_dprk"]
    kept = choose_thresholds(Y, np.column_stack([scores, scores]), TOPICS, kept={"russia_dprk": in_band,
                                                                                  "alliance_drills": 0.9})
    assert kept == {"russia_dprk": in_band, "alliance_drills": chosen["russia_dprk"]}


def test_korean_and_russian_read_a_pair_by_position_in_their_own_concept_columns(seed_model):
    """A Korean or Russian pair named in the headline or the opening sentence fills its own copy's "in
    headline" column, one named only in a later sentence (a round-up's passing line) its "in one
    sentence" column; English keeps its own copy as the shared one."""
    texts = ["김주애, 신년 공연 관람\n김정은 위원장이 딸과 공연을 관람했다. 관람객들이 환호했다. "
             "북한은 러시아에 병력을 파견했다.",
             "Ким Чен Ын посетил завод\nКНДР поставит России снаряды, сообщил источник. Завод расширят.",
             "Kim visits school\nThe leader toured a school. North Korea sent troops to Russia."]
    features = seed_model.features(texts)
    pair_in_headline = NAMES.index("Russia + North Korea in headline")
    pair_in_sentence = NAMES.index("Russia + North Korea in one sentence")
    korean, russian, english = features.own
    assert korean[pair_in_headline] == 0 and korean[pair_in_sentence] == 1  # the late line only
    assert russian[pair_in_headline] == 1 and russian[pair_in_sentence] == 0  # the opening sentence
    assert np.array_equal(english, features.concepts[2])
    assert features.concepts[0][pair_in_sentence] > 0 and features.concepts[0][pair_in_headline] == 0


def test_the_passing_line_seeds_train_but_choose_no_threshold(monkeypatch):
    import classifiers.train as training
    from newswatch.labeled_items import training_only_keys

    keys = training_only_keys()
    corpus = seed_corpus(TOPICS)
    assert len(keys) >= 60 and keys <= {example.item.key for example in corpus}
    small = ([e for e in corpus if "russia_dprk" in e.topics][:15] + [e for e in corpus if "alliance_drills" in e.topics][:15]
             + [e for e in corpus if not e.topics][:15] + [e for e in corpus if e.item.key in keys][:10])
    chose_on = []
    choose = training.choose_thresholds
    monkeypatch.setattr(training, "choose_thresholds", lambda Y, *a, **k: chose_on.append(len(Y)) or choose(Y, *a, **k))
    candidate = train_candidate(small, TOPICS, np.zeros(len(small), dtype=bool), None, margin=0.01, folds=3,
                                validates=np.array([e.item.key not in keys for e in small]))
    assert chose_on == [45] and candidate.model.predict([small[-1].item.document]).shape == (1, 2)


def test_a_word_sharing_a_concept_names_hashed_column_fires_no_concept(seed_model):
    """A concept fires where one of its names is among a segment's n-grams, not where another n-gram
    shares its hashed column: "percent" shares that of "kcna", "take" that of "владивосток" (each fired
    North Korea or Russia in some 50 seed sentences), and the seeds' headlines hold more such n-grams."""
    from sklearn.utils import murmurhash3_32

    from classifiers.concepts import NAMES as CONCEPTS, terms

    def column(gram: str) -> int:
        return abs(murmurhash3_32(gram, seed=0)) % seed_model.n_features

    assert column("percent") == column("kcna") and column("take") == column("владивосток")
    texts = ["Prices rose 3 percent\nConsumer prices rose 3 percent in May. Analysts take a cautious view.",
             "KCNA reports a meeting\nKCNA said officials met in Vladivostok."]
    quiet, named = concepts_of(seed_model, *texts)
    assert "North Korea in headline" not in quiet and "Russia in lead" not in quiet
    assert "North Korea in headline" in named and "Russia in lead" in named
    # and every n-gram of the seeds' headlines sharing a concept term's column, read on its own, fires
    # nothing unless it holds a name ("이란 오만만서" holds "오만", Oman)
    concept_terms = {t for c in CONCEPTS for t in terms(c)}
    columns = {column(t) for t in concept_terms}
    grams = {g for e in seed_corpus(TOPICS) for g in ngrams(normalize(e.item.title))}
    sharing = sorted(g for g in grams if column(g) in columns and concept_terms.isdisjoint(ngrams(g)))
    assert sharing  # the seeds' headlines hold such n-grams
    present = seed_model.features(sharing).concepts[:, :2 * len(CONCEPTS)]
    assert not present.any(), [g for g, row in zip(sharing, present) if row.any()]
