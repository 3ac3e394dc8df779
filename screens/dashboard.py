"""The supervisors' wall display: SLA health at a glance, no customer data.

Read-only. Figures come from app.dashboard_data.snapshot() in a thread worker
every `refresh_seconds`; when the database is unreachable the last figures stay
up with "STALE since HH:MM" and the next successful refresh clears it.

The layout follows the screen's size classes (breakpoints): `-narrow` (under
120 columns: four tiles, the rest as one line, no agent table), `-medium`
and `-wide` (all nine tiles, wider tables); `-tall`/`-huge` make the trend
sparklines taller.

The hosting App must expose `.desk` (app.db.Desk), `.actor` (app.identity.Actor),
`.config` (DeskConfig) and `.now` (a callable returning an aware datetime).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from app.clocks import short_words
from app.dashboard_data import DashboardData, DeadlineRow, PeriodCache, Share, snapshot
from app.failures import one_line
from app.screen_context import UsesContext
from widgets.key_footer import KeyFooter
from widgets.tiles import NumberTile

CLOCK_LABEL = {
    "acknowledgment": "ack",
    "resolution": "resolution",
    "final_response": "final resp.",
    "refund_review": "review",
    "refund_initiation": "refund start",
    "refund_ack": "refund ack",
    "refund_decision": "decision",
    "refund_in_account": "in account",
}
NARROW_CLOCK = {
    "acknowledgment": "ack",
    "resolution": "res.",
    "final_response": "final",
    "refund_review": "review",
    "refund_initiation": "start",
    "refund_ack": "ack",
    "refund_decision": "decision",
    "refund_in_account": "account",
}
CORE_TILES = ("breached_now", "at_risk", "acks_due_today", "open_complaints")
TILE_ORDER = CORE_TILES + (
    "escalations_awaiting_senior",
    "refunds_awaiting_decision",
    "refunds_processing",
    "undelivered_mail",
    "quarantined_mail",
)
WIDE_TILES = ("open_total", "extended_open", "closed_today")  # only on wall-size screens
WIDE_LABELS = {"open_total": "Open tickets", "extended_open": "Extended (open)", "closed_today": "Closed today"}
SHORT_LABELS = {  # the one-line summary of the tiles a narrow screen leaves out
    "escalations_awaiting_senior": "No senior",
    "refunds_awaiting_decision": "To decide",
    "refunds_processing": "Processing",
    "undelivered_mail": "Undelivered",
    "quarantined_mail": "Quarantined",
}
SHORT_CLOCK = {
    "acknowledgment": "Ack",
    "resolution": "Resolution",
    "resolution_extended": "Res. extended",
    "final_response": "Esc. final",
    "refund_review": "Refund review",
}


def _pct_text(share: Share, with_counts: bool) -> Text:
    pct = share.percent
    if pct is None:
        return Text("—", style="dim")
    style = "bold green" if pct >= 95 else ("bold yellow" if pct >= 80 else "bold red")
    out = Text(f"{pct:.0f}%", style=style)
    if with_counts:
        out.append(f" {share.met}/{share.total}", style="dim")
    return out


class FigurePanel(Widget):
    """A panel drawn from the screen's current figures at its own size, so
    it redraws itself correctly whenever the layout changes."""

    DEFAULT_CSS = "FigurePanel { height: auto; }"

    def __init__(self, make: Callable[[DashboardData, int, int], RenderableType], id: str) -> None:
        super().__init__(id=id)
        self._make = make

    def render(self) -> RenderableType:
        data = getattr(self.screen, "data", None)
        if data is None:
            return Text("")
        return self._make(data, self.size.width, self.size.height)


class DashboardScreen(UsesContext, Screen):
    """The wall display (read-only: no binding here changes data)."""

    CSS_PATH = ["dashboard.tcss", "../widgets/tiles.tcss"]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-medium"), (220, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall"), (65, "-huge")]
    BINDINGS = [
        Binding("r", "refresh_now", "Refresh now"),
        Binding("escape", "leave", "Back"),
    ]

    def __init__(self, kiosk: bool = False, refresh_seconds: float | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        self.kiosk = kiosk
        self._refresh_seconds = refresh_seconds
        self.data: DashboardData | None = None
        self.stale_since: datetime | None = None  # the last good figures' instant, while stale
        self.stale_reason: str | None = None
        self.failures = 0
        self.refreshes = 0
        self.period_cache = PeriodCache(PERIOD_MAX_AGE)

    # -- layout -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="dash-top"):
            yield Static("eSIM desk · SLA health", id="dash-title")
            yield Static("loading…", id="dash-status")
        with Container(id="tiles"):
            for key in TILE_ORDER:
                yield NumberTile(
                    self._label(key),
                    None,
                    alarm=key in self._alarms(),
                    id=f"tile-{key}",
                    classes="tile-core" if key in CORE_TILES else "tile-extra",
                )
            for key in WIDE_TILES:
                yield NumberTile(WIDE_LABELS[key], None, id=f"tile-{key}", classes="tile-extra tile-wide")
        yield Static("", id="tile-summary")
        with Horizontal(id="body"):
            with Vertical(id="col-left"):
                yield FigurePanel(self._compliance_table, id="compliance")
                yield FigurePanel(self._agents_table, id="agents")
            yield FigurePanel(self._needs_table, id="needs")
        with Vertical(id="trends"):
            for key, label in (("received", "Received"), ("closed", "Closed"), ("breaches", "Breaches")):
                with Horizontal(classes="trend-row", id=f"trend-{key}"):
                    yield Static(label, classes="trend-label")
                    yield Sparkline([], id=f"spark-{key}", classes=f"spark spark-{key}")
                    yield Static("", classes="trend-sum", id=f"sum-{key}")
            with Horizontal(id="trend-axis"):
                yield Static("", classes="trend-label")
                yield FigurePanel(self._axis, id="axis")
                yield Static("", classes="trend-sum")
        if not self.kiosk:
            yield KeyFooter()

    @staticmethod
    def _label(key: str) -> str:
        from app.dashboard_data import TILE_LABELS

        return TILE_LABELS[key]

    @staticmethod
    def _alarms() -> frozenset[str]:
        from app.dashboard_data import ALARM_TILES

        return ALARM_TILES

    def on_mount(self) -> None:
        self.query_one("#compliance").border_title = "SLA compliance"
        self.query_one("#needs").border_title = "Needs a person now"
        self.query_one("#agents").border_title = "Agent load"
        self.query_one("#trends").border_title = "Last 30 days"
        actor = self.ctx.actor
        if not actor.can("dashboard"):
            who = f"{actor.login} ({actor.role})" if actor else "nobody"
            self.query_one("#dash-status", Static).update(Text(f"{who} may not view the dashboard", style="bold red"))
            return
        self._cal = self.ctx.calendar
        self._share = self.ctx.config.at_risk_share
        seconds = self._refresh_seconds or self.ctx.config.dashboard_refresh_seconds
        self.refresh_figures()
        self.set_interval(seconds, self.refresh_figures, name="dashboard-refresh")

    # -- loading (worker thread) --------------------------------------------
    @work(thread=True, exclusive=True, group="dashboard-refresh", exit_on_error=False)
    def refresh_figures(self) -> None:
        """Read the figures off the event loop; never raises into the app."""
        try:
            now = self.ctx.now()
            data = self.ctx.desk.read(snapshot, now, self._cal, self._share, cache=self.period_cache)
        except Exception as exc:  # noqa: BLE001 - any database failure means "stale"
            self._post(self._mark_stale, one_line(exc, self.ctx.desk.url))
            return
        self._post(self._show, data)

    def _post(self, fn, arg) -> None:
        try:
            self.app.call_from_thread(fn, arg)
        except RuntimeError:  # the app is shutting down
            pass

    def action_refresh_now(self) -> None:
        self.period_cache.clear()
        self.refresh_figures()

    def action_leave(self) -> None:
        if self.ctx.wall:
            self.app.exit()
        else:
            self.dismiss()

    # -- showing --------------------------------------------------------------
    def _mark_stale(self, reason: str) -> None:
        self.failures += 1
        self.stale_reason = reason
        if self.data is not None:
            self.stale_since = self.data.now
        self._render_status()

    def _show(self, data: DashboardData) -> None:
        self.data = data
        self.refreshes += 1
        self.stale_since = None
        self.stale_reason = None
        self._render_status()
        self._render_all()

    def _local(self, dt: datetime, fmt: str) -> str:
        return dt.astimezone(self._cal.tz).strftime(fmt)

    def _render_status(self) -> None:
        status = self.query_one("#dash-status", Static)
        if self.stale_reason is not None:
            status.add_class("-stale")
            if self.stale_since is not None:
                msg = f" STALE since {self._local(self.stale_since, '%H:%M')} — {self.stale_reason} "
            else:
                msg = f" no figures yet — {self.stale_reason} "
            status.update(Text(msg))
            return
        status.remove_class("-stale")
        if self.data is not None:
            status.update(
                Text(f"{self._local(self.data.now, '%a %d %b %Y')} · updated {self._local(self.data.now, '%H:%M:%S')} ")
            )

    def on_resize(self) -> None:
        if self.data is not None:  # size classes may have changed: labels and columns follow
            self.call_after_refresh(self._render_all)

    def _mode(self) -> str:
        if self.has_class("-wide"):
            return "wide"
        return "medium" if self.has_class("-medium") else "narrow"

    def _render_all(self) -> None:
        data = self.data
        if data is None or not self.is_mounted:
            return
        mode = self._mode()
        values = {t.key: t.value for t in data.tiles()}
        values.update(
            open_total=data.open_total,
            extended_open=data.extended_open,
            closed_today=data.closed_per_day[-1] if data.closed_per_day else 0,
        )
        for key in TILE_ORDER + WIDE_TILES:
            self.query_one(f"#tile-{key}", NumberTile).set_value(values[key])
        self.query_one("#tile-open_complaints").border_title = (
            "Open compl." if mode == "narrow" else self._label("open_complaints")
        )
        extras = [t for t in data.tiles() if t.key not in CORE_TILES]
        summary = Text("")
        for i, t in enumerate(extras):
            if i:
                summary.append(" · ", style="dim")
            summary.append(f"{SHORT_LABELS.get(t.key, t.label)} ")
            summary.append(str(t.value), style="bold red" if (t.alarm and t.value) else "bold")
        self.query_one("#tile-summary", Static).update(summary)
        for panel in self.query(FigurePanel):
            panel.refresh(layout=True)
        for key, series in (
            ("received", data.received_per_day),
            ("closed", data.closed_per_day),
            ("breaches", data.breaches_per_day),
        ):
            self.query_one(f"#spark-{key}", Sparkline).data = [float(v) for v in series]
            self.query_one(f"#sum-{key}", Static).update(
                Text(f"today {series[-1] if series else 0} · 30d {sum(series)}")
            )

    def _axis(self, data: DashboardData, width: int, height: int) -> Text:
        """Dates under the sparklines: first day, a few in between, today."""
        days = data.trend_days
        if not days or width < 12:
            return Text("")
        line = [" "] * width
        marks = 7 if width >= 150 else (4 if width >= 70 else 2)
        for m in range(marks):
            i = round(m * (len(days) - 1) / (marks - 1))
            label = "today" if i == len(days) - 1 else days[i].strftime("%d %b")
            col = max(0, min(width - len(label), round(i * width / len(days))))
            if m == marks - 1:
                col = width - len(label)
            line[col : col + len(label)] = list(label)
        return Text("".join(line)[:width], style="dim")

    def _compliance_table(self, data: DashboardData, width: int, height: int) -> Table:
        mode = self._mode()
        counts = mode != "narrow"
        table = Table(box=None, expand=True, padding=(0, 1), show_edge=False, header_style="bold")
        table.add_column("clock", no_wrap=True)
        if mode == "wide":
            table.add_column("promise", no_wrap=True, style="dim")
        table.add_column("today", justify="right", no_wrap=True)
        table.add_column("week", justify="right", no_wrap=True)
        table.add_column("30 d", justify="right", no_wrap=True)
        for row in data.compliance:
            cells = [Text(SHORT_CLOCK.get(row.key, row.label) if mode == "narrow" else row.label)]
            if mode == "wide":
                cells.append(Text(row.promise))
            cells += [_pct_text(row.today, counts), _pct_text(row.week, counts), _pct_text(row.month, counts)]
            table.add_row(*cells)
        return table

    def _agents_table(self, data: DashboardData, width: int, height: int) -> Table:
        mode = self._mode()
        table = Table(box=None, expand=True, padding=(0, 1), show_edge=False, header_style="bold")
        table.add_column("agent", ratio=3, no_wrap=True)
        table.add_column("open", justify="right", ratio=1)
        table.add_column("at risk", justify="right", ratio=1)
        table.add_column("breached", justify="right", ratio=1)
        limit = max(1, height - 1) if height else 50
        rows = data.agents[:limit]
        for a in rows:
            who = a.name if a.login is None else (f"{a.login} · {a.name}" if mode == "wide" else a.login)
            table.add_row(
                Text(who, style="italic" if a.login is None else ""),
                Text(str(a.open)),
                Text(str(a.at_risk), style="bold yellow" if a.at_risk else "dim"),
                Text(str(a.breached), style="bold red" if a.breached else "dim"),
            )
        return table

    def _needs_table(self, data: DashboardData, width: int, height: int) -> Table:
        mode = self._mode()
        height = height or 40
        table = Table(box=None, expand=mode != "narrow", padding=(0, 1), show_edge=False, header_style="bold")
        table.add_column("left", no_wrap=True, min_width=8)
        table.add_column("reference", no_wrap=True, min_width=15)
        table.add_column("clock", no_wrap=True)
        if mode != "narrow":
            table.add_column("due", no_wrap=True, min_width=16)
            table.add_column("assignee", no_wrap=True)
        room = max(2, height - 1)  # minus the header row
        breached_total = data.breached_now
        upcoming = list(data.next_deadlines)
        # keep room for a few upcoming deadlines below the breached ones
        keep_upcoming = min(len(upcoming), max(0, min(NEXT_SHOWN_MIN, room // 3)))
        shown_breached = list(data.breached)[: max(0, room - keep_upcoming - (1 if breached_total else 0))]
        more = breached_total - len(shown_breached)
        for row in shown_breached:
            table.add_row(*self._deadline_cells(row, data.now, mode, breached=True))
        if more > 0:
            table.add_row(
                Text(f"+{more} more", style="bold red"),
                Text("breached", style="bold red"),
                Text(""),
                *([Text(""), Text("")] if mode != "narrow" else []),
            )
        left = room - len(shown_breached) - (1 if more > 0 else 0)
        for row in upcoming[: max(0, left)]:
            table.add_row(*self._deadline_cells(row, data.now, mode, breached=False))
        if not shown_breached and not upcoming:
            table.add_row(
                Text("nothing due", style="dim"),
                Text(""),
                Text(""),
                *([Text(""), Text("")] if mode != "narrow" else []),
            )
        return table

    def _deadline_cells(self, row: DeadlineRow, now: datetime, mode: str, breached: bool) -> list[Text]:
        cells = [
            Text(short_words(row.view(now)), style="bold red" if breached else "yellow"),
            Text(row.reference, style="bold" if breached else ""),
            Text(CLOCK_LABEL.get(row.clock, row.clock) if mode != "narrow" else NARROW_CLOCK.get(row.clock, row.clock)),
        ]
        if mode != "narrow":
            cells.append(Text(self._local(row.due, "%a %d %b %H:%M")))
            cells.append(Text(row.assignee or "—", style="" if row.assignee else "dim"))
        return cells


NEXT_SHOWN_MIN = 5  # upcoming deadlines kept in view even when many are breached
PERIOD_MAX_AGE = 60.0  # seconds the 30-day figures are reused between refreshes
