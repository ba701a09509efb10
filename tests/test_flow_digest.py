"""The Prefect `digest` flow sends each channel's digest and publishes it as a markdown artifact."""

from datetime import datetime, timezone

from newswatch.config import load_settings
from newswatch.models import Feed, Item, Prediction
from newswatch.store import Store


def test_digest_flow_sends_and_publishes_an_artifact(prefect_home, data_dir, webhook, tmp_path):
    from prefect.artifacts import Artifact

    from flows.digest import digest

    config = tmp_path / "newswatch.toml"
    config.write_text(f'[[channels]]\nname = "Analyst Hook"\nurl = "{webhook.apprise_url()}"\n')
    store = Store.open(load_settings(config).database_url)
    now = datetime.now(timezone.utc)
    feed_id = store.sync_feeds([Feed("https://yonhap.example/rss", "Yonhap")])["https://yonhap.example/rss"]
    [item] = store.insert_new(feed_id, [Item(key="k", title="Putin and Kim sign treaty", published=now)], now)
    store.save_predictions("m", [(item, Prediction({"russia_dprk": 0.9}, ("russia_dprk",)))], now)
    store.close()

    result = digest(str(config))
    assert result == {"digests": {"Analyst Hook": "1 new: Russia–DPRK ties"}, "sent": 1, "failed": 0}
    assert webhook.wait_for(1)[0].json()["title"] == "1 new: Russia–DPRK ties"
    artifact = Artifact.get("digest-analyst-hook")
    assert artifact is not None and "Putin and Kim sign treaty" in artifact.data
