"""The config schema is one table: every section refuses unknown keys, every
number is finite and bounded, and DeskConfig.setting reads any value."""

from __future__ import annotations

import math

import pytest

from app.config import SCHEMA, DeskConfig, parse_config
from app.errors import ConfigError


@pytest.mark.parametrize("section", sorted(s for s, keys in SCHEMA.items() if keys))
def test_every_section_refuses_an_unknown_key(section):
    with pytest.raises(ConfigError, match=f"unknown key {section}.no_such_key"):
        parse_config({section: {"no_such_key": 1}})


NUMBERS = [
    (s, k) for s, keys in SCHEMA.items() for k, v in keys.items() if v.kind in (int, float) or v.kind == (int, float)
]


@pytest.mark.parametrize("section, key", NUMBERS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1, 0, 10**15])
def test_every_number_is_finite_and_bounded(section, key, bad):
    if isinstance(bad, float) and SCHEMA[section][key].kind is int:
        bad = int(bad) if math.isfinite(bad) else bad
    if bad == 0 and (section, key) in ZERO_TURNS_OFF:
        parse_config({section: {key: bad}})  # a documented "off", not an error
        return
    with pytest.raises(ConfigError, match=f"{section}.{key}"):
        parse_config({section: {key: bad}})


# where 0 is a setting of its own: no hold, no automatic mail, never reopen, no files out, always look up
ZERO_TURNS_OFF = {
    ("outbox", "hold_seconds"),
    ("mail", "auto_replies_per_day"),
    ("mail", "reopen_days"),
    ("mail", "max_attachment_bytes"),
    ("orders", "max_age_minutes"),
}


def test_defaults_are_readable_from_any_config():
    assert DeskConfig().setting("serve", "max_sessions") == 8
    assert parse_config({"serve": {"max_sessions": 3}}).setting("serve", "max_sessions") == 3
    assert parse_config({}).setting("database", "lock_timeout_seconds") == 5.0
    assert parse_config({"service": {"accounts": ["esimdesk-mail"]}}).setting("service", "accounts") == [
        "esimdesk-mail"
    ]


def test_a_config_file_named_on_the_command_line_that_is_missing_is_one_plain_line(tmp_path, capsys, monkeypatch):
    from app.cli.main import main

    monkeypatch.delenv("ESIMDESK_CONFIG", raising=False)
    missing = tmp_path / "nowhere.toml"
    assert main(["--config", str(missing), "--db", f"sqlite:///{tmp_path / 'd.sqlite'}", "staff", "list"]) == 2
    err = capsys.readouterr().err
    assert err == f"esimdesk: config file {missing} does not exist\n"
