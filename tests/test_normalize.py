from datetime import timezone

from feedparser.datetimes import _parse_date

from newswatch.normalize import canonical_url, clean_text, item_key, utc_datetime


def test_canonical_url_drops_tracking_and_fragment_and_lowercases_host():
    url = "HTTPS://News.Example.COM:443/a/B?id=7&utm_source=rss&fbclid=x&gclid=y&ref=home#top"
    assert canonical_url(url) == "https://news.example.com/a/B?id=7&ref=home"


def test_canonical_url_keeps_non_default_port_and_leaves_non_http_alone():
    assert canonical_url("http://127.0.0.1:8080/x?utm_medium=a") == "http://127.0.0.1:8080/x"
    assert canonical_url("tag:example.org,2024:1") == "tag:example.org,2024:1"
    assert canonical_url("  ") is None


def test_clean_text_strips_tags_scripts_and_entities():
    html = "<p>Kim&nbsp;meets <b>Putin</b></p><script>alert(1)</script><p>in &amp; around</p>"
    assert clean_text(html) == "Kim meets Putin in & around"
    assert clean_text("AT&amp;T") == "AT&T"
    assert clean_text(None) == ""


def test_utc_datetime_from_feedparser_struct_time():
    parsed = _parse_date("Tue, 20 Aug 2024 09:30:00 +0900")
    when = utc_datetime(parsed)
    assert when.tzinfo == timezone.utc and (when.hour, when.minute) == (0, 30)


def test_item_key_prefers_article_url_then_guid_then_text():
    assert item_key("abc", "https://x/1", "t", "s") == "url:https://x/1"
    assert item_key("abc", "https://x/", "t", "s", "https://x/rss") == "guid:https://x/rss abc"
    assert item_key(None, "https://x/1", "t", "s") == "url:https://x/1"
    assert item_key(None, None, "t", "s") == item_key("", None, "t", "s") != item_key(None, None, "t", "s2")
