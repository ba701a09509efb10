"""Hostile and careless input (issue 12): one regression test per point, on real parts, plus the newcomer's
trip-ups of issue 13.8 and the CLI's start-up (13.6)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from newswatch.analyst_labels import import_labels
from newswatch.cli import main
from newswatch.config import load_settings
from newswatch.digest import Match, build_digest
from newswatch.fetch import fetch_url
from newswatch.models import Item, Prediction
from newswatch.notify import masked_url, scrub, send_apprise
from newswatch.store import Store
from newswatch.store.predictions import LABEL_BATCH
from newswatch.web import create_app
from shipped_topics import NAMES, TITLES

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)
ESCAPES = ("\x1b", "\x07", "\x9b")


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def one_line_error(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


# -- 2. tracebacks become one line naming what and where (exit 2); --debug shows the traceback ---------------

def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    config = tmp_path / "newswatch.toml"
    data = b'[[feeds]]\nurl = "https://example.org/rss"\nname = "Caf\xe9"\n'
    config.write_bytes(data)
    line = one_line_error(cli("feeds", "list", "--config", str(config)))
    assert line == f"Error: {config}: not UTF-8 text (byte {data.index(0xe9)}: 0xe9); save the file as UTF-8"


def test_a_labels_file_that_is_not_utf8_names_line_and_byte(data_dir, tmp_path):
    source = tmp_path / "labels.jsonl"
    data = b'{"title": "fine", "topics": []}\n{"title": "caf\xe9", "topics": []}\n'
    source.write_bytes(data)
    line = one_line_error(cli("labels", "import", str(source)))
    assert line == f"Error: {source}:2: not UTF-8 text (byte {data.index(0xe9)}: 0xe9); save the file as UTF-8"
    with Store.open(load_settings().database_url) as store:
        assert store.latest_labels() == [], "nothing imported"


def test_a_corrupt_metadata_file_disables_that_version_not_the_tool(data_dir, seed_models, tmp_path, caplog):
    shutil.copytree(seed_models, data_dir / "models")
    current = (data_dir / "models" / "CURRENT").read_text().strip()
    number = int(current[1:]) + 1
    for suffix in (".skops", ".json"):  # a newer version, put in service, whose metadata is then cut short
        shutil.copy(data_dir / "models" / f"{current}{suffix}", data_dir / "models" / f"v{number}{suffix}")
    (data_dir / "models" / f"v{number}.json").write_text('{"version": "v%d", "thresh' % number)
    (data_dir / "models" / "CURRENT").write_text(f"v{number}\n")
    listing = cli("models", "list")
    assert listing.exit_code == 0, listing.output
    assert current in listing.output and f"v{number} " not in listing.output
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"title": "Putin and Kim sign a treaty in Pyongyang"}) + "\n")
    scored = cli("classify", str(source))
    assert scored.exit_code == 0 and json.loads(scored.output.splitlines()[-1])["scores"], scored.output
    line = one_line_error(cli("models", "rollback", f"v{number}"))
    assert f"v{number}.json: unreadable model metadata, version v{number} disabled" in line


def test_since_far_in_the_past_is_a_clear_error(data_dir):
    result = cli("digest", "--since", "99999999d")
    assert result.exit_code == 2 and "'99999999d' reaches back before year 1" in result.output
    assert "Traceback" not in result.output and "OverflowError" not in result.output


@pytest.mark.parametrize("item_id", ["2147483648", "²", "0", "1e3", "99999999999999999999999"])
def test_an_item_id_out_of_range_is_refused_before_the_database(database_url, item_id):
    line = one_line_error(cli("label", item_id, "russia_dprk", "yes"))
    assert line.startswith("Error: item id must be a whole number from 1 to 2147483647")


def test_disk_full_is_one_line_and_debug_shows_the_traceback(data_dir, monkeypatch):
    # a full disk cannot be made on demand here; Store.open is where SQLite first writes, so it raises as it would
    def full(cls, url):
        raise OSError(errno.ENOSPC, "No space left on device", str(data_dir / "newswatch.db"))

    monkeypatch.setattr(Store, "open", classmethod(full))
    line = one_line_error(cli("labels", "export"))
    assert line == (f"Error: {data_dir / 'newswatch.db'}: no space left on the device "
                    "(nothing was lost: free some and run again)")
    debug = CliRunner().invoke(main, ["--debug", "labels", "export"])
    assert isinstance(debug.exception, OSError) and debug.exception.errno == errno.ENOSPC


def test_an_unreachable_database_is_one_line_with_the_password_masked(tmp_path):
    config = tmp_path / "newswatch.toml"
    config.write_text('database_url = "postgresql+psycopg://nw:${DB_PASSWORD}@127.0.0.1:9/newswatch"\n')
    result = cli("labels", "export", "--config", str(config), env={"DB_PASSWORD": "hunter2-secret"})
    line = one_line_error(result)
    assert line.startswith("Error: database postgresql+psycopg://****@127.0.0.1:9/newswatch:")
    assert "hunter2" not in result.output


# -- 3. javascript: and data: links never become links -----------------------------------------------------------

@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html;base64,PHNjcmlwdD4=",
                                 " JavaScript:alert(1)", "java\tscript:alert(1)", "vbscript:msgbox(1)"])
def test_only_http_links_in_every_rendering(url):
    item = Item(key="k", id=7, title="Putin and Kim sign a treaty", summary="text", url=url, published=NOW)
    digest = build_digest([Match(item, Prediction({"russia_dprk": 0.99}, ("russia_dprk",)), "Feed")], TITLES)
    hrefs = [part.split('"', 1)[0] for part in digest.html.split('href="')[1:]]
    assert all(href.startswith("http") for href in hrefs), hrefs
    assert "](<" not in digest.markdown
    assert "Putin and Kim sign a treaty" in digest.html and "Putin and Kim sign a treaty" in digest.markdown


def test_an_http_link_stays_a_link():
    item = Item(key="k", id=7, title="Treaty", summary="", url="https://news.example/treaty", published=NOW)
    digest = build_digest([Match(item, Prediction({"russia_dprk": 0.99}, ("russia_dprk",)), "Feed")], TITLES)
    assert 'href="https://news.example/treaty"' in digest.html and "](<https://news.example/treaty>)" in digest.markdown


# -- 4. the review page answers 400, never 500, to odd numbers; on PostgreSQL too ---------------------------------

@pytest.mark.parametrize("path", ["/items/%C2%B2", "/?page=%C2%B2", "/?feed=%C2%B2", "/review?limit=%C2%B2",
                                  "/items/2147483648", "/?feed=2147483648", "/items/%EF%BC%91"])
def test_web_numbers_are_parsed_strictly(database_url, tmp_path, path):
    settings = load_settings(env={"NEWSWATCH_HOME": str(tmp_path / "home"), "NEWSWATCH_DATABASE_URL": database_url})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        answer = client.get(path)
        assert answer.status_code == 400, answer.text
        assert "must be a whole number" in answer.text
        client.get("/feeds")
        posted = client.post("/items/2147483648/labels", data={"topic": "russia_dprk", "value": "yes"},
                             headers={"X-CSRF-Token": client.cookies["newswatch_csrf"], "Accept": "application/json"})
        assert posted.status_code == 400 and "item id must be a whole number" in posted.json()["error"]


# -- 5. a password with @ : / % logs in, mail goes to the configured port, and it is masked whole ---------------

PASSWORD = "p@ss:w/rd%Zx9Secret"


@pytest.fixture
def smtp_with_login():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    received, logins = [], []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, data):
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.login == b"analyst" and data.password == PASSWORD.encode())

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False, ready_timeout=10)
    controller.start()
    try:
        yield port, received, logins
    finally:
        controller.stop()


def test_a_password_with_url_characters_logs_in_and_is_masked_whole(tmp_path, smtp_with_login):
    from newswatch.store import OutboxEntry

    port, received, logins = smtp_with_login
    config = tmp_path / "newswatch.toml"
    config.write_text(f'[[channels]]\nname = "mail"\n'
                      f'url = "mailto://analyst:${{SMTP_PASSWORD}}@127.0.0.1:{port}/?to=desk@example.org'
                      f'&from=newswatch@example.org"\n')
    settings = load_settings(config, env={"SMTP_PASSWORD": PASSWORD, "NEWSWATCH_HOME": str(tmp_path / "home")})
    channel = settings.channels[0]
    entry = OutboxEntry(id=1, channel="mail", dedupe_key="k1", subject="Alert", body_text="t", body_html="<p>t</p>",
                        body_markdown="t", status="pending", attempts=0, last_error=None, created_at=NOW)
    send_apprise(channel, entry)
    assert logins == [("analyst", PASSWORD)]
    assert [e.rcpt_tos for e in received] == [["desk@example.org"]]
    shown = masked_url(channel)
    assert PASSWORD not in shown and "p@ss" not in shown
    message = f"login as analyst with {PASSWORD} (encoded {channel.url.split(':')[2].split('@')[0]}) failed"
    assert scrub(message, channel) == "login as analyst with **** (encoded ****) failed"
    assert scrub("postponed: the pipeline stopped", channel) == "postponed: the pipeline stopped", "no 'p' masked"


# -- 6. feeds add keeps the file's mode and owner, and edits the target of a symlink ---------------------------

def test_feeds_add_keeps_mode_and_follows_a_symlink(tmp_path):
    real_dir = tmp_path / "etc"
    real_dir.mkdir()
    real = real_dir / "newswatch.toml"
    real.write_text('# my settings\n[web]\ntoken = "s3cret"\n')
    real.chmod(0o600)
    if os.getuid() == 0:
        os.chown(real, 4321, 4321)
    link = tmp_path / "newswatch.toml"
    link.symlink_to(real)
    result = cli("feeds", "add", "https://news.example/rss", "--config", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real
    assert "https://news.example/rss" in real.read_text() and real.read_text().startswith("# my settings")
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    if os.getuid() == 0:
        assert (real.stat().st_uid, real.stat().st_gid) == (4321, 4321)
    assert sorted(p.name for p in real_dir.iterdir()) == ["newswatch.toml"], "no temporary file left behind"
    removed = cli("feeds", "remove", "https://news.example/rss", "--config", str(link))
    assert removed.exit_code == 0 and link.is_symlink() and "news.example" not in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


# -- 7. a feed server cannot write to the analyst's terminal -------------------------------------------------

@pytest.fixture
def hostile_reason_server():
    """Answers every request with a 503 whose reason phrase sets the terminal's title and rings its bell."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 503 \x1b]0;PWNED\x07\x1b[2JGone \x9b31m\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_escape_codes_from_a_server_never_reach_the_terminal(data_dir, seed_models, tmp_path, hostile_reason_server):
    shutil.copytree(seed_models, data_dir / "models")
    config = tmp_path / "newswatch.toml"
    config.write_text(f'allow_private_addresses = true\n[[feeds]]\nurl = "{hostile_reason_server}"\nname = "Evil"\n')
    ran = cli("run", "--config", str(config))
    assert ran.exit_code == 1 and "HTTP 503" in ran.output and "Gone" in ran.output, ran.output
    status = cli("feeds", "status", "--config", str(config))
    assert "HTTP 503" in status.output and "Gone" in status.output, status.output
    for output in (ran.output, status.output):
        assert not any(code in output for code in ESCAPES), repr(output)


