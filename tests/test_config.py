import os

import pytest

from newswatch.config import ConfigError, load_settings
from shipped_topics import NAMES


def write(tmp_path, text):
    path = tmp_path / "newswatch.toml"
    path.write_text(text)
    return path


def test_defaults_ship_real_feeds(tmp_path):
    settings = load_settings(env={"NEWSWATCH_HOME": str(tmp_path)})
    assert len(settings.feeds) >= 10
    assert all(f.url.startswith("https://") for f in settings.feeds)
    assert settings.data_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'newswatch.db'}"
    assert settings.topic_names == NAMES


def test_full_config_with_secret_from_environment(tmp_path):
    path = write(tmp_path, """
        [[feeds]]
        url = "https://example.org/rss"
        name = "Example"
        tags = ["korea"]

        [topics.russia_dprk]
        threshold = 0.7

        [[channels]]
        name = "mail"
        url = "mailtos://analyst:${SMTP_PASSWORD}@mail.example.org"
        topics = ["alliance_drills"]
    """)
    settings = load_settings(path, env={"SMTP_PASSWORD": "hunter2", "NEWSWATCH_HOME": str(tmp_path)})
    assert settings.feeds[0].name == "Example" and settings.feeds[0].tags == ("korea",)
    assert settings.topics["russia_dprk"].threshold == 0.7
    assert settings.topics["alliance_drills"].threshold is None
    assert settings.channels[0].url == "mailtos://analyst:hunter2@mail.example.org"
    assert "hunter2" not in repr(settings.channels[0])


@pytest.mark.parametrize("text, message", [
    ('[[feeds]]\nname = "x"', "feeds[0].url: is required"),
    ('[[feeds]]\nurl = "ftp://x"', "feeds[0].url: only http(s)"),
    ('[[feeds]]\nurl = "https://"', "feeds[0].url: a feed URL needs a host name or address, got 'https://'"),
    ('[[feeds]]\nurl = "http://[::1/feed"', "feeds[0].url: not a valid address (Invalid IPv6 URL)"),
    ('[[feeds]]\nurl = "http://x.example:http/feed"', "feeds[0].url: not a valid address (Port could not be cast"),
    ('[[feeds]]\nurl = 5', "feeds[0].url: expected str, got int"),
    ('[topics.weather]\nthreshold = 0.5', "topics.weather: unknown topic"),
    ('[topics.russia_dprk]\nthreshold = 1.5', "topics.russia_dprk.threshold: must be between 0 and 1"),
    ('[[channels]]\nurl = "json://x"\ntopics = ["sports"]', "channels[0].topics: unknown topic 'sports'"),
    ('[[channels]]\nurl = "mailto://u:${NOPE}@h"', "channels[0].url: environment variable NOPE is not set"),
    ('[fetch]\nread_timeout = -1', "fetch.read_timeout: must be positive"),
    ('[fetch]\nparse_processes = -1', "fetch.parse_processes: must be 0 or more"),
    ('[digest]\ntimezone = "Mars/Olympus"', "digest.timezone: unknown time zone"),
    ('feeds = 3', "feeds: expected [[feeds]] tables"),
    ('colour = "red"', "colour: unknown key"),
    ('[[feeds]\nurl=', "not valid TOML"),
])
def test_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_feeds_are_parsed_in_one_process_per_core_unless_the_config_says_otherwise(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert load_settings(write(tmp_path, ""), env={}).fetch.parse_processes == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert load_settings(write(tmp_path, ""), env={}).fetch.parse_processes == 0
    assert load_settings(write(tmp_path, "[fetch]\nparse_processes = 3"), env={}).fetch.parse_processes == 3


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "absent.toml", env={})


# -- issue 12, point 1: a typo in any table is an error naming the file, the table, the key and the nearest key --

