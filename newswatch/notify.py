"""Deliver owed outbox messages to their channels over apprise, and keep the books.

A message is written to the outbox before any send and marked sent only after the channel accepted
it; a channel that is down leaves the message owed for the next run. Channel URLs carry passwords and
tokens, so errors are scrubbed of them before they are stored or shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from .config import Channel
from .store import OutboxEntry, Store, utcnow

log = logging.getLogger(__name__)
_EMAIL_SCHEMES = ("mailto", "mailtos")
#: How long a claimed entry stays with its sender; after that its sender is presumed dead and the entry
#: is sent again (at-least-once: a crash between send and mark may repeat a message, never lose one).
CLAIM_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    errors: tuple[str, ...]


def secrets_in(url: str) -> list[str]:
    """The parts of a channel URL that must never be shown: password, user, tokens in path or query."""
    parts = urlsplit(url)
    secrets = [url]
    if parts.password:
        secrets += [parts.password, unquote(parts.password)]
    if parts.username and parts.scheme not in _EMAIL_SCHEMES:
        secrets.append(parts.username)
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    secrets += [value for key, value in parse_qsl(parts.query) if key.lower() in ("pass", "password", "token", "key", "secret", "apikey")]
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def scrub(message: str, channel: Channel) -> str:
    for secret in secrets_in(channel.url):
        message = message.replace(secret, "****")
    return message


def masked_url(channel: Channel) -> str:
    instance = apprise.Apprise.instantiate(channel.url)
    return instance.url(privacy=True) if instance else scrub(channel.url, channel)


def send_apprise(channel: Channel, entry: OutboxEntry) -> None:
    """Hand one message to one channel; raise with a scrubbed reason when it is not accepted."""
    notifier = apprise.Apprise()
    if not notifier.add(channel.url):
        raise RuntimeError(f"channel {channel.name}: not a usable apprise URL ({masked_url(channel)})")
    is_email = urlsplit(channel.url).scheme.lower() in _EMAIL_SCHEMES
    body, body_format = ((entry.body_html, apprise.NotifyFormat.HTML) if is_email
                         else (entry.body_markdown, apprise.NotifyFormat.MARKDOWN))
    with apprise.LogCapture(level=logging.WARNING) as captured:
        accepted = notifier.notify(body=body, title=entry.subject, body_format=body_format)
    if not accepted:
        detail = " ".join(line.strip() for line in captured.getvalue().splitlines() if line.strip())
        raise RuntimeError(scrub(f"channel {channel.name} did not accept the message: {detail or 'no reason given'}",
                                 channel))


Sender = Callable[[Channel, OutboxEntry], None]


def deliver_owed(store: Store, channels: Sequence[Channel], send: Sender = send_apprise,
                 now: Callable[[], datetime] = utcnow) -> DeliveryReport:
    """Send every owed message of every configured channel; one channel down never stops the others."""
    sent = failed = 0
    errors: list[str] = []
    for channel in channels:
        for entry in store.owed(channel.name):
            if not store.claim(entry.id, now(), CLAIM_LEASE):
                continue  # another process is sending it right now
            try:
                send(channel, entry)
            except Exception as exc:  # any channel failure is recorded, not raised: the rest still go out
                message = scrub(str(exc), channel)
                store.mark_failed(entry.id, message)
                errors.append(message)
                failed += 1
                log.warning("delivery to %s failed: %s", channel.name, message)
                break  # the channel is down: the rest of its queue waits for the next run, in order
            store.mark_sent(entry.id, now())
            sent += 1
    return DeliveryReport(sent, failed, tuple(errors))
