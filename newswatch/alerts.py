"""What each channel is owed and when: immediate alerts (held through quiet hours) and scheduled digests.

Pure time arithmetic on a passed-in ``now`` plus outbox writes; sending is notify.py's job. An immediate
alert is owed in the transaction that saves an item's first prediction (``owe_immediate``), and takes the
item for the channel (``alerted_items``), so an item is alerted at most once per channel. A digest
holds every item scored since shortly before the channel's last digest that no digest of the channel
has taken yet; it takes them in the same transaction that owes it, so a crash can neither lose an item
nor owe it twice, and two processes digesting at once cannot both take one item.

Every message owed here names the model's tagging thresholds (``tagged_at``) in its footer
(``digest.tagging_footer``), so each function that owes one takes them: none can forget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

from .config import Channel, DigestSchedule, Settings
from .digest import Digest, build_digest
from .models import Match
from .store import ItemFilter, Obligations, Store
from .surges import HISTORY, StorySurge, TopicSurge, story_surges, topic_surges

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelDigest:
    channel: Channel
    digest: Digest | None
    since: datetime | None
    until: datetime
    considered: tuple[int, ...]
    """Every item the window held, tagged for the channel or not: owing the digest takes them all."""
    explicit: bool = False
    """A window the user asked for (``digest --since``), which may repeat items already digested."""
    tagged_at: Mapping[str, float] = field(default_factory=dict)
    """The model's tagging thresholds, named in the digest's footer."""


LOOKBACK = timedelta(hours=1)
"""How far before the last digest's window end a digest looks again: predictions that another process
saved before that moment but committed after it are still owed (longer than any cycle takes)."""
FIRST_DIGEST_LOOKS_BACK = {"cycle": timedelta(days=1), "hourly": timedelta(hours=1), "daily": timedelta(days=1),
                           "weekly": timedelta(days=7)}
"""How far before its last scheduled time (before now, for a digest every cycle) a channel's first digest begins: a
channel added to a store that has watched for months is sent what is new, not every story of its history."""
MAX_RACES = 3

def quiet_until(channel: Channel, now: datetime) -> datetime | None:
    """When the quiet hours around ``now`` end (aware UTC-comparable), or None outside them."""
    if channel.quiet_hours is None:
        return None
    start, end = channel.quiet_hours
    local = now.astimezone(ZoneInfo(channel.timezone))
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = _at(local, end)
    return ends if ends > local else _at(local + timedelta(days=1), end)


def _at(local: datetime, wall: time) -> datetime:
    """That day at that wall-clock time, in the same zone (zoneinfo resolves DST gaps forward)."""
    return local.replace(hour=wall.hour, minute=wall.minute, second=0, microsecond=0)


def last_slot(schedule: DigestSchedule, zone: str, now: datetime) -> datetime | None:
    """The latest scheduled digest time at or before ``now``; None for a digest every cycle."""
    local = now.astimezone(ZoneInfo(zone))
    if schedule.every == "hourly":
        slot = local.replace(minute=schedule.at.minute, second=0, microsecond=0)
        return slot if slot <= local else slot - timedelta(hours=1)
    if schedule.every == "daily":
        slot = _at(local, schedule.at)
        return slot if slot <= local else _at(local - timedelta(days=1), schedule.at)
    if schedule.every == "weekly":
        slot = _at(local - timedelta(days=(local.weekday() - schedule.weekday) % 7), schedule.at)
        return slot if slot <= local else _at(slot - timedelta(days=7), schedule.at)
    return None


def first_digest_start(channel: Channel, now: datetime) -> datetime:
    """Where a channel's first digest begins: one period of its schedule before its last scheduled time."""
    schedule = channel.schedule
    return (last_slot(schedule, channel.timezone, now) or now) - FIRST_DIGEST_LOOKS_BACK[schedule.every]


def digest_due(store: Store, channel: Channel, now: datetime) -> bool:
    if "digest" not in channel.modes:
        return False
    slot = last_slot(channel.schedule, channel.timezone, now)
    watermark = store.watermark(channel.name)
    return slot is None or watermark is None or watermark.digested_at < slot


