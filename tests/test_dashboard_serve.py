"""`esimdesk serve`: the wall display over HTTP on loopback (textual-serve),
and in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from app.db import open_desk
from models import Customer

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(demo_url, tmp_path):
    """`esimdesk serve` on a free loopback port, run as the demo's supervisor."""
    port = free_port()
    env = dict(os.environ)
    env.pop("ESIMDESK_DB", None)
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - the server writes to it until the fixture ends
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli.main", "--db", demo_url, "--as", "olivia", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        if proc.poll() is not None:
            pytest.fail("serve exited: " + (tmp_path / "serve.log").read_text())
        yield port, demo_url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def _receive(ws, until: str, timeout: float = 40.0) -> tuple[str, bool]:
    """What the served app draws on `ws` until `until` shows (or `timeout`),
    and whether the server closed the connection."""
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        if msg.type == aiohttp.WSMsgType.BINARY:
            out.append(msg.data.decode("utf-8", "replace"))
        elif msg.type == aiohttp.WSMsgType.TEXT:
            out.append(msg.data)
        else:
            return "".join(out), True
        if until in "".join(out):
            break
    return "".join(out), False


async def _ws_text(port: int, until: str, timeout: float = 40.0) -> str:
    """Connect like the page does and collect what the served app draws."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{port}/ws?width=160&height=50") as ws,
    ):
        return (await _receive(ws, until, timeout))[0]


async def test_serve_answers_on_loopback_and_runs_the_dashboard(served):
    port, demo_url = served
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as resp:
        assert resp.status == 200
        page = await resp.text()
    assert "esimdesk — wall display" in page
    assert "/ws" in page
    assert "sqlite" not in page  # the database URL stays out of the page
    # the served process really draws the dashboard (with figures: "updated")
    drawn = await _ws_text(port, "updated")
    assert "SLA health" in drawn and "updated" in drawn, drawn[-2000:]
    desk = open_desk(demo_url)
    with desk.reader() as s:
        emails = [e for (e,) in s.execute(select(Customer.email))]
    desk.dispose()
    assert not [e for e in emails if e in drawn]


@pytest.fixture
def one_viewer(tmp_path, monkeypatch):
    cfg = tmp_path / "one-viewer.toml"
    cfg.write_text("[serve]\nmax_sessions = 1\n")
    monkeypatch.setenv("ESIMDESK_CONFIG", str(cfg))


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(x) for x in fh.read().split()]


async def test_serve_starts_at_most_max_sessions_and_tells_the_next(one_viewer, served):
    """[serve] max_sessions = 1: the second browser is told why on its screen,
    closed (1013 try again later) and gets no process; after the first leaves,
    the next one is served."""
    port, _ = served
    url = f"http://127.0.0.1:{port}/ws?width=120&height=40"
    server_pid = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _serves(int(p), port))
    async with aiohttp.ClientSession() as session:
        first = await session.ws_connect(url)
        text, closed = await _receive(first, "SLA health")
        assert not closed and "SLA health" in text
        assert len(_children(server_pid)) == 1
        second = await session.ws_connect(url)
        text, closed = await _receive(second, "(never drawn)", timeout=10)
        assert closed and "max_sessions" in text and "already has 1 viewer" in text
        assert second.close_code == 1013
        assert len(_children(server_pid)) == 1  # no process for the refused browser
        await first.close()
        await asyncio.sleep(1.5)
        third = await session.ws_connect(url)
        text, closed = await _receive(third, "SLA health")
        assert not closed and "max_sessions" not in text
        await third.close()


def _serves(pid: int, port: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"serve\0--port\0" + str(port).encode() in fh.read()
    except OSError:
        return False


def test_serve_binds_loopback_by_default():
    from app.cli.main import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000


def test_serve_command_uses_this_interpreter():
    from app.cli.dashboard_cmd import serve_command
    from app.cli.main import build_parser

    args = build_parser().parse_args(["--as", "olivia", "serve", "--refresh", "2"])
    command, env = serve_command(args, "postgresql+psycopg://u:secret@db/desk")
    assert command.startswith(sys.executable + " -m app.cli.main")
    assert command.endswith("dashboard --kiosk --refresh 2.0")
    assert "secret" not in command and env["ESIMDESK_DB"].endswith("@db/desk")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.e2e
@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (apt-get install chromium)")
async def test_headless_chromium_shows_the_dashboard(served, tmp_path):
    """Drive chromium over the DevTools protocol: the page connects its
    websocket, the app's first bytes arrive, and a screenshot is taken."""
    port, _ = served
    debug_port = free_port()
    browser = subprocess.Popen(  # noqa: ASYNC220 - starting the browser does not wait on it
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--remote-debugging-port={debug_port}",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--window-size=1600,1000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with aiohttp.ClientSession() as session:
            targets = None
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{debug_port}/json/list") as r:
                        targets = [t for t in await r.json() if t.get("type") == "page"]
                        if targets:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            assert targets, "chromium's DevTools endpoint did not come up"
            async with session.ws_connect(targets[0]["webSocketDebuggerUrl"], max_msg_size=0) as cdp:
                ids = iter(range(1, 10_000))

                async def call(method: str, **params):
                    mid = next(ids)
                    await cdp.send_str(json.dumps({"id": mid, "method": method, "params": params}))
                    while True:
                        msg = json.loads((await cdp.receive(timeout=30)).data)
                        if msg.get("id") == mid:
                            return msg.get("result", {})

                await call("Page.enable")
                await call("Page.navigate", url=f"http://127.0.0.1:{port}/")
                first_byte = False
                for _ in range(150):
                    res = await call(
                        "Runtime.evaluate",
                        expression="document.body && document.body.classList.contains('-first-byte')",
                        returnByValue=True,
                    )
                    if res.get("result", {}).get("value") is True:
                        first_byte = True
                        break
                    await asyncio.sleep(0.2)
                assert first_byte, "the browser never received the app's output"
                await asyncio.sleep(3)  # let the first figures arrive and paint
                shot = await call("Page.captureScreenshot", format="png")
                png = base64.b64decode(shot["data"])
                assert png.startswith(b"\x89PNG") and len(png) > 20_000
                out = Path(os.environ.get("ESIMDESK_SHOTS", tmp_path)) / "dashboard-browser.png"
                out.write_bytes(png)
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