@pytest.mark.parametrize("text, where, key, nearest", [
    ('[[feeds]]\nurl = "https://example.org/rss"\nnmae = "x"', "[[feeds]]", "feeds[0].nmae", "name"),
    ('[fetch]\ndeadlin = 10', "[fetch]", "fetch.deadlin", "deadline"),
    ('[digest]\ntimezon = "UTC"', "[digest]", "digest.timezon", "timezone"),
    ('[topics.russia_dprk]\nthreshhold = 0.3', "[topics.russia_dprk]", "topics.russia_dprk.threshhold", "threshold"),
    ('[schedules.monitor]\nevery_ = 60', "[schedules.monitor]", "schedules.monitor.every_", "every"),
    ('[schedules.monitr]\nevery = 60', "[schedules]", "schedules.monitr", "monitor"),
    ('[web]\nbase_ur = "https://x.org"', "[web]", "web.base_ur", "base_url"),
    ('[training]\nfold = 3', "[training]", "training.fold", "folds"),
    ('[[channels]]\nurl = "json://x"\ntopic = ["russia_dprk"]', "[[channels]]", "channels[0].topic", "topics"),
    ('databse_url = "sqlite://"', "the top level", "databse_url", "database_url"),
])
def test_unknown_keys_are_refused_in_every_table_with_the_nearest_key(tmp_path, text, where, key, nearest):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    message = str(error.value)
    assert message.startswith(f"{path}: {key}: unknown key"), message
    assert f"in {where}; did you mean `{nearest}`?" in message


def test_a_config_that_is_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "newswatch.toml"
    path.write_bytes(b'data_dir = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=rf"{path}: not UTF-8 text \(byte 15: 0xe9\)"):
        load_settings(path, env={})


def test_config_check_validates_without_running(tmp_path):
    from click.testing import CliRunner

    from newswatch.cli import main

    good = write(tmp_path, '[[feeds]]\nurl = "https://example.org/rss"\n')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(good)], env={"NEWSWATCH_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0 and "ok (1 feed, 0 channels, data in" in result.output
    assert not (tmp_path / "home").exists(), "nothing created, nothing run"
    bad = tmp_path / "bad.toml"
    bad.write_text('[fetch]\ndeadlin = 10\n')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"Error: {bad}: fetch.deadlin: unknown key 'deadlin' in [fetch]; did you mean "
                                     "`deadline`? (known: backoff_base, backoff_max, connect_timeout, deadline, "
                                     "max_bytes, max_poll, max_redirects, max_workers, min_poll, parse_processes, per_host, "
                                     "per_host_per_hour, read_timeout, unhealthy_after, user_agent)")
    for url in ("mailto://", "https://hooks.example.org/x", "json://user:pa55word-long@"):  # apprise can use none
        unusable = write(tmp_path, f'[[feeds]]\nurl = "https://example.org/rss"\n[[channels]]\nurl = "{url}"\n')
        result = CliRunner().invoke(main, ["config", "check", "--config", str(unusable)])
        scheme = url.partition("://")[0]
        assert result.exit_code == 2 and f"channels[0].url: apprise cannot send to this {scheme}:// URL" in result.output
        assert "pa55word-long" not in result.output


@pytest.mark.parametrize("args, env", [
    (["--config", "{good}", "config", "check"], {}),
    (["-c", "{good}", "config", "check"], {"NEWSWATCH_CONFIG": "{bad}"}),  # said on the command line: it wins
    (["config", "check", "--config", "{good}"], {"NEWSWATCH_CONFIG": "{bad}"}),
    (["--config", "{bad}", "config", "check", "--config", "{good}"], {}),  # the command's own is nearer
    (["config", "check"], {"NEWSWATCH_CONFIG": "{good}"}),
    (["-c", "{good}", "outbox"], {}),
])
def test_the_config_file_can_be_given_before_or_after_the_command(tmp_path, args, env):
    from click.testing import CliRunner

    from newswatch.cli import main

    paths = {"good": write(tmp_path, f'database_url = "sqlite:///{tmp_path}/x.db"\n'), "bad": tmp_path / "absent.toml"}
    result = CliRunner().invoke(main, [a.format(**paths) for a in args],
                                env={"NEWSWATCH_HOME": str(tmp_path / "home")} | {k: v.format(**paths) for k, v in env.items()})
    assert result.exit_code == 0, result.output