# -- 8. NAT64 and other IPv6 forms of a private IPv4 address are private --------------------------------------

@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[64:ff9b::a00:1]", "[64:ff9b:1::c0a8:101]",
                                  "[2002:a00:1::1]", "[::ffff:10.0.0.1]"])
def test_ipv6_embeddings_of_private_ipv4_are_refused(host):
    from newswatch.config import FetchSettings
    from newswatch.fetch import new_session

    settings = FetchSettings(deadline=2)
    result = fetch_url(new_session(settings), f"http://{host}/feed.xml", settings, allow_private=False)
    assert result.error and "non-public address" in result.error, result.error


# -- 9. labels import streams: batches are stored as the file is read, all or nothing ----------------------

def test_labels_import_streams_in_one_transaction(database_url):
    import sqlalchemy as sa

    records = [json.dumps({"id": f"i{n}", "title": f"item {n}", "topics": []}) + "\n" for n in range(LABEL_BATCH + 10)]
    read = 0
    read_at_insert: list[int] = []

    def lines(extra: list[str]):
        nonlocal read
        for line in records + extra:
            read += 1
            yield line

    with Store.open(database_url) as store:
        @sa.event.listens_for(store.engine, "before_cursor_execute")
        def seen(conn, cursor, statement, *args):
            if statement.startswith("INSERT INTO labels"):
                read_at_insert.append(read)

        with pytest.raises(Exception, match=r"bad\.jsonl:\d+: not valid JSON"):
            import_labels(store, lines(['{"title": "broken"\n']), "bad.jsonl", "ana", NOW, NAMES)
        assert store.latest_labels() == [], "a bad line further on rolls every batch back"
        assert read_at_insert and read_at_insert[0] < len(records), "the first batch went in before the file was read"
        read_at_insert.clear()
        read = 0
        report = import_labels(store, lines([]), "good.jsonl", "ana", NOW, NAMES)
        assert (report.items, report.labels) == (len(records), 2 * len(records))
        assert len(store.latest_labels()) == 2 * len(records)


