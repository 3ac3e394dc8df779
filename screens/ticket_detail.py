"""Ticket detail: header with live clocks, customer and order, the region's
guidance, the timeline, and only the next legal actions (from the workflow's
`next_actions`). Every change goes through the workflow services in a worker;
their refusals become notifications, a stale edit names who changed the
ticket and reloads. Shows who else has the ticket open (presence)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from app import labels
from app.customer_story import story_lines
from app.failures import as_desk_error
from app.ticket_view import DetailData, evidence_lines, load_detail, read_detail  # noqa: F401 - the read model this screen shows
from app.untrusted import inert
from app.workflow import actions as ticket_actions
from app.workflow.actions import Prompt, TicketAction
from screens.service_worker import Outcome, ServiceCall, ServiceRunner
from widgets.kept_screen import KeptScreen, settle_before_push
from widgets.key_footer import KeyFooter
from widgets.section_text import SectionText
from widgets.ticket_header import TicketHeader
from widgets.timeline import Timeline


def action_bindings(table) -> list[Binding]:
    """A key per ticket action (its id is the `[keys]` id; footer, palette and help show its label)."""
    return [Binding(a.key, f"act('{a.id}')", a.label, id=a.id) for a in table]


def _back_to_prompt() -> None:
    """Back from a preview: the prompt under it is still open with its text."""


class TicketDetailScreen(ServiceRunner, KeptScreen):
    """One ticket, worked from the keyboard.

    The app keeps one instance for its life (installed, so popping it does not
    destroy it) and calls `show_ticket()` before each push: the widgets are
    updated in place, never composed again. Presence, heartbeat and the change
    poll follow the ticket shown and stop while the screen is off the stack."""

    CSS_PATH = "ticket_detail.tcss"
    KEY_BLOCKING_WORKERS = {"detail-action", "detail-load"}  # keys typed meanwhile wait for the result (console_keys)
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        *action_bindings(ticket_actions.TICKET_ACTIONS),
        Binding("u", "recall", "Take back mail still held", show=False, id="recall"),
        Binding("C", "open_related", "Open the complaint", id="open_related"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="reload"),
        *[
            Binding(str(n), f"open_linked({n})", f"Open linked item {n}", show=False, id=f"open_linked_{n}")
            for n in range(1, 10)
        ],
    ]

    class Loaded(Message):
        def __init__(self, data: DetailData | None, error: str | None = None, gen: int = 0) -> None:
            super().__init__()
            self.data, self.error, self.gen = data, error, gen

    class Presence(Message):
        def __init__(self, others: list[str], gen: int = 0) -> None:
            super().__init__()
            self.others, self.gen = others, gen

    class Moved(Message):
        def __init__(self, version: int, by: str | None, gen: int = 0) -> None:
            super().__init__()
            self.version, self.by, self.gen = version, by, gen

    def __init__(self, reference: str = "", data: DetailData | None = None) -> None:
        """`data`, when the opener already read it (app.open_ticket), is shown
        from the first frame; without it the screen reads it in a worker."""
        super().__init__()
        self.reference = reference
        self.data: DetailData | None = data
        self.busy = False
        self.title = reference
        self._others: list[str] = []
        self._ticks = 0
        self._gen = 0  # bumped per ticket shown: late worker results of an earlier one are dropped
        self._live: int | None = None  # the gen whose presence/poll is running, None while off the stack
        self._timer = None
        self._opened: int | None = None  # the gen whose timeline was last shown
        self._asking = None  # the prompt whose text run_service is saving (errors show in it)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.ctx.config.calendar.timezone)

    def compose(self) -> ComposeResult:
        yield TicketHeader(now=self.ctx.now, tz=self.tz, share=self.ctx.config.at_risk_share, id="detail-header")
        with Horizontal(id="detail-body"):
            yield Timeline(self.tz, id="detail-timeline")
            with VerticalScroll(id="detail-side"):
                yield SectionText("", id="detail-also", markup=False)
                yield SectionText("", id="detail-actions", markup=False)
                yield SectionText("", id="detail-related", markup=False)
                yield SectionText("", id="detail-story", markup=False)
                yield SectionText("", id="detail-evidence", markup=False)
                yield SectionText("", id="detail-customer", markup=False)
                yield SectionText("", id="detail-order", markup=False)
                yield SectionText("", id="detail-guidance", markup=False)
        yield KeyFooter()

    async def prepare_to_show(self) -> None:
        """Ready the kept screen, filled by show_ticket(), for its push: the
        footer's keys, and every changed widget's layout handed to the screen,
        so the frame that shows the ticket is the complete one (one frame, not two)."""
        self.query_one(KeyFooter).fit()  # its keys in the frame that shows the screen
        settle_before_push(self)

    def on_mount(self) -> None:
        self.query_one("#detail-also").display = False
        self._fill()
        # one 1 s timer for clocks, heartbeat and poll; paused while off the stack
        self._timer = self.set_interval(1.0, self._tick, pause=self._live is None)

    def show_ticket(self, reference: str, data: DetailData | None = None) -> None:
        """Make this screen show `reference` (before it is pushed, so nothing
        of the previous ticket is ever painted); without `data` it reads it."""
        self._gen += 1
        self.reference, self.data, self.title = reference, data, reference
        self.busy = False
        self._others = []
        if self.is_mounted:
            self.query_one("#detail-also").display = False
            self.query_one("#detail-side", VerticalScroll).scroll_home(animate=False, immediate=True)
            self._fill()

    def _fill(self) -> None:
        if self.data is None:
            self.query_one(TicketHeader).show_loading(self.reference)
            self.query_one(Timeline).show([], loading=True)
            for sid in (
                "#detail-actions",
                "#detail-related",
                "#detail-story",
                "#detail-evidence",
                "#detail-customer",
                "#detail-order",
                "#detail-guidance",
            ):
                self.query_one(sid).display = False
            self.refresh_bindings()
            self.load()
        else:
            self._show(self.data)

    # -- on and off the stack --------------------------------------------------------
    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # (no full restyle on an unchanged stylesheet: KeptScreen)
        if self._live != self._gen:  # newly shown (not back from a prompt above it)
            self._live = self._gen
            self._ticks = 0
            self.call_after_refresh(self._shown_first, self._gen)
            if self._timer is not None:
                self._timer.reset()
                self._timer.resume()

    def _shown_first(self, gen: int) -> None:
        """After the ticket's first frame (never before it): say one is here,
        and check that the ticket did not change since it was read (it may have
        been read ahead, screens.read_ahead)."""
        if self._live == gen == self._gen:
            self._heartbeat()
            self._poll()

    def on_screen_suspend(self) -> None:
        if self in self.app.screen_stack:
            return  # a prompt or wizard above it: the ticket is still being worked
        self._stop()

    def _stop(self) -> None:
        if self._live is None:
            return
        self._live = None
        if self._timer is not None:
            self._timer.pause()
        self.app.call_after_refresh(self._leave)  # the screen under it is painted first

    def _leave(self) -> None:
        app, login = self.app, self.ctx.actor.login

        def leave() -> None:
            from app.presence import heartbeat

            try:
                self.ctx.desk.write(heartbeat, app.session_id, login, None, self.ctx.now())
            except Exception:  # noqa: BLE001 - presence is best effort on the way out
                pass

        app.run_worker(leave, thread=True, group="presence-leave")

    def _tick(self) -> None:
        from app.presence import HEARTBEAT_EVERY_SECONDS

        if self._live is None:
            return
        self._ticks += 1
        self.query_one(TicketHeader).tick()
        if self._ticks % max(1, round(HEARTBEAT_EVERY_SECONDS)) == 0:
            self._heartbeat()
        self._poll()

    def on_unmount(self) -> None:
        if self._live is not None:
            self._live = None
            self._leave()

    # -- loading ---------------------------------------------------------------
    @work(thread=True, exclusive=True, group="detail-load")
    def load(self) -> None:
        gen = self._gen
        data, error = read_detail(self.ctx.desk, self.reference, self.ctx.actor, self.ctx.config)
        self.post_message(self.Loaded(data, error, gen))  # a refusal or a failed database is said in place

    def on_ticket_detail_screen_loaded(self, message: Loaded) -> None:
        if message.gen != self._gen:
            return  # read for a ticket no longer shown
        if message.data is None:
            self.notify(message.error or "cannot load the ticket", severity="error")
            if self.app.screen is self:
                self.app.pop_screen()
            return
        self.data = message.data
        self._show(message.data)
        if self._asking is not None:
            self._asking.reloaded()

    def _show(self, d: DetailData) -> None:
        """Fill the screen from `d`."""
        if d.ticket.reference != self.reference:  # a merged ticket's reference led here: work on this one
            if d.redirected_from and self._opened != self._gen:  # just opened by that reference (not our own merge)
                self.notify(
                    f"{d.redirected_from} was merged into {d.ticket.reference}: this is {d.ticket.reference}", timeout=4
                )
            self.reference = self.title = d.ticket.reference
        self.query_one(TicketHeader).show(d.ticket, customer=d.customer, assignee=d.assignee, reviewer=d.reviewer)
        fresh = self._opened != self._gen  # just opened: start at the customer's first message
        self._opened = self._gen
        self.query_one(Timeline).show(d.timeline, at_first_customer=fresh)
        acts = Text("Next steps\n", style="bold")
        if not d.actions:
            acts.append("none for you on this ticket\n")
        for name in d.actions:
            action = ticket_actions.BY_ID[name]
            acts.append(f" {self._key_of(name, action.key):>6} ", style="bold")
            acts.append(action.label + "\n")
        actions = self.query_one("#detail-actions", Static)
        actions.display = True
        actions.update(acts)
        self._section("#detail-related", "Related", d.related)
        self._section("#detail-story", "Linked · 1-9 opens", story_lines(d.story, self.tz))
        self._section("#detail-evidence", "Evidence", d.evidence_lines)
        self._section("#detail-customer", "Customer", d.customer_lines or ["—"])
        self._section("#detail-order", "Order", d.order_lines or ["no order on file"])
        self._section("#detail-guidance", "Regional guidance", [d.guidance] if d.guidance else [])
        self.refresh_bindings()

    def _key_of(self, action_id: str, default: str) -> str:
        keys = self.ctx.config.keys.get(action_id)
        return (keys or default).split(",")[0]

    def _section(self, selector: str, title: str, lines: list[str]) -> None:
        w = self.query_one(selector, Static)
        w.display = bool(lines)
        if lines:
            w.update(Text.assemble((title + "\n", "bold"), "\n".join(lines)))

    # -- presence and colleagues' changes ----------------------------------------
    @work(thread=True, exclusive=True, group="detail-presence")
    def _heartbeat(self) -> None:
        from app.presence import visit

        gen, data, ctx = self._gen, self.data, self.ctx
        ticket = self.reference if data is None else data.ticket.id
        others = visit(ctx.desk, self.app.session_id, ctx.actor.login, ctx.actor.id, ticket, ctx.now())
        if others is None:
            return
        self.post_message(self.Presence(others, gen))

    def on_ticket_detail_screen_presence(self, message: Presence) -> None:
        if message.gen != self._gen:
            return
        w = self.query_one("#detail-also", Static)
        if message.others == self._others:
            return  # unchanged: no relayout every heartbeat
        self._others = message.others
        w.display = bool(message.others)
        w.update(Text("also here: " + ", ".join(message.others), style="bold"))

    @work(thread=True, exclusive=True, group="detail-poll")
    def _poll(self) -> None:
        gen, data = self._gen, self.data
        if data is None or self.busy:
            return
        from app.tickets import version_of

        try:
            row = self.ctx.desk.read(version_of, data.ticket.id)
        except Exception:  # noqa: BLE001 - a missed poll: the next one, or the next save, says what is wrong
            return
        if row is not None and row[0] != data.ticket.version:
            self.post_message(self.Moved(row[0], row[1], gen))

    def on_ticket_detail_screen_moved(self, message: Moved) -> None:
        if message.gen != self._gen or self.data is None or message.version == self.data.ticket.version or self.busy:
            return
        if message.by and message.by != self.ctx.actor.login:
            self.notify(f"{self.reference} was just changed by {message.by}; reloaded", severity="warning")
        self.data.ticket.version = message.version
        self.load()

    # -- actions -------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            return self.data is not None and parameters and parameters[0] in self.data.actions
        if action == "open_linked":
            return (
                self.data is not None
                and self.data.story is not None
                and 0 < parameters[0] <= len(self.data.story.items)
            )
        if action == "open_related":
            return self.data is not None and self.data.related_reference is not None
        return True

    def on_key(self, event: events.Key) -> None:
        """A key whose action is not offered now says why, instead of doing nothing."""
        if self.data is None or self.app.screen is not self:
            return
        for action in ticket_actions.TICKET_ACTIONS:
            name = action.id
            if name in self.data.actions or event.key not in self._key_of(name, action.key).split(","):
                continue
            reason = self.data.why_not.get(name)
            if reason:
                event.stop()
                self.notify(f"{self._key_of(name, action.key)} {action.label}: {reason}", severity="warning", timeout=4)
            return

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()

    def action_open_linked(self, n: int) -> None:
        """Open item `n` of the Linked section: a ticket, or an order (its
        facts and the tickets about it, one of which opens)."""
        if self.data is None or self.data.story is None or not 0 < n <= len(self.data.story.items):
            return
        item = self.data.story.items[n - 1]
        if hasattr(item, "reference"):
            self.app.open_ticket(item.reference)
            return
        from app import labels
        from screens.choice_prompt import ChoicePrompt

        title = (
            f"{item.number} · {item.state} · {inert(item.plan, limit=40, single_line=True) or 'plan ?'} · "
            f"{item.amount} {item.currency} · bought {labels.local_day(item.purchased_at, self.tz)}"
        )
        options = [
            (
                t.reference,
                f"{t.reference} · {t.kind} · {labels.status(t.status)} · "
                f"{inert(t.subject, limit=48, single_line=True)}",
            )
            for t in item.tickets
        ]
        if not options:
            self.notify(f"{title}: no ticket about this order", timeout=6)
            return
        self.app.push_screen(ChoicePrompt(title, options), lambda ref: self.app.open_ticket(ref) if ref else None)

    def action_open_related(self) -> None:
        """From an escalation: open the complaint it escalates (escape comes back here)."""
        if self.data is not None and self.data.related_reference:
            self.app.open_ticket(self.data.related_reference)

    def _to_whom(self) -> str:
        d = self.data
        name = inert(d.customer, limit=60, single_line=True) if d and d.customer else ""
        return name or "the customer"

    def action_act(self, name: str) -> None:
        """Do action `name` of the table (app.workflow.actions): ask for its
        value with the prompt its kind names, preview the mail it would send or
        confirm a step that cannot be undone, then run its service."""
        if self.data is None or name not in self.data.actions:
            return
        action, d = ticket_actions.BY_ID[name], self.data
        t = d.ticket
        fields = {"ref": t.reference, "who": self._to_whom(), "status": labels.status(t.status)}
        if action.prompt is Prompt.SCREEN:
            getattr(self.app, f"open_{action.id}")(t.reference)
            return
        if not action.takes_value():
            self._decided(action, fields, (), edit=None)
            return
        options = action.options(d) if action.options is not None else []
        if action.prompt is Prompt.CHOICE and not options:
            self.notify(action.none_left.format(**fields), severity=action.none_left_severity)
            return

        def then(value: object) -> None:
            self._decided(
                action,
                {**fields, "value": str(value), "choice": dict(options).get(value, "")},
                (value,),
                edit=_back_to_prompt,
            )

        self._open_prompt(self._prompt_for(action, options), then, name)

    def _prompt_for(self, action: TicketAction, options: list[tuple[str, str]]) -> Screen:
        """The prompt `action.prompt` names (screens.prompts), for the ticket shown."""
        from screens.choice_prompt import ChoicePrompt
        from screens.prompts import ExtendPrompt, ReplyPrompt, TextPrompt

        d = self.data
        title = f"{d.ticket.reference}: {action.title}"
        if action.prompt is Prompt.CHOICE:
            return ChoicePrompt(title, options)
        if action.prompt is Prompt.EXTEND:
            return ExtendPrompt(title, labels.local_time(d.ticket.resolution_due_at, self.tz))
        if action.prompt is Prompt.REPLY:
            return ReplyPrompt(title, d.templates)
        initial = (getattr(d, action.initial, None) if action.initial else None) or ""
        return TextPrompt(title, action.placeholder, initial=initial)

    def _decided(
        self, action: TicketAction, fields: dict[str, str], value: tuple, edit: Callable[[], None] | None
    ) -> None:
        """Run `action` with `value`: previewed first when it may mail the
        customer, confirmed first when it cannot be undone; going back from the
        preview returns to the prompt (`edit`) with the text as it was."""
        done, call = action.done.format(**fields), self.service_call(action, *value)
        if action.mail is None and action.confirm is None:
            self.run_service(done, call)
        else:
            self.confirm_then_run(done, call, action.headline(fields), edit=edit, dangerous=action.dangerous)

    def service_call(self, action: TicketAction, *value: object) -> ServiceCall:
        """`action`'s service on the ticket shown, as `call(session, now)`, at the
        version the screen shows when it runs (a colleague's change since: stale)."""
        ctx = self.ctx

        def call(s, now):
            return action.service(
                s,
                ctx.actor,
                self.reference,
                *value,
                expected_version=self.data.ticket.version,
                now=now,
                config=ctx.config,
            )

        return call

    def _open_prompt(self, screen, then: Callable, kind: str) -> None:
        """Open `screen` (screens.prompts): it stays open while `then(value)`
        previews and saves, and refusals show in it; text is kept as a draft
        of `kind` per ticket and person while typed, back next time."""
        from app.drafts import DraftKey
        from screens.prompts import ReplyPrompt, TextPrompt

        screen.on_value, screen.on_reload, self._asking = then, self.load, screen
        if isinstance(screen, (TextPrompt, ReplyPrompt)) and self.data is not None:
            screen.draft = DraftKey(self.data.ticket.id, self.ctx.actor.id, kind)
        self.app.push_screen(screen)

    # -- preview and confirm, then run ---------------------------------------------
    def confirm_then_run(
        self,
        done: str,
        call: ServiceCall,
        headline: str,
        *,
        edit: Callable[[], None] | None = None,
        dangerous: bool = False,
    ) -> None:
        """Show the mail `call` would queue (exactly, rendered by the workflow in a
        rolled-back transaction) and what happens: confirm runs it, back reopens
        `edit`. No mail and nothing dangerous: it just runs."""
        gen = self._gen

        def previewed(outcome: Outcome) -> None:
            if not outcome.ok:  # a colleague changed it (reload), or refused: in the open prompt, its text kept
                self._report(outcome.text, outcome.severity, outcome.reload, gen)
                return
            self._ask(done, call, headline, outcome.result, edit, dangerous)

        self.run_service_call(call, previewed, group="detail-action", preview=True)

    def _ask(
        self, done: str, call: ServiceCall, headline: str, mails: list, edit: Callable[[], None] | None, dangerous: bool
    ) -> None:
        from screens.confirm import ConfirmScreen

        if not mails and not dangerous:
            self.run_service(done, call)
            return
        if not mails:
            headline += " No mail is sent."

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_service(done, call, held=any(m.hold_seconds for m in mails))
            elif edit is not None:
                edit()

        prompt = self._asking  # escape on the confirm goes back to it, in its own words (a choice, a text)
        screen = ConfirmScreen(headline, mails, back=getattr(prompt, "back_words", None) if edit else "Not now")
        if prompt is not None and prompt.saving and prompt is self.app.screen:
            prompt.preview(screen, answered)  # above the open prompt: back is the text as it was; confirmed, it saves
        else:
            self.app.push_screen(screen, answered)

    def action_recall(self) -> None:
        if self.data is None or self.busy:
            return
        self._recall()

    @work(thread=True, exclusive=True, group="detail-action")
    def _recall(self) -> None:
        from app.drafts import DraftKey, DraftStore
        from app.workflow.recall import recall_latest

        app, gen, reference, data = self.app, self._gen, self.reference, self.data
        try:
            out = self.ctx.desk.write(recall_latest, self.ctx.actor, reference, now=self.ctx.now())
        except Exception as exc:  # noqa: BLE001 - a refusal or a failed database: said in place
            app.call_from_thread(self._report, str(as_desk_error(exc, self.ctx.desk.url)), "warning", False, gen)
            return
        try:  # the taken-back text is the reply draft now: escape or a lost connection keeps it
            DraftStore(self.ctx.desk).save(
                DraftKey(data.ticket.id, self.ctx.actor.id, "reply"), out.body, self.ctx.now()
            )
        except Exception:  # noqa: BLE001 - the text still comes back in the prompt
            pass
        app.call_from_thread(self._recalled, out)

    def _recalled(self, out) -> None:
        from screens.prompts import ReplyPrompt

        self.notify(f"{out.reference}: mail taken back, not sent; edit it and send again", timeout=5)
        self.load()
        if self.data is not None and "reply" in self.data.actions and self.app.screen is self:
            reply = ticket_actions.BY_ID["reply"]

            def resend(text: str) -> None:  # previewed above the open prompt, as any reply
                self.confirm_then_run(
                    reply.done,
                    self.service_call(reply, text),
                    reply.headline({"ref": out.reference, "who": self._to_whom()}),
                    edit=_back_to_prompt,
                )

            self._open_prompt(
                ReplyPrompt(f"{out.reference}: {reply.title}", self.data.templates, initial=out.body), resend, "reply"
            )

    def run_service(self, done: str, call: ServiceCall, held: bool = False) -> None:
        """Run one workflow service in its own transaction, off the event loop
        (screens.service_worker); then say what happened and show the ticket as stored."""
        gen, reference = self._gen, self.reference

        def ran(outcome: Outcome) -> None:
            if outcome.ok:
                hold = f"; u takes it back within {self.ctx.config.outbox_hold_seconds:.0f} s" if held else ""
                self._report(f"{reference}: {done}{hold}", "information", True, gen)
            else:
                self._report(outcome.text, outcome.severity, outcome.reload, gen)

        self.run_service_call(call, ran, group="detail-action")

    def _report(self, text: str, severity: str, reload: bool, gen: int) -> None:
        """A service's outcome in place: a refusal in the open prompt (its text
        kept for a retry; ctrl+r reloads), else a notice; then the ticket as stored."""
        text = labels.in_words(text)
        prompt, self._asking = self._asking, None
        if prompt is not None and gen == self._gen and prompt in self.app.screen_stack:
            if severity != "information":
                self._asking = prompt
                prompt.failed(text, stale=reload)
                return
            prompt.saved()
        self.notify(text, severity=severity, timeout=6 if severity == "error" else 3)
        if reload and gen == self._gen:
            self.load()
