"""The alembic revisions build exactly the schema in store.schema.metadata, once, from any starting point."""

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from newswatch.migrations import BASELINE
from newswatch.store import Store
from newswatch.store.schema import create_db_engine, managed_by_metadata, metadata


# SQLite's expression indexes (ix_items_when) cannot be reflected: alembic compares every other object there
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_revisions_match_the_metadata(database_url):
    Store.open(database_url).close()
    engine = create_db_engine(database_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"include_object": managed_by_metadata}),
                                       metadata)
    engine.dispose()
    assert differences == [], "store.schema.metadata changed: add a revision (newswatch/migrations/README)"


# columns added since 0001, by name, or as table.column where another table had the name from the start
ADDED_AFTER_0001 = {"lease_owner", "lease_until", "claimed_at", "next_attempt_at", "fetch_url", "story_id", "kind", "lang",
                    "next_poll_at", "feeds.title"}


def test_a_database_made_before_alembic_is_stamped_and_upgraded(database_url):
    engine = create_db_engine(database_url)
    with engine.begin() as conn:  # the spine's schema: what revision 0001 describes, made by create_all
        for table in ("feeds", "items", "predictions", "outbox"):
            columns = [c._copy() for c in metadata.tables[table].columns
                       if not {c.name, f"{table}.{c.name}"} & ADDED_AFTER_0001]
            sa.Table(table, sa.MetaData(), *columns).create(conn)
        conn.execute(sa.text("insert into feeds (url, name) values ('https://a.example/rss', 'A')"))
    engine.dispose()
    store = Store.open(database_url)
    assert [row.name for row in store.feed_rows()] == ["A"], "existing rows survive the upgrade"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() > BASELINE
    store.close()


def test_processes_opening_a_fresh_database_at_once_migrate_it_once(database_url):
    opener = f"from newswatch.store import Store; Store.open({database_url!r}).close()"
    runs = [subprocess.Popen([sys.executable, "-c", opener], stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    store = Store.open(database_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from alembic_version").scalar() == 1
    store.close()


def test_items_no_model_scored_before_the_upgrade_stay_owed_after_it(database_url):
    """Revision 0012 keeps what a cycle owes in a table of its own: items a killed run left unscored under an older
    newswatch are owed after the upgrade, the scored ones are not."""
    from datetime import datetime, timezone

    from newswatch.models import Feed, Item, Prediction

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    store = Store.open(database_url)
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    stored = store.insert_new(feed_id, [Item(key=f"k{n}", title=f"t{n}", url=f"https://a.example/{n}")
                                        for n in range(3)], now)
    store.save_predictions("v1", [(stored[0], Prediction({"russia_dprk": 0.1}, ()))], now)
    with store.engine.begin() as conn:  # back to revision 0011's schema
        conn.exec_driver_sql("DROP INDEX ix_items_feed_when")
        conn.exec_driver_sql("CREATE INDEX ix_items_feed_id ON items (feed_id)")
        conn.exec_driver_sql("DROP TABLE prediction_scores")
        conn.exec_driver_sql("DROP TABLE unscored_items")
        conn.exec_driver_sql("DROP TABLE model_progress")
        conn.exec_driver_sql("DROP INDEX ix_items_when")
        conn.exec_driver_sql("DROP INDEX ix_predictions_created_at")
        conn.exec_driver_sql("ALTER TABLE feeds DROP COLUMN title")  # 0017
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0011'")
    store.close()
    store = Store.open(database_url)
    assert store.count_never_scored() == 2
    assert [item.id for item in store.classification_queue("v1", 5).items] == [stored[1].id, stored[2].id]
    store.close()


def test_the_scores_of_predictions_saved_before_the_upgrade_are_indexed_by_it(database_url):
    """Revision 0015 copies every stored prediction's scores into prediction_scores, which the review queue reads."""
    from datetime import datetime, timezone

    from newswatch.models import Feed, Item, Prediction

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    store = Store.open(database_url)
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    stored = store.insert_new(feed_id, [Item(key=f"k{n}", title=f"t{n}") for n in range(3)], now)
    store.save_predictions("v1", [(item, Prediction({"russia_dprk": score, "alliance_drills": 0.5}, ()))
                                  for item, score in zip(stored, (0.31, 0.9, 0))], now)
    before = store.nearest_thresholds("v1", {"russia_dprk": 0.3, "alliance_drills": 0.25}, 10)
    with store.engine.begin() as conn:  # back to revision 0014's schema
        conn.exec_driver_sql("DROP INDEX ix_items_feed_when")
        conn.exec_driver_sql("CREATE INDEX ix_items_feed_id ON items (feed_id)")
        conn.exec_driver_sql("DROP TABLE prediction_scores")
        conn.exec_driver_sql("ALTER TABLE feeds DROP COLUMN title")  # 0017
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0014'")
    store.close()
    store = Store.open(database_url)
    assert store.nearest_thresholds("v1", {"russia_dprk": 0.3, "alliance_drills": 0.25}, 10) == before
    assert [(item_id, topic) for item_id, topic, *_ in before[:3]] == [
        (stored[0].id, "russia_dprk"), (stored[0].id, "alliance_drills"), (stored[1].id, "alliance_drills")]
    store.close()


def test_an_analyzed_sqlite_database_gets_the_statistics_of_the_new_feed_index(tmp_path):
    """With statistics for every index but a new one, SQLite took ix_items_feed_when for the best way to join items to
    feeds: the API's newest items read all of a million items (3 ms -> 3.7 s). Revision 0016 analyzes its index where
    the database holds statistics."""
    from datetime import datetime, timezone

    from newswatch.models import Feed, Item

    url = f"sqlite:///{tmp_path / 'newswatch.db'}"
    store = Store.open(url)
    feed_id = store.sync_feeds([Feed("https://a.example/rss", "A")])["https://a.example/rss"]
    store.insert_new(feed_id, [Item(key=f"k{n}", title=f"t{n}") for n in range(20)], datetime(2026, 12, 1, tzinfo=timezone.utc))
    with store.engine.begin() as conn:  # back to revision 0015's schema, analyzed
        conn.exec_driver_sql("DROP INDEX ix_items_feed_when")
        conn.exec_driver_sql("CREATE INDEX ix_items_feed_id ON items (feed_id)")
        conn.exec_driver_sql("ALTER TABLE feeds DROP COLUMN title")  # 0017
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0015'")
        conn.exec_driver_sql("ANALYZE")
    store.close()
    store = Store.open(url)
    with store.engine.connect() as conn:
        analyzed = {row[0] for row in conn.exec_driver_sql("SELECT idx FROM sqlite_stat1 WHERE tbl = 'items'")}
    store.close()
    assert "ix_items_feed_when" in analyzed and "ix_items_feed_id" not in analyzed, analyzed