# -- 13.8: what a newcomer tripped over ---------------------------------------------------------------------------

def test_labels_import_says_it_counts_per_topic(data_dir, tmp_path):
    source = tmp_path / "labels.jsonl"
    source.write_text("".join(json.dumps({"title": f"item {n}", "topics": ["russia_dprk"]}) + "\n" for n in range(3)))
    result = cli("labels", "import", str(source))
    assert result.output.strip() == (f"{source}: 3 item(s), 6 label(s) added (one per topic and item; "
                                     "a repeated judgement adds none)")


def test_models_rollback_accepts_a_bare_number(data_dir, seed_models):
    shutil.copytree(seed_models, data_dir / "models")
    current = (data_dir / "models" / "CURRENT").read_text().strip()
    for given in (current[1:], current):
        result = cli("models", "rollback", given)
        assert result.exit_code == 0 and result.output.strip() == f"{current} is in service", result.output


def test_labels_export_into_head_ends_quietly(data_dir, tmp_path):
    source = tmp_path / "labels.jsonl"
    source.write_text("".join(json.dumps({"title": f"item {n} " + "x" * 200, "topics": []}) + "\n"
                              for n in range(3000)))
    assert cli("labels", "import", str(source)).exit_code == 0
    newswatch = Path(sys.executable).with_name("newswatch")
    piped = subprocess.run(f"'{newswatch}' labels export | head -n 1", shell=True, capture_output=True, text=True,
                           env={**os.environ, "NEWSWATCH_HOME": str(data_dir)}, timeout=120)
    assert piped.stdout.count("\n") == 1 and piped.stderr == "", piped.stderr


