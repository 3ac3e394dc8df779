"""The refund wizard: one policy step per page, then the decision.

Driven by the engine's own walk (app.refunds.walk_steps under the desk's
rules) and the engine's decision_from_steps, so the wizard
and `esimdesk refund decide` can never disagree. Facts are prefilled from the
ticket's stored facts and its order; a step that needs an unknown fact offers
the fact's question (keys 1-3, or a typed value); a case that still lacks
facts ends with an information request. Saving calls app.refund_cases in a
worker thread. The App provides `.desk`, `.actor`, `.config`, `.now()` and `.calendar`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from app import labels, refund_cases
from app.errors import InputError
from app.failures import as_desk_error
from app.orders import facts as order_facts
from app.refund_case_read import CaseRead, read_case
from app.refunds import (
    REASONS,
    Step,
    StepResult,
    decision_from_steps,
    fact_prompt,
    milestones,
    parse_facts,
    rules_from_config,
    walk_steps,
)
from app.refunds.facts import FACT_NAMES, FACT_PROMPTS
from app.refunds.policies import default_policy, get_version
from app.refunds.records import APPROVABLE
from app.untrusted import inert
from screens.service_worker import Outcome, ServiceRunner
from widgets.key_footer import KeyFooter
from widgets.policy_step import FindingTrail, PolicyStepView

# keys that queue customer mail or cannot be undone: shown (mail as sent) and confirmed first
CONFIRM_FIRST = ("i", "a", "n", "m", "c", "d", "r")
# facts typed in rather than chosen (fact_prompt gives no choices)
NUMBER_FACTS = ("partial_amount",)


class RefundWizardScreen(ServiceRunner, Screen):
    """Walk one refund ticket's case through its policy, page by page."""

    CSS_PATH = "refund_wizard.tcss"
    AUTO_FOCUS = ""  # focus only the fact input or the reason list, when shown
    KEY_BLOCKING_WORKERS = {"refund-save", "refund-load"}  # keys typed meanwhile wait for the result (app.console_keys)
    BINDINGS = [
        Binding("left,b", "back", "Back", id="wizard.back"),
        Binding("right,enter", "forward", "Forward", id="wizard.forward"),
        Binding("home", "first_step", "First step", id="wizard.first"),
        Binding("e", "change_answer", "Change answer", id="wizard.change"),
        Binding("1", "choose(1)", "Answer 1", show=False),
        Binding("2", "choose(2)", "Answer 2", show=False),
        Binding("3", "choose(3)", "Answer 3", show=False),
        Binding("s", "service('s')", "Save decision", id="wizard.save"),
        Binding("i", "service('i')", "Request info", id="wizard.request_info"),
        Binding("a", "service('a')", "Approve refund", id="wizard.approve"),
        Binding("m", "service('m')", "Mark refund initiated", id="wizard.initiated"),
        Binding("c", "service('c')", "Complete refund", id="wizard.complete"),
        Binding("d", "service('d')", "Deny refund", id="wizard.deny"),
        Binding("r", "service('r')", "Refer elsewhere", id="wizard.refer"),
        Binding("n", "service('n')", "Acknowledge refund request", id="wizard.acknowledge"),
        Binding("escape", "close", "Close", id="wizard.close"),
        # provenance (issue 19): where each fact came from; an agent's override with its reason
        Binding("f", "facts", "Facts and their sources", id="wizard.facts", show=False),
        Binding("o", "override", "Override a fact (with a reason)", id="wizard.override", show=False),
        Binding("l", "lookup", "Look the order up again", id="wizard.lookup", show=False),
        Binding("down,j", "scroll(1)", "Scroll", show=False),
        Binding("up,k", "scroll(-1)", "Scroll", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
    ]

    def __init__(self, reference: str, case: CaseRead | None = None) -> None:
        """`case`, when the opener already read it (read_case), is shown from
        the first frame; without it the screen reads it in a worker."""
        super().__init__()
        self.reference = reference.strip().upper()
        self._first: CaseRead | None = case
        self.view: refund_cases.CaseView | None = None
        self.policy = default_policy()  # until the case is read
        self.facts: dict[str, Any] = {}
        self.version: int | None = None
        self.steps: list[Step] = []
        self.results: list[StepResult] = []
        self.problem: str | None = None
        self.reason_missing = False  # the walk stopped because the customer's reason is not classified yet
        self.page = 0
        self.busy = False
        self.status_line = ""
        self.sources: order_facts.TicketFactSources | None = None
        self.overrides: dict[str, tuple[Any, Any, str]] = {}  # fact -> (order's value, agent's value, reason)
        self.showing_facts = False
        self.pending: str | None = None  # "a" / "d" waiting for the approver's amount or reason
        self.approver_input: Any = None

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="wizard-header", markup=False)
        with Horizontal(id="wizard-body"):
            with VerticalScroll(id="wizard-main", can_focus=False):
                yield PolicyStepView(id="step")
                yield Input(id="fact-input", classes="-hidden")
                yield Input(
                    id="override-input",
                    classes="-hidden",
                    placeholder="fact value reason, e.g. activated false the shop's record predates activation",
                )
                yield OptionList(
                    *[Option(r.replace("_", " "), id=r) for r in REASONS], id="reason-list", classes="-hidden"
                )
            with VerticalScroll(id="wizard-side", can_focus=False):
                yield FindingTrail(id="trail")
        yield Static("", id="wizard-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        if self._first is not None:
            self.show_case(self._first)
            self._lookup(False)
        else:
            self.load()  # the order is looked up once the case is read

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < 110, "-narrow")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows a service key only where it applies."""
        if action == "change_answer":
            return bool(self._answered_here())
        if action == "first_step":
            return self.page > 0 and bool(self.results)
        if action != "service":
            return True
        return parameters[0] in self.available_keys()

    def available_keys(self) -> list[str]:
        if self.busy or not self.on_decision_page or self.view is None or self.problem:
            return []
        d = self.decision()
        return [k for k, _label in self._actions(d)] if d is not None else []

    # -- data -------------------------------------------------------------------
    def read(self) -> CaseRead:
        """The case as stored now (in a worker: it reads the database)."""
        ctx = self.ctx
        return read_case(ctx.desk, self.reference, ctx.now(), ctx.calendar.tz)

    @work(thread=True, exclusive=True, group="refund-load")
    def load(self) -> None:
        """Read the case in a worker, then show it (and look the order up the first time)."""
        case = self.read()
        self.app.call_from_thread(self._loaded, case)

    def _loaded(self, case: CaseRead) -> None:
        self.show_case(case)
        if self._first is None:
            self._first = case
            self._lookup(False)

    def show_case(self, case: CaseRead) -> None:
        """Show `case` as read: its facts, walked afresh (anything typed and not saved is dropped)."""
        self.view, self.sources = case.view, case.sources
        if case.error is not None or self.view is None:
            self.view = None
            self.problem = str(case.error) if case.error is not None else "no case"
            self.reason_missing = False
            self.render_page()
            return
        self.policy = self.view.case.policy
        self.facts = dict(self.view.facts)
        self.overrides = {}
        self.version = self.view.ticket.version
        self.rewalk()
        if self.view.decision is not None and self.results and self.results[-1].decisive:
            self.page = len(self.results)  # a decided case opens on its decision
        self.render_page()

    def rewalk(self) -> None:
        """The engine's walk over the current facts under the desk's rules
        (app.refunds.walk_steps, the same walk `refund decide` makes)."""
        self.steps, self.results, self.problem, self.reason_missing = [], [], None, False
        try:
            f = parse_facts(self.facts)
            pairs = walk_steps(self.policy, f, rules_from_config(self.ctx.config))
        except InputError as exc:
            self.problem = str(exc)
            self.reason_missing = "reason" not in self.facts  # asked first; the other facts follow it
            return
        self.steps = [s for s, _r in pairs]
        self.results = [r for _s, r in pairs]
        self.page = min(self.page, len(self.results))

    def decision(self) -> dict[str, Any] | None:
        if not self.results or self.problem:
            return None
        try:
            return decision_from_steps(self.policy, self.facts, self.results)
        except InputError as exc:
            self.problem = str(exc)
            return None

    @property
    def needs_reason(self) -> bool:
        return bool(self.problem) and self.reason_missing

    @property
    def on_decision_page(self) -> bool:
        return bool(self.results) and self.page >= len(self.results)

    # -- rendering ----------------------------------------------------------------
    def render_page(self) -> None:
        self.refresh_bindings()
        header = self.query_one("#wizard-header", Static)
        step_view = self.query_one("#step", PolicyStepView)
        trail = self.query_one("#trail", FindingTrail)
        fact_input = self.query_one("#fact-input", Input)
        reasons = self.query_one("#reason-list", OptionList)
        fact_input.set_class(True, "-hidden")
        reasons.set_class(True, "-hidden")
        self.query_one("#override-input", Input).set_class(not self.showing_facts, "-hidden")
        self.query_one("#wizard-main", VerticalScroll).scroll_home(animate=False)
        header.update(self._header_text())
        self.query_one("#wizard-status", Static).update(Text(self.status_line, style="dim"))
        if self.view is None and self.problem is None:  # being read
            step_view.update(Text(f"Reading {self.reference}…", style="dim"))
            trail.update("")
            return
        if self.view is None or (self.problem and not self.needs_reason):
            step_view.update(Text(self.problem or "no case", style="bold red"))
            trail.update("")
            return
        if self.needs_reason:
            step_view.update(
                Text.assemble(
                    ("Reason\n", "bold"),
                    "The customer's stated reason is not classified yet. Choose the reason that fits the request "
                    "(enter), then walk the policy.\n",
                )
            )
            reasons.set_class(False, "-hidden")
            reasons.focus()
            trail.update("")
            return
        trail.show(self.steps, self.results, min(self.page, len(self.results) - 1))
        if self.showing_facts:
            step_view.update(self._facts_text())
            return
        if self.on_decision_page:
            self._render_decision(step_view)
            return
        step, result = self.steps[self.page], self.results[self.page]
        step_view.show_step(step, result, number=self.page + 1, facts=self.facts, tz=self.ctx.calendar.tz)
        free = [n for n in result.missing if not fact_prompt(n)[1]]
        if free:
            fact_input.placeholder = f"{free[0]}: {fact_prompt(free[0])[0]}"
            fact_input.value = ""
            fact_input.set_class(False, "-hidden")
            fact_input.focus()
        else:
            self.set_focus(None)

    def fact_sources(self) -> dict[str, str]:
        """Per current fact: "order, imported 30 Nov 10:02" / "lookup, 2 min ago" / "agent"."""
        return self.sources.of(self.facts) if self.sources is not None else dict.fromkeys(self.facts, "agent")

    def _facts_text(self) -> Text:
        """Every fact, its value and where it came from; overrides with their reason."""
        t = Text()
        t.append("Facts and where they came from\n", style="bold")
        number = self.sources.order_number if self.sources else None
        if self.sources is None or self.sources.label is None:
            t.append(f"No order on file{' for ' + number if number else ''}: every fact is the agent's.\n", style="dim")
        narrow = self.has_class("-narrow")  # one line a fact: the order's full label once, above
        if narrow and self.sources is not None and self.sources.label:
            t.append(f"{self.sources.order_number}: {self.sources.label}\n", style="dim")
        sources = self.fact_sources()
        for name in FACT_NAMES:
            if name not in self.facts:
                continue
            t.append(f"  {name.replace('_', ' '):<26}", style="bold")
            value = inert(self._shown(name, self.facts[name]), limit=28, single_line=True)
            t.append(f"{value:<{15 if narrow else 20}} ")
            src = sources.get(name, "agent")
            t.append(src.split(",")[0] if narrow else src, style="dim" if src != "agent" else "")
            if name in self.overrides:
                t.append(f" (override: {inert(self.overrides[name][2], limit=60, single_line=True)})", style="italic")
            t.append("\n")
        t.append(
            "\no override a fact  ·  l look the order up  ·  f back"
            if narrow
            else "\no override a fact (type: fact value reason)  ·  l look the order up again  ·  f back to the policy",
            style="dim",
        )
        return t

    def _shown(self, name: str, value: Any) -> str:
        """A fact's value for people: desk-local times, words for enums."""
        if value is None:
            return "not known"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, str) and name.endswith("_at"):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                return value
            local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(self.ctx.calendar.tz)
            fmt = (
                "%d %b %H:%M"
                if local.year == self.ctx.now().astimezone(self.ctx.calendar.tz).year
                else "%d %b %Y %H:%M"
            )
            return local.strftime(fmt).lstrip("0")
        return str(value).replace("_", " ")

    def _header_text(self) -> Text:
        t = Text()
        t.append(f" Refund wizard  {self.reference}", style="bold")
        if self.results:
            total = len(self.results) + 1
            t.append(f"  page {min(self.page, total - 1) + 1}/{total}", style="bold")
        if self.view is not None:
            v = self.view
            t.append("  ")
            t.append(inert(v.customer_name, limit=40, single_line=True) or "(no name)")
            if v.order_number:
                t.append(f"  {v.order_number}", style="dim")
            t.append(f"  {self.policy} policy", style="bold")
            t.append(f"  {labels.status(v.ticket.status)}", style="dim")
        return t

    def _timeline(self, d: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        case = self.view.case if self.view else None
        if d["outcome"] not in APPROVABLE or float(d.get("max_refund") or 0) <= 0:
            return [], ""
        if case is not None and case.approved_at is not None:
            return milestones(
                self.policy, case.approved_at, self.ctx.calendar, refund_method=d["refund_method"]
            ), f" (approved {labels.day(self.ctx.calendar.local_date(case.approved_at))})"
        return milestones(
            self.policy, self.ctx.now(), self.ctx.calendar, refund_method=d["refund_method"]
        ), " (if approved now)"

    def _actions(self, d: dict[str, Any]) -> list[tuple[str, str]]:
        """The next legal steps from the decision page: (key, label); the
        24-hour acknowledgment first while its clock runs (esimium 4.2)."""
        acts = self._case_actions(d)
        t = self.view.ticket if self.view is not None else None
        if t is not None and t.ack_due_at is not None and t.acknowledged_at is None and t.status != "closed":
            acts.insert(0, ("n", "send the acknowledgment (reference, next steps, review date)"))
        return acts

    def _case_actions(self, d: dict[str, Any]) -> list[tuple[str, str]]:
        if self.view is None:
            return []
        status, case = self.view.ticket.status, self.view.case
        back = [("left", "back"), ("escape", "close")]
        if status == "closed":
            return back
        if status == "processing":
            return [("c", "complete: the money arrived"), *back]
        if case.approved_at is not None:
            return [("m", "mark initiated (sent to the payment processor)"), *back]
        if d["outcome"] == "needs_info":
            return [("i", "save and request information from the customer"), ("s", "save facts"), *back]
        saved = status == "decided" and self.view.decision == d
        if not saved:
            return [("s", "save decision"), *back]
        acts: list[tuple[str, str]] = []
        if d["outcome"] in APPROVABLE and float(d.get("max_refund") or 0) > 0:
            acts.append(("a", "approve"))
        if d["outcome"] == "denied":
            acts.append(("d", "send the denial and close"))
        if d["outcome"] in refund_cases.DENIABLE_BY_APPROVER:
            acts.append(("d", "deny with a reason and close"))
        if d["outcome"] == "refer":
            acts.append(("r", f"refer to the {(d.get('refer_to') or '').replace('_', ' ')} and close"))
        if d["outcome"] in refund_cases.NO_MONEY_OUTCOMES:
            acts.append(("c", "complete (alternative given)"))
        return [*acts, *back]

    def _render_decision(self, step_view: PolicyStepView) -> None:
        d = self.decision()
        if d is None:
            step_view.update(Text(self.problem or "no decision", style="bold red"))
            return
        pv = get_version(self.policy, d["policy_version"])
        titles = {n: s.get("title", "") for n, s in pv.sections.items()}
        timeline, note = self._timeline(d)
        step_view.show_decision(
            d,
            section_titles=titles,
            timeline=timeline,
            timeline_note=note,
            actions=self._actions(d),
            progress=self._progress(),
        )

    def _progress(self) -> list[tuple[str, str]]:
        """What has actually happened to the money (recorded instants, desk-local dates)."""
        if self.view is None:
            return []
        c, cal = self.view.case, self.ctx.calendar
        out = []
        for when, what in (
            (c.approved_at, "approved"),
            (c.initiated_at, "refund initiated"),
            (c.completed_at, "completed"),
        ):
            if when is not None:
                out.append((labels.day(cal.local_date(when)), what))
        return out

    # -- navigation ------------------------------------------------------------------
    def action_back(self) -> None:
        if self.page > 0:
            self.page -= 1
            self.render_page()

    def action_forward(self) -> None:
        if self.results and self.page < len(self.results):
            self.page += 1
            self.render_page()

    def action_first_step(self) -> None:
        if self.results and self.page > 0:
            self.page = 0
            self.render_page()

    def _answered_here(self) -> list[str]:
        """The facts the current step read that a person can answer (they have a question)."""
        if self.busy or not self.results or self.on_decision_page or self.page >= len(self.steps):
            return []
        step = self.steps[self.page]
        return [n for n in step.reads if self.facts.get(n) is not None and n in FACT_PROMPTS]

    def action_change_answer(self) -> None:
        """Ask this step's question again: its answers are cleared, and every later
        step is evaluated afresh once it is answered (the walk is re-run)."""
        names = self._answered_here()
        if not names:
            return
        for name in names:
            self.facts[name] = None
        self.rewalk()
        self.status_line = f"Step {self.page + 1}: answer again; the later steps follow the new answer."
        self.render_page()

    def action_scroll(self, lines: int) -> None:
        main = self.query_one("#wizard-main", VerticalScroll)
        main.scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        if self.showing_facts:
            self.showing_facts = False
            self.render_page()
            return
        self.app.pop_screen()

    def action_facts(self) -> None:
        """Show (or leave) the facts with their sources."""
        self.showing_facts = not self.showing_facts
        self.render_page()
        if self.showing_facts:
            self.set_focus(None)

    def action_override(self) -> None:
        """Type a fact's new value and the reason (the reason goes into the history on save)."""
        if not self.showing_facts:
            self.showing_facts = True
            self.render_page()
        box = self.query_one("#override-input", Input)
        box.value = ""
        box.focus()

    @on(Input.Submitted, "#override-input")
    def _override_typed(self, event: Input.Submitted) -> None:
        parts = event.value.strip().split(None, 2)
        if len(parts) < 3:
            self.notify("Type: fact value reason (the reason is required).", severity="warning")
            return
        name, raw, reason = parts
        if name not in FACT_NAMES:
            self.notify(f"{name}: not a fact (e.g. activated, data_used_mb, delivered_at).", severity="error")
            return
        value = _typed_value(raw)
        was = self.sources.order_facts.get(name) if self.sources else None
        before = self.facts.get(name)
        self.set_fact(name, value)
        if self.facts.get(name) is not value and self.facts.get(name) != value:
            return  # refused (set_fact told why)
        self.overrides[name] = (was if name not in self.overrides else self.overrides[name][0], value, reason)
        self.status_line = (
            f"{name.replace('_', ' ')}: {self._shown(name, before)} → {self._shown(name, value)}; "
            "the reason is recorded when you save"
        )
        event.input.value = ""
        self.set_focus(None)  # the wizard's keys work again
        self.render_page()

    def action_lookup(self) -> None:
        self._lookup(True)

    @work(thread=True, exclusive=True, group="order-lookup")
    def _lookup(self, asked: bool) -> None:
        """Look the ticket's order up when the desk lacks it or holds it stale
        (or when asked); the outcome is one line on the ticket and here."""
        from app.orders.lookup import needs_lookup, refresh_for_ticket

        app, ref = self.app, self.reference
        cfg = self.ctx.config.orders
        try:
            if not cfg.lookup:
                if asked:
                    app.call_from_thread(self._after_lookup, "No order lookup is configured.", False)
                return
            if not asked and not needs_lookup(self.ctx.desk.engine, cfg, ref, self.ctx.now()):
                return
            # on open it is the desk's own doing (no handler recorded); on request, the agent's
            result = refresh_for_ticket(
                self.ctx.desk.engine, cfg, ref, now=self.ctx.now(), actor=self.ctx.actor.login if asked else None
            )
        except Exception as exc:  # noqa: BLE001 - a refusal or a failed database: one line here
            app.call_from_thread(self._after_lookup, str(as_desk_error(exc, self.ctx.desk.url)), False)
            return
        app.call_from_thread(self._after_lookup, result.line, result.ok, self.read() if result.ok else None)

    def _after_lookup(self, line: str, ok: bool, fresh: CaseRead | None = None) -> None:
        self.status_line = line
        self.notify(line, severity="information" if ok else "warning")
        if (
            fresh is not None
            and not self.overrides
            and self.view is not None
            and self.facts == self.view.facts
            and not self.busy
        ):
            self.show_case(fresh)  # nothing typed yet: start again from the refreshed order
        else:
            self.render_page()

    def action_choose(self, n: int) -> None:
        """Establish the current step's missing fact with its n-th choice."""
        if self.on_decision_page or not self.results:
            return
        result = self.results[self.page]
        if not result.missing:
            return
        name = result.missing[0]
        _q, choices = fact_prompt(name)
        if not choices or n > len(choices):
            return
        self.set_fact(name, choices[n - 1][0])

    def set_fact(self, name: str, value: Any) -> None:
        before = self.facts.get(name, None)
        self.facts[name] = value
        try:
            parse_facts(self.facts)
        except InputError as exc:
            self.facts[name] = before
            self.notify(str(exc), severity="error")
            return
        self.rewalk()
        self.render_page()

    @on(Input.Submitted, "#fact-input")
    def _typed_fact(self, event: Input.Submitted) -> None:
        result = self.results[self.page] if self.results and not self.on_decision_page else None
        free = [n for n in (result.missing if result else ()) if not fact_prompt(n)[1]]
        if not free:
            return
        name, raw = free[0], event.value.strip()
        if name in NUMBER_FACTS:
            try:
                value: Any = float(raw)
            except ValueError:
                self.notify(f"{name}: not a number", severity="error")
                return
        else:
            value = raw or None
        self.set_fact(name, value)

    @on(OptionList.OptionSelected, "#reason-list")
    def _reason_chosen(self, event: OptionList.OptionSelected) -> None:
        self.facts["reason"] = event.option.id
        self.page = 0
        self.rewalk()
        self.render_page()

    # -- saving (worker) ---------------------------------------------------------------
    def action_service(self, key: str) -> None:
        """Run the service behind a decision-page action key, in a worker."""
        if self.busy:
            return
        if not self.on_decision_page:
            self.notify("Walk to the decision page first (→).", severity="warning")
            return
        if key not in self.available_keys():
            self.notify("That action does not apply to this case now.", severity="warning")
            return
        d = self.decision() or {}
        if key in ("a", "d") and d.get("outcome") in refund_cases.DENIABLE_BY_APPROVER and self.pending is None:
            self._ask_approver(key, d)  # case by case: the approver's amount and fee, or the reason
            return
        self.busy = True
        if key in CONFIRM_FIRST:
            self._preview(key)
        else:
            self._run(key)

    def _ask_approver(self, key: str, d: dict[str, Any]) -> None:
        box = self.query_one("#fact-input", Input)
        self.pending = key
        box.value = ""
        box.placeholder = (
            f"amount to refund, then any processing fee (at most {d.get('max_refund')} {d.get('currency')} "
            "in all), e.g. 15.00 2.50; enter to approve"
            if key == "a"
            else "why the refund is refused, as the customer will read it; enter to deny"
        )
        box.set_class(False, "-hidden")
        box.focus()

    @on(Input.Submitted, "#fact-input")
    def _approver_entered(self, event: Input.Submitted) -> None:
        if self.pending is None or not self.on_decision_page:
            return
        key, raw = self.pending, event.value.strip()
        if not raw:
            self.notify("Type the amount (and fee)." if key == "a" else "Type the reason.", severity="warning")
            return
        parts = raw.split()
        if key == "a" and len(parts) > 2:
            self.notify("Give the amount and at most one fee.", severity="error")
            return
        self.approver_input = (parts[0], parts[1] if len(parts) > 1 else None) if key == "a" else raw
        self.busy = True
        if key in CONFIRM_FIRST:
            self._preview(key)
        else:
            self._run(key)

    def _call(self, key: str):
        """The service behind `key` as `call(session, now) -> what to say`."""
        ref, v = self.reference, self.version
        facts = dict(self.facts)
        overrides = dict(self.overrides)
        ticket_id = self.view.ticket.id if self.view is not None else None
        amount, fee = self.approver_input if self.pending == "a" else (None, None)
        deny_reason = self.approver_input if self.pending == "d" else None

        def call(s, now) -> str:
            if key in ("s", "i"):
                if overrides:
                    order_facts.record_overrides(s, self.ctx.actor, ticket_id, overrides, now)
                d = refund_cases.record_facts(
                    s,
                    self.ctx.actor,
                    ref,
                    facts,
                    expected_version=v,
                    now=now,
                    cal=self.ctx.calendar,
                    config=self.ctx.config,
                )
                if key == "i":
                    refund_cases.request_information(
                        s, self.ctx.actor, ref, expected_version=None, now=now, config=self.ctx.config
                    )
                    return f"Saved: {labels.words(d['outcome'])}; information requested, review clock paused."
                return f"Saved: {labels.words(d['outcome'])} ({', '.join(d['sections'])})."
            if key == "a":
                ms = refund_cases.approve(
                    s,
                    self.ctx.actor,
                    ref,
                    expected_version=v,
                    now=now,
                    cal=self.ctx.calendar,
                    config=self.ctx.config,
                    amount=amount,
                    fee=fee,
                )
                due = ms[0].get("due_date") if ms else None
                return f"Approved; initiation due {labels.day(due) or 'n/a'}; notice queued."
            if key == "n":
                refund_cases.acknowledge(s, self.ctx.actor, ref, now=now, config=self.ctx.config, expected_version=v)
                return "Acknowledgment sent; review clock running."
            if key == "m":
                refund_cases.mark_initiated(
                    s, self.ctx.actor, ref, expected_version=v, now=now, cal=self.ctx.calendar, config=self.ctx.config
                )
                return "Refund initiated; notice queued."
            if key == "c":
                refund_cases.complete(s, self.ctx.actor, ref, expected_version=v, now=now)
                return "Refund case completed and closed."
            if key == "d":
                refund_cases.deny(
                    s, self.ctx.actor, ref, expected_version=v, now=now, config=self.ctx.config, reason=deny_reason
                )
                return "Denial sent; case closed."
            refund_cases.refer(s, self.ctx.actor, ref, expected_version=v, now=now, config=self.ctx.config)
            return "Referral sent; case closed."

        return call

    def _headline(self, key: str) -> str:
        """What `key` will do, and to whom (the confirmation's first line)."""
        v = self.view
        who = (inert(v.customer_name, limit=60, single_line=True) if v else "") or "the customer"
        d = self.decision() or {}
        money = f"{float(d.get('max_refund') or 0):.2f} {self.facts.get('currency') or ''}".strip()
        return {
            "i": f"Save the facts of {self.reference} and ask {who} for the missing information; the review clock pauses.",
            "a": f"Approve the refund on {self.reference}: up to {money} to {who}; the initiation clock starts.",
            "n": f"Acknowledge the refund request {self.reference}: {who} gets the reference and when to expect the review.",
            "m": f"Mark the refund on {self.reference} as sent to the payment processor; {who} is told.",
            "c": f"Complete {self.reference}: the case closes for {who}. Only when the money arrived or the alternative was given.",
            "d": f"Deny the refund on {self.reference}: {who} gets the denial and the case closes.",
            "r": f"Refer {self.reference} elsewhere: {who} is told where to turn and the case closes.",
        }[key]

    def _preview(self, key: str) -> None:
        """The mail `key` would queue, rendered in a rolled-back transaction, then the confirmation."""

        def previewed(outcome: Outcome) -> None:
            if not outcome.ok:
                self._after(outcome)
                return
            self.busy = True  # until the confirmation is answered
            self._confirm(key, outcome.result)

        self.run_service_call(self._call(key), previewed, group="refund-save", preview=True, read=self.read)

    def _confirm(self, key: str, mails: list) -> None:
        from screens.confirm import ConfirmScreen

        headline = self._headline(key) + ("" if mails else " No mail is sent.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(key)
                return
            self.busy = False
            typed = self.query_one("#fact-input", Input).value if self.pending == key else ""
            self.pending, self.approver_input = None, None  # another key asks afresh
            self.render_page()
            if typed:  # back to the approver's amount or reason, as typed
                self._ask_approver(key, self.decision() or {})
                box = self.query_one("#fact-input", Input)
                box.value, box.cursor_position = typed, len(typed)

        self.app.push_screen(ConfirmScreen(headline, mails, back="Not now"), answered)

    def _run(self, key: str) -> None:
        """Save: the service behind `key` in a worker (screens.service_worker), then the case as stored."""
        self.run_service_call(self._call(key), self._after, group="refund-save", read=self.read)

    def _after(self, outcome: Outcome) -> None:
        """Saved, or a colleague changed the ticket: show what is stored now; refused: the page as it was."""
        self.busy = False
        self.pending = None
        self.status_line = message = labels.in_words(outcome.result) if outcome.ok else outcome.text
        self.notify(message, severity=outcome.severity)
        if outcome.fresh is not None:
            self.show_case(outcome.fresh)
        else:
            self.render_page()


def _typed_value(raw: str) -> Any:
    """An override's typed value: yes/no/true/false, "unknown", a number, else the text (a date-time)."""
    low = raw.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("unknown", "null", "none", "-"):
        return None
    try:
        return int(raw) if low.isdigit() else float(raw)
    except ValueError:
        return raw
