"""The classifier's parts on their own: concept features, explanations, label weights, the estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from classifiers.concepts import feature_names, relation_columns
from classifiers.explain import Explainer
from classifiers.pipeline import TopicClassifier, ngrams, normalize
from classifiers.train import example_weights, train
from newswatch.labeled import seed_corpus
from newswatch.models import TOPICS, Item, LabeledItem

NAMES = feature_names()


@pytest.fixture(scope="module")
def seed_model():
    return train(seed_corpus(), thresholds={"russia_dprk": 0.5, "alliance_drills": 0.5})


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
    words = set(ngrams(normalize(texts[0])))
    assert all(reason in words for reason in reasons if reason not in relations), reasons


def test_estimator_contract(seed_model):
    assert clone(seed_model).get_params() == seed_model.get_params()
    assert not hasattr(clone(seed_model), "regressions_")
    scores = seed_model.predict_proba(["Putin and Kim sign a defence pact", "Stocks rally in Tokyo"])
    assert scores.shape == (2, len(TOPICS)) and ((0 <= scores) & (scores <= 1)).all()


def test_a_weighted_label_moves_the_model_more_than_an_unweighted_one():
    seeds = seed_corpus()
    label = LabeledItem(Item(key="l", title="Zebra crossing festival opens in Pyongyang and Moscow"), ("russia_dprk",))
    corpus = seeds + [label]
    plain = train(corpus, example_weights(len(corpus), 1, 1.0))
    weighted = train(corpus, example_weights(len(corpus), 1, 50.0))
    probe = ["Zebra crossing festival opens"]
    assert weighted.predict_proba(probe)[0, 0] > plain.predict_proba(probe)[0, 0]
    assert list(example_weights(5, 2, 10.0)) == [1, 1, 1, 10, 10]
