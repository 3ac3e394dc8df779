"""Outbound delivery over STARTTLS and implicit TLS (SMTPS) with AUTH, against a
real aiosmtpd server whose certificate comes from a test CA (trustme)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import ssl
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from app.config import SmtpConfig, load_config, parse_config
from app.errors import ConfigError
from app.mail.outbox import backoff, deliver
from mail_helpers import CONFIG, NOW, new_desk
from models import Ticket, TicketEvent
from test_mail_outbox import Handler, free_port, outbound, queue_question

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "desk", "s3cret pass"


class Logins:
    """aiosmtpd authenticator: accepts USER/PASSWORD, remembers every try."""

    def __init__(self) -> None:
        self.tries: list[tuple[str, str, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        self.tries.append((mechanism, auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "", ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


class TlsHandler(Handler):
    """Handler that also notes whether each accepted message came over TLS."""

    def __init__(self) -> None:
        super().__init__()
        self.tls: list[str | None] = []

    async def handle_DATA(self, server, session, envelope):
        ssl_object = server.transport.get_extra_info("ssl_object")
        self.tls.append(ssl_object.version() if ssl_object else None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1",))).configure_cert(ctx)
    return ctx


@pytest.fixture()
def server():
    """start(mode, server_ctx) -> (handler, logins, port); mode starttls or ssl."""
    running = []

    def start(mode: str, ctx: ssl.SSLContext):
        handler, logins, port = TlsHandler(), Logins(), free_port()
        if mode == "starttls":
            c = Controller(
                handler,
                hostname="127.0.0.1",
                port=port,
                tls_context=ctx,
                require_starttls=True,
                authenticator=logins,
                auth_require_tls=True,
            )
        else:  # aiosmtpd 1.4 only counts STARTTLS for auth_require_tls; this whole connection is TLS
            c = Controller(
                handler, hostname="127.0.0.1", port=port, ssl_context=ctx, authenticator=logins, auth_require_tls=False
            )
        c.start()
        running.append(c)
        return handler, logins, port

    yield start
    for c in running:
        c.stop()


def smtp_config(port: int, tls: str, ca_file: Path | None, password: str = PASSWORD):
    return replace(
        CONFIG,
        smtp=SmtpConfig(
            host="127.0.0.1",
            port=port,
            tls=tls,
            username=USER,
            password=password,
            timeout=5,
            max_attempts=3,
            ca_file=str(ca_file) if ca_file else None,
        ),
    )


@pytest.fixture()
def desk(tmp_path):
    d = new_desk(tmp_path)
    yield d
    d.dispose()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_with_login_delivers(desk, tmp_path, server, ca, ca_file, mode):
    handler, logins, port = server(mode, server_context(ca))
    (ref,) = queue_question(desk, tmp_path)
    s = deliver(desk, smtp_config(port, mode, ca_file), now=NOW)
    assert [(i.result, i.error) for i in s.items] == [("sent", None)]
    assert [ok for _, login, ok in logins.tries] == [True] and logins.tries[0][1] == USER
    ((_mail_from, rcpt, data),) = handler.accepted
    assert handler.tls[0] in ("TLSv1.2", "TLSv1.3")  # the message itself travelled encrypted
    assert rcpt == ["payer0@example.com"]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert ref in msg["Subject"] and msg["X-Esimdesk-Ticket"] == ref
    (row,) = outbound(desk)
    assert (row.delivery, row.attempts, row.last_error, row.sent_at) == ("sent", 1, None, NOW)


def test_several_messages_share_one_tls_session(desk, tmp_path, server, ca, ca_file):
    handler, logins, port = server("starttls", server_context(ca))
    queue_question(desk, tmp_path, n=3)
    s = deliver(desk, smtp_config(port, "starttls", ca_file), now=NOW)
    assert [i.result for i in s.items] == ["sent"] * 3 and len(handler.accepted) == 3
    assert len(logins.tries) == 1  # one connection, one login


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_wrong_password_is_not_sent_and_recorded(desk, tmp_path, server, ca, ca_file, mode):
    handler, logins, port = server(mode, server_context(ca))
    queue_question(desk, tmp_path, n=2)
    s = deliver(desk, smtp_config(port, mode, ca_file, password="wrong"), now=NOW)
    # the login problem stops the batch: only the first message spends an attempt
    assert [i.result for i in s.items] == ["retry"]
    assert handler.accepted == [] and logins.tries and not any(ok for *_, ok in logins.tries)
    first, second = outbound(desk)
    assert first.delivery == "queued" and first.attempts == 1 and first.next_attempt_at == NOW + backoff(1)
    assert "login refused (535)" in first.last_error and "username/password" in first.last_error
    assert "wrong" not in first.last_error  # the password never lands in the database
    assert (second.attempts, second.last_error) == (0, None)


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_untrusted_certificate_is_not_sent_and_recorded(desk, tmp_path, server, ca, mode):
    other_ca = trustme.CA()  # the server's certificate comes from a CA the client does not know
    other_file = tmp_path / "other.pem"
    handler, logins, port = server(mode, server_context(ca))
    other_ca.cert_pem.write_to_path(str(other_file))
    queue_question(desk, tmp_path)
    for cfg_ca in (None, other_file):  # system CAs, and a ca_file that is the wrong one
        s = deliver(desk, smtp_config(port, mode, cfg_ca), now=NOW + timedelta(days=1 if cfg_ca else 0))
        assert [i.result for i in s.items] == ["retry"]
        assert "certificate verification failed" in s.items[0].error
    assert handler.accepted == [] and logins.tries == []  # the password was never offered
    (row,) = outbound(desk)
    assert row.delivery == "queued" and row.attempts == 2
    assert row.last_error.startswith(f"TLS certificate verification failed for SMTP server 127.0.0.1:{port}")
    assert "ca_file" in row.last_error and "\n" not in row.last_error


def test_certificate_for_another_host_is_refused(desk, tmp_path, server, ca, ca_file):
    handler, _, port = server("ssl", server_context(ca, "mail.example.com"))
    queue_question(desk, tmp_path)
    s = deliver(desk, smtp_config(port, "ssl", ca_file), now=NOW)
    assert [i.result for i in s.items] == ["retry"] and handler.accepted == []
    assert "certificate verification failed" in s.items[0].error and "127.0.0.1" in s.items[0].error


def test_verification_failure_gives_up_after_max_attempts_on_the_ticket(desk, tmp_path, server, ca):
    _, _, port = server("starttls", server_context(ca))
    (ref,) = queue_question(desk, tmp_path)
    cfg, now, results = smtp_config(port, "starttls", None), NOW, []
    for _ in range(3):
        results += [i.result for i in deliver(desk, cfg, now=now).items]
        now += timedelta(hours=7)
    assert results == ["retry", "retry", "failed"]
    (row,) = outbound(desk)
    assert (
        row.delivery == "failed" and "gave up after 3 attempts: TLS certificate verification failed" in row.last_error
    )
    with desk.session() as sess:
        t = sess.scalars(select(Ticket).where(Ticket.reference == ref)).one()
        ev = sess.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "delivery_failed")
        ).one()
    assert "certificate verification failed" in ev.detail


def test_tls_mode_that_does_not_match_the_port_is_a_clear_failure(desk, tmp_path, server, ca, ca_file):
    _, _, smtps_port = server("ssl", server_context(ca))
    handler, _, submission_port = server("starttls", server_context(ca))
    queue_question(desk, tmp_path)
    # implicit TLS against a STARTTLS port: the handshake fails at once
    s = deliver(desk, smtp_config(submission_port, "ssl", ca_file), now=NOW)
    assert [i.result for i in s.items] == ["retry"]
    assert s.items[0].error.startswith(f"TLS handshake with SMTP server 127.0.0.1:{submission_port} failed")
    assert "check [smtp] tls = 'ssl' and port" in s.items[0].error
    # STARTTLS against an implicit-TLS port: no greeting arrives, the timeout says so
    cfg = smtp_config(smtps_port, "starttls", ca_file)
    s = deliver(desk, replace(cfg, smtp=replace(cfg.smtp, timeout=1)), now=NOW + timedelta(days=1))
    assert [i.result for i in s.items] == ["retry"] and f"127.0.0.1:{smtps_port}" in s.items[0].error
    assert handler.accepted == []


# -- configuration -----------------------------------------------------------------
def test_ca_file_is_read_and_checked(tmp_path, ca_file):
    assert parse_config({"smtp": {"tls": "ssl", "ca_file": str(ca_file)}}).smtp.ca_file == str(ca_file)
    assert parse_config({}).smtp.ca_file is None
    cfg = tmp_path / "config.toml"
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(ca_file.read_bytes())
    cfg.write_text('[smtp]\nhost = "mail"\ntls = "starttls"\nca_file = "certs/ca.pem"\n')
    assert load_config(cfg).smtp.ca_file == str(tmp_path / "certs" / "ca.pem")  # relative to the config file


@pytest.mark.parametrize(
    "value, tls, expect",
    [
        ("/nonexistent/relay-ca.pem", "starttls", "smtp.ca_file /nonexistent/relay-ca.pem does not exist"),
        ("DIR", "ssl", "does not exist or is not a file"),
        ("JUNK", "ssl", "is not a readable PEM bundle of CA certificates"),
        ("OK", "none", "smtp.ca_file is set but smtp.tls is none"),
        ("", "ssl", "smtp.ca_file is empty"),
        (7, "ssl", "smtp.ca_file must be str"),
    ],
)
def test_bad_ca_file_is_a_config_error(tmp_path, ca_file, value, tls, expect):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    value = {"DIR": str(tmp_path), "JUNK": str(junk), "OK": str(ca_file)}.get(value, value)
    with pytest.raises(ConfigError) as err:
        parse_config({"smtp": {"tls": tls, "ca_file": value}})
    assert expect in str(err.value) and "\n" not in str(err.value)


# -- through the CLI -----------------------------------------------------------------
def esimdesk(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "config.toml").write_text(config)
    env = dict(os.environ, ESIMDESK_CONFIG=str(tmp_path / "config.toml"), PYTHONPATH=str(ROOT))
    env.pop("ESIMDESK_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", "--db", f"sqlite:///{tmp_path / 'desk.sqlite'}", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_missing_ca_file_exits_2_with_one_line(tmp_path):
    r = esimdesk(
        tmp_path, '[smtp]\nhost = "127.0.0.1"\ntls = "ssl"\nca_file = "/nonexistent/ca.pem"\n', "outbox", "send"
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "smtp.ca_file /nonexistent/ca.pem does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_send_over_starttls_then_untrusted_certificate(desk, tmp_path, server, ca, ca_file):
    _, _, good_port = server("starttls", server_context(ca))
    _, _, bad_port = server("ssl", server_context(trustme.CA()))
    queue_question(desk, tmp_path, n=2)
    base = f'[smtp]\nhost = "127.0.0.1"\nusername = "{USER}"\npassword = "{PASSWORD}"\ntimeout = 5\nca_file = "{ca_file}"\n'
    bad = esimdesk(tmp_path, base + f'tls = "ssl"\nport = {bad_port}\n', "outbox", "send")
    assert bad.returncode == 0 and "Traceback" not in bad.stderr
    out = json.loads(bad.stdout)
    assert (out["attempted"], out["retry"], out["sent"]) == (1, 1, 0)
    assert "certificate verification failed" in out["items"][0]["error"]
    listed = json.loads(esimdesk(tmp_path, base + 'tls = "ssl"\n', "outbox", "list").stdout)["messages"]
    assert "certificate verification failed" in listed[0]["last_error"]
    good = esimdesk(tmp_path, base + f'tls = "starttls"\nport = {good_port}\n', "outbox", "send")
    # the message that failed waits for its backoff; the other one goes out
    assert good.returncode == 0 and json.loads(good.stdout)["sent"] == 1