def test_digest_says_when_items_were_already_digested(web_home, webhook):
    config = web_home.data_dir / "newswatch.toml"
    config.write_text(f'[[channels]]\nname = "desk"\nurl = "{webhook.apprise_url()}"\n')
    env = {"NEWSWATCH_HOME": str(web_home.data_dir)}
    first = cli("digest", "--config", str(config), env=env)
    assert "== desk: owed" in first.output, first.output
    second = cli("digest", "--config", str(config), env=env)
    assert "== desk: nothing new since" in second.output and "were in an earlier digest" in second.output, second.output


@pytest.fixture
def web_home(seed_models, tmp_path):
    from web_data import build_home

    return build_home(tmp_path / "home", seed_models)


# -- 13.6: the CLI answers at once: --help and label import no heavy modules ----------------------------------

HEAVY = ("prefect", "sklearn", "numpy", "sqlalchemy", "apprise", "fastapi", "alembic", "feedparser", "requests")


def imported_by(args: list[str], home: Path) -> list[str]:
    code = ("import sys\nfrom newswatch.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (args, HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NEWSWATCH_HOME": str(home)})
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_help_imports_no_heavy_module(tmp_path):
    assert imported_by(["--help"], tmp_path) == []
    assert imported_by(["label", "--help"], tmp_path) == []


def test_label_imports_the_store_but_not_the_classifiers_or_prefect(tmp_path):
    assert set(imported_by(["label", "1", "russia_dprk", "yes"], tmp_path)) <= {"sqlalchemy", "alembic"}


def test_help_lists_the_plugin_command_with_its_summary(tmp_path):
    result = cli("--help")
    assert "serve" in result.output and "Run monitor, digest and retrain" in result.output
