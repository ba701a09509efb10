"""Deliver owed outbox messages to their channels, and keep the books (semantics: README, "Delivery").

Each send is claimed first: the row becomes ``sending`` with ``claimed_at``, committed before the
channel is called, and ``sent`` only after the channel accepted it. A claim still ``sending`` after
``STALE_CLAIM`` belongs to a process that died between the send and the mark: it is sent again with
the same idempotency key (at-least-once; the key lets a receiver drop the copy). A failed send is
retried with exponential backoff (``next_attempt_at``), and the channel's later messages wait behind it,
in order. A message refused for good (``Refused``: HTTP 4xx other than 408/429, SMTP 5xx) or failed
``max_attempts`` times is ``dead``: it is kept with its last error (``newswatch outbox``) and no longer
blocks the channel. Channel URLs carry passwords and tokens, so errors are scrubbed of them before they
are stored or shown.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Callable, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise
from apprise.plugins.email import NotifyEmail, SecureMailMode

from .alerts import quiet_until
from .clock import utcnow
from .config import Channel
from .store import OutboxEntry, Store
from .untrusted import MIN_SECRET, mask

log = logging.getLogger(__name__)
_EMAIL_SCHEMES = ("mailto", "mailtos")
IDEMPOTENCY_HEADER = "X-Newswatch-Idempotency-Key"
STALE_CLAIM = timedelta(minutes=5)
"""Longer than any send may take (apprise's and our SMTP timeouts are seconds), so a claim this old is
one whose process died."""
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    errors: tuple[str, ...]
    held: int = 0
    """Owed from earlier and not due yet: held for the end of quiet hours or waiting out a backoff."""
    dead: int = 0
    """Failed sends that made their message dead (refused for good, or out of attempts)."""
    notes: tuple[str, ...] = ()
    """What channels refused of messages they accepted (mail recipients a server turned away)."""


class Refused(RuntimeError):
    """The channel refused the message for good: sending it again cannot succeed."""


def permanent_http(status: int) -> bool:
    """4xx says the request itself is wrong (too large, forbidden, gone), except timeouts and rate limits."""
    return 400 <= status < 500 and status not in (408, 429)


_APPRISE_HTTP_ERROR = re.compile(r"error=(\d{3})\b")


def secrets_in(url: str, substituted: tuple[str, ...] = ()) -> list[str]:
    """What of a channel must never be shown, longest first, each as a whole value: the URL, its password,
    user (except for email), tokens in path or query, and what ``${NAME}`` put into it (``substituted``)."""
    parts = urlsplit(url)
    secrets = [url, *substituted]
    if parts.password:
        secrets += [parts.password, unquote(parts.password)]
    if parts.username and parts.scheme not in _EMAIL_SCHEMES:
        secrets.append(parts.username)
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    secrets += [value for key, value in parse_qsl(parts.query) if key.lower() in ("pass", "password", "token", "key", "secret", "apikey")]
    return sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)


def scrub(message: str, channel: Channel) -> str:
    return mask(message, secrets_in(channel.url, channel.secrets))


class _ChannelSecrets(logging.Filter):
    """Masks, in apprise's own log records, every secret of the channels this process has handed to apprise: it
    logs what it cannot parse with the URL in it ("Unparseable JSON URL json://user:password@…"), and its records
    reach the terminal and Prefect's logs like ours."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def know(self, channel: Channel) -> None:
        with self._lock:
            self._secrets = tuple(dict.fromkeys((*self._secrets, *secrets_in(channel.url, channel.secrets))))

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a record whose arguments do not fit its format: logging reports it
                return True
            record.msg, record.args = mask(message, self._secrets), ()
        return True


_APPRISE_LOG = _ChannelSecrets()
logging.getLogger("apprise").addFilter(_APPRISE_LOG)  # every apprise module logs to this one logger


def _plugin(channel: Channel) -> apprise.plugins.NotifyBase | None:
    """apprise's plugin for the channel's URL, None for a URL it cannot use."""
    _APPRISE_LOG.know(channel)
    return apprise.Apprise.instantiate(channel.url)


def usable(channel: Channel) -> bool:
    """Whether apprise can make a notifier of the channel's URL (a send may still fail)."""
    return _plugin(channel) is not None


def masked_url(channel: Channel) -> str:
    instance = _plugin(channel)
    return scrub(instance.url(privacy=True), channel) if instance else scrub(channel.url, channel)


def idempotency_key(entry: OutboxEntry) -> str:
    """Stable across retries of one message to one channel, different for every other pair."""
    return f"{entry.channel}/{entry.dedupe_key}"


def send_apprise(channel: Channel, entry: OutboxEntry) -> str | None:
    """Hand one message to one channel; raise with a scrubbed reason when it is not accepted (``Refused`` when
    for good). Returns what the channel refused of an accepted message (mail recipients), if anything."""
    # a fresh plugin per send: apprise throttles repeated sends on one object by sleeping
    plugin = _plugin(channel)
    if plugin is None:
        raise RuntimeError(f"channel {channel.name}: not a usable apprise URL ({scrub(channel.url, channel)})")
    if isinstance(plugin, NotifyEmail):
        return _send_email(plugin, entry)
    key = idempotency_key(entry)
    if isinstance(getattr(plugin, "headers", None), dict):  # json://, xml://, form:// webhooks
        plugin.headers[IDEMPOTENCY_HEADER] = key
    if isinstance(getattr(plugin, "payload_extras", None), dict):
        plugin.payload_extras["idempotency_key"] = key
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        accepted = plugin.notify(body=entry.body_markdown, title=entry.subject,
                                 body_format=apprise.NotifyFormat.MARKDOWN)
    if not accepted:
        detail = " ".join(line.strip() for line in captured.getvalue().splitlines() if line.strip())
        status = _APPRISE_HTTP_ERROR.search(detail)
        failure = Refused if status and permanent_http(int(status.group(1))) else RuntimeError
        raise failure(f"channel {channel.name} did not accept the message: {detail or 'no reason given'}")
    return None


def email_message(plugin: NotifyEmail, entry: OutboxEntry) -> EmailMessage:
    """multipart/alternative with our own plain-text part (apprise would derive one from the HTML) and a
    Message-ID made from the idempotency key (apprise makes a random one), so a resend is recognisable."""
    message = EmailMessage()
    message["Subject"] = entry.subject
    message["From"] = formataddr((plugin.from_addr[0] or "", plugin.from_addr[1]))
    message["To"] = ", ".join(formataddr((name or "", address)) for name, address in plugin.targets)
    message["Date"] = format_datetime(entry.created_at)
    message["Message-ID"] = f"<{entry.dedupe_key}.{entry.channel.encode().hex()[:32]}@newswatch>"
    message[IDEMPOTENCY_HEADER] = idempotency_key(entry)
    for name, value in plugin.headers.items():
        message[name] = value
    message.set_content(entry.body_text)
    message.add_alternative(entry.body_html, subtype="html")
    return message


def _send_email(plugin: NotifyEmail, entry: OutboxEntry) -> str | None:
    """SMTP exactly as apprise's email plugin connects (same URL, modes and login), with our message.

    A message the server takes for some recipients and refuses for others is sent (to those it took); the
    refused ones are returned. Refused for every recipient, or with a 5xx to the sender or the data, it is
    ``Refused``; a 4xx or a broken connection is worth retrying."""
    if not plugin.targets:
        raise RuntimeError("no email recipients in the channel URL")
    context = ssl.create_default_context()
    if not plugin.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    connect = smtplib.SMTP_SSL if plugin.secure_mode == SecureMailMode.SSL else smtplib.SMTP
    extra = {"context": context} if plugin.secure_mode == SecureMailMode.SSL else {}
    message = email_message(plugin, entry)
    try:
        with connect(plugin.smtp_host, plugin.port, timeout=plugin.socket_connect_timeout, **extra) as smtp:
            if plugin.secure_mode == SecureMailMode.STARTTLS:
                smtp.starttls(context=context)
            if plugin.user and plugin.password:
                smtp.login(plugin.user, plugin.password)
            refused = smtp.send_message(message, from_addr=plugin.from_addr[1],
                                        to_addrs=[address for _, address in plugin.targets])
    except smtplib.SMTPRecipientsRefused as exc:
        failure = Refused if all(code >= 500 for code, _ in exc.recipients.values()) else RuntimeError
        raise failure(f"SMTP {plugin.smtp_host}:{plugin.port}: every recipient refused: "
                      f"{_refusals(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        failure = Refused if exc.smtp_code >= 500 else RuntimeError
        raise failure(f"SMTP {plugin.smtp_host}:{plugin.port}: {exc}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise RuntimeError(f"SMTP {plugin.smtp_host}:{plugin.port}: {exc}") from None
    return f"refused recipients: {_refusals(refused)}" if refused else None


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address} ({code} {reply.decode('utf-8', 'replace')})"
                     for address, (code, reply) in sorted(refused.items()))


Sender = Callable[[Channel, OutboxEntry], "str | None"]
"""Sends one message or raises; may return a note on what the channel refused of it (kept with the message)."""


def backoff(channel: Channel, failures: int) -> timedelta:
    """The wait after the n-th failed send in a row: retry_seconds, doubling, capped."""
    return min(timedelta(seconds=channel.retry_seconds * 2 ** max(failures - 1, 0)), MAX_BACKOFF)


def deliver_owed(store: Store, channels: Sequence[Channel], send: Sender = send_apprise,
                 now: Callable[[], datetime] = utcnow) -> DeliveryReport:
    """Send every due message of every configured channel; one channel down never stops the others."""
    sent = failed = dead = 0
    errors: list[str] = []
    notes: list[str] = []
    for channel in channels:
        for entry in store.due(channel.name, now(), now() - STALE_CLAIM):
            if entry.kind in ("immediate", "surge") and entry.status != "sending" and quiet_until(channel, now()):
                continue  # a retry that came due inside quiet hours waits for their end too
            if not store.claim(entry, now()):
                continue  # another process claimed it after we read it
            try:
                note = send(channel, entry)
            except Exception as exc:  # any channel failure is recorded, not raised: the rest still go out
                message = scrub(str(exc), channel)
                failed += 1
                attempts = entry.attempts + 1
                if isinstance(exc, Refused) or attempts >= channel.max_attempts:
                    why = "refused for good" if isinstance(exc, Refused) else f"{attempts} attempts failed"
                    store.mark_dead(entry.id, message)
                    dead += 1
                    errors.append(f"#{entry.id} is dead ({why}; `newswatch outbox`): {message}")
                    log.warning("delivery of #%s to %s is dead (%s): %s", entry.id, channel.name, why, message)
                    continue  # a dead letter never holds back the channel's later messages
                store.mark_failed(entry.id, message, now() + backoff(channel, attempts))
                errors.append(message)
                log.warning("delivery to %s failed: %s", channel.name, message)
                break  # the channel is down: the rest of its queue waits for its retry, in order
            if note:
                note = scrub(note, channel)
                notes.append(f"#{entry.id} to {channel.name}: {note}")
            store.mark_sent(entry.id, now(), note)
            sent += 1
    names = {channel.name for channel in channels}
    waiting = sum(1 for entry in store.owed() if entry.status in ("pending", "failed") and entry.channel in names)
    return DeliveryReport(sent, failed, tuple(errors), held=waiting - (failed - dead), dead=dead, notes=tuple(notes))