def for_channel(store: Store, channel: Channel, matches: Sequence[Match]) -> list[Match]:
    """The matches the channel takes: those its saved query (``query = "NAME"``) matches, or all of them.

    What the query asks of the text, feeds and languages is read from the stored items; what it asks of the
    scores (topics, minimum score) from each match's own prediction, so this holds before that prediction is
    committed (immediate alerts are owed in the transaction that saves it) as well as after."""
    if channel.query is None:
        return list(matches)
    saved = store.saved_query(channel.query)
    if saved is None:
        raise SavedQueryMissing(f"channel {channel.name}: no saved query named {channel.query!r} "
                                "(newswatch queries list)")
    stored = replace(saved.item_filter(()), topics=(), min_score=None)
    wanted = store.matching_ids(stored, [m.item.id for m in matches if m.item.id is not None])
    return [m for m in matches if m.item.id in wanted and _scores_match(m, saved.topics, saved.min_score)]


def _scores_match(match: Match, topics: Sequence[str], min_score: float | None) -> bool:
    if min_score is not None:
        return any(match.prediction.scores.get(t, 0.0) >= min_score for t in topics or match.prediction.scores)
    return not topics or any(t in match.prediction.tags for t in topics)


class SavedQueryMissing(LookupError):
    """A channel routes a saved query the store does not hold: it is owed nothing until one is saved."""


def channel_matches(store: Store, settings: Settings, matches: Sequence[Match]) -> dict[str, list[Match]]:
    """Each immediate-mode channel's share of ``matches`` (its saved query applied); a channel whose saved
    query is missing gets none, with the error logged, and the others theirs."""
    shares = {}
    for channel in settings.channels:
        if "immediate" not in channel.modes:
            continue
        try:
            shares[channel.name] = for_channel(store, channel, matches)
        except SavedQueryMissing as exc:
            log.error("%s", exc)
    return shares


def owe_immediate(obligations: Obligations, settings: Settings, shares: dict[str, list[Match]],
                  now: datetime, tagged_at: Mapping[str, float]) -> None:
    """For every immediate-mode channel, owe one alert with the items of its share (see ``channel_matches``)
    above its immediate threshold that no alert of the channel has taken, held in quiet hours. Runs in the
    transaction that saves the predictions."""
    for channel in settings.channels:
        matches = shares.get(channel.name)
        if not matches:
            continue
        candidates = build_digest(matches, settings.titles(channel.topics), channel.timezone, channel.immediate_threshold,
                                  kind="immediate")
        if candidates is None:
            continue
        taken = obligations.take_for_alert(channel.name, candidates.item_ids)
        alert = build_digest([m for m in matches if m.item.id in taken], settings.titles(channel.topics), channel.timezone,
                             channel.immediate_threshold, settings.web.base_url, kind="immediate",
                             tagged_at=tagged_at)
        if alert is not None:
            obligations.enqueue(channel.name, dict(
                dedupe_key=alert.key, subject=alert.subject, body_text=alert.text, body_html=alert.html,
                body_markdown=alert.markdown, created_at=now, kind="immediate", next_attempt_at=quiet_until(channel, now)))


def channel_digest(store: Store, settings: Settings, channel: Channel, now: datetime,
                   since: datetime | None = None, *, tagged_at: Mapping[str, float]) -> ChannelDigest:
    """The channel's digest of what its digests have not taken yet (its first digest: since ``first_digest_start``;
    with ``since``, of everything first scored since then) up to ``now``."""
    explicit = since is not None
    if not explicit:
        watermark = store.watermark(channel.name)
        since = watermark.tagged_until - LOOKBACK if watermark else first_digest_start(channel, now)
    tagged = store.tagged_between(since, now, not_taken_by=None if explicit else channel.name)
    matches = for_channel(store, channel, tagged)
    digest = build_digest(matches, settings.titles(channel.topics), channel.timezone, channel.threshold, settings.web.base_url,
                          tagged_at=tagged_at)
    considered = tuple(t.item.id for t in tagged if t.item.id is not None)
    return ChannelDigest(channel, digest, since, now, considered, explicit, tagged_at)


def owe_digest(store: Store, settings: Settings, planned: ChannelDigest, now: datetime) -> ChannelDigest:
    """Owe the planned digest; when another process took some of its items first, plan again without them."""
    for _ in range(MAX_RACES):
        digest = planned.digest
        message = None if digest is None else dict(
            dedupe_key=digest.key, subject=digest.subject, body_text=digest.text, body_html=digest.html,
            body_markdown=digest.markdown)
        if store.enqueue_digest(planned.channel.name, message, planned.considered, planned.until, now,
                                exclusive=not planned.explicit):
            return planned
        planned = channel_digest(store, settings, planned.channel, now, tagged_at=planned.tagged_at)
    # still racing: whatever is left stays untaken, so the next cycle owes it
    return replace(planned, digest=None)


def owe_surges(store: Store, settings: Settings, now: datetime, tagged_at: Mapping[str, float]) -> None:
    """Owe every surge-mode channel one alert per story that surged and per topic hour that surged; the outbox's
    unique (channel, key) makes a later cycle that sees the same surge owe nothing."""
    channels = [c for c in settings.channels if "surge" in c.modes]
    if not channels:
        return
    window = timedelta(minutes=max(c.surge.window_minutes for c in channels))
    recent = store.scored_stories(ItemFilter(since=min(now - window, _hour(now)), until=now, scored=True),
                                  limit=None)
    times = store.tagged_times(settings.topic_names, _hour(now) - HISTORY, now)
    watched_since = store.first_fetched_at()
    for channel in channels:
        surge = channel.surge
        for story in story_surges(recent, channel.topics, now, surge.sources,
                                  timedelta(minutes=surge.window_minutes), channel.threshold):
            _owe_surge(store, settings, channel, story.key, _story_subject(story), story.copies, story.topics, now,
                       tagged_at)
        topic_times = {t: times[t] for t in channel.topics}
        for topic in topic_surges(topic_times, recent, now, surge.sigmas, surge.min_items, watched_since):
            _owe_surge(store, settings, channel, topic.key, _topic_subject(topic, settings), topic.matches, (topic.topic,),
                       now, tagged_at)


def _hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def _story_subject(surge: StorySurge) -> str:
    lead = max(surge.copies, key=lambda m: max((m.prediction.scores.get(t, 0.0) for t in surge.topics), default=0.0))
    return f"Surge: {surge.sources} sources — {lead.item.title}"


def _topic_subject(surge: TopicSurge, settings: Settings) -> str:
    return (f"Surge: {settings.topics[surge.topic].title} — {surge.count} items this hour "
            f"(usually {surge.usual:.1f} ± {surge.spread:.1f})")


def _owe_surge(store: Store, settings: Settings, channel: Channel, key: str, subject: str,
               matches: Sequence[Match], topics: Sequence[str], now: datetime, tagged_at: Mapping[str, float]) -> None:
    alert = build_digest([_tagged(m, topics) for m in matches], settings.titles(topics), channel.timezone, None,
                         settings.web.base_url, kind="surge", subject=subject, tagged_at=tagged_at)
    if alert is not None:
        store.enqueue(channel.name, key, alert.subject, alert.text, alert.html, alert.markdown, now, kind="surge",
                      not_before=quiet_until(channel, now))


def _tagged(match: Match, topics: Sequence[str]) -> Match:
    """Every copy of a surging story is listed under its topics, whichever copy the model tagged."""
    prediction = replace(match.prediction, tags=tuple(dict.fromkeys((*match.prediction.tags, *topics))))
    return replace(match, prediction=prediction)


def owe_due(store: Store, settings: Settings, now: datetime, tagged_at: Mapping[str, float]) -> list[ChannelDigest]:
    """A cycle's obligations besides immediate alerts (owed with the predictions): surge alerts, and every
    digest that is due."""
    owed = []
    for channel in settings.channels:
        try:
            if digest_due(store, channel, now):
                owed.append(owe_digest(store, settings, channel_digest(store, settings, channel, now,
                                                                       tagged_at=tagged_at), now))
        except SavedQueryMissing as exc:  # the other channels are still owed theirs; nothing is taken from it
            log.error("%s", exc)
    owe_surges(store, settings, now, tagged_at)
    return owed


def digest_now(store: Store, settings: Settings, now: datetime, since: datetime | None = None,
               channel_names: Sequence[str] = (), dry_run: bool = False, *,
               tagged_at: Mapping[str, float]) -> list[ChannelDigest]:
    """Every digest-mode channel's digest now, whatever its schedule; owed unless ``dry_run``."""
    chosen = [c for c in settings.channels if "digest" in c.modes and (not channel_names or c.name in channel_names)]
    planned = [channel_digest(store, settings, channel, now, since, tagged_at=tagged_at) for channel in chosen]
    if dry_run:
        return planned
    return [owe_digest(store, settings, one, now) for one in planned]
