"""The refund wizard: one policy step per page, then the decision.

Driven by the engine's own walk (app.refunds.walk_steps under the desk's
rules) and the engine's decision_from_steps, so the wizard
and `esimdesk refund decide` can never disagree. Facts are prefilled from the
ticket's stored facts and its order; a step that needs an unknown fact offers
the fact's question (keys 1-3, or a typed value); a case that still lacks
facts ends with an information request. Saving calls app.refund_cases in a
worker thread.

The App provides `.desk`, `.actor`, `.config`, `.now()` and `.calendar`.
"""
from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from app import refund_cases
from app.errors import DeskError, InputError, StaleTicket
from app.refunds import (
    REASONS, Step, StepResult, decision_from_steps, fact_prompt, milestones, parse_facts, rules_from_config, walk_steps,
)
from app.refunds.policies import get_version
from app.refunds.records import APPROVABLE
from app.untrusted import inert
from widgets.policy_step import FindingTrail, PolicyStepView

# facts typed in rather than chosen (fact_prompt gives no choices)
NUMBER_FACTS = ("partial_amount",)


class RefundWizardScreen(Screen):
    """Walk one refund ticket's case through its policy, page by page."""

    CSS_PATH = "refund_wizard.tcss"
    AUTO_FOCUS = ""  # focus only the fact input or the reason list, when shown
    BINDINGS = [
        Binding("left,b", "back", "Back", id="wizard.back"),
        Binding("right,enter", "forward", "Forward", id="wizard.forward"),
        Binding("1", "choose(1)", "Answer 1", show=False),
        Binding("2", "choose(2)", "Answer 2", show=False),
        Binding("3", "choose(3)", "Answer 3", show=False),
        Binding("s", "service('s')", "Save decision", id="wizard.save"),
        Binding("i", "service('i')", "Request info", id="wizard.request_info"),
        Binding("a", "service('a')", "Approve", id="wizard.approve"),
        Binding("m", "service('m')", "Mark initiated", id="wizard.initiated"),
        Binding("c", "service('c')", "Complete", id="wizard.complete"),
        Binding("d", "service('d')", "Deny", id="wizard.deny"),
        Binding("r", "service('r')", "Refer", id="wizard.refer"),
        Binding("n", "service('n')", "Acknowledge", id="wizard.acknowledge"),
        Binding("escape", "close", "Close", id="wizard.close"),
        Binding("down,j", "scroll(1)", "Scroll", show=False),
        Binding("up,k", "scroll(-1)", "Scroll", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference.strip().upper()
        self.view: refund_cases.CaseView | None = None
        self.policy = "esimium"
        self.facts: dict[str, Any] = {}
        self.version: int | None = None
        self.steps: list[Step] = []
        self.results: list[StepResult] = []
        self.problem: str | None = None
        self.page = 0
        self.busy = False
        self.status_line = ""
        self.pending: str | None = None  # "a" / "d" waiting for the approver's amount or reason
        self.approver_input: Any = None

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="wizard-header", markup=False)
        with Horizontal(id="wizard-body"):
            with VerticalScroll(id="wizard-main", can_focus=False):
                yield PolicyStepView(id="step")
                yield Input(id="fact-input", classes="-hidden")
                yield OptionList(*[Option(r.replace("_", " "), id=r) for r in REASONS], id="reason-list", classes="-hidden")
            with VerticalScroll(id="wizard-side", can_focus=False):
                yield FindingTrail(id="trail")
        yield Static("", id="wizard-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def on_resize(self, event) -> None:  # noqa: ANN001
        self.set_class(event.size.width < 110, "-narrow")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows a service key only where it applies."""
        if action != "service":
            return True
        return parameters[0] in self.available_keys()

    def available_keys(self) -> list[str]:
        if self.busy or not self.on_decision_page or self.view is None or self.problem:
            return []
        d = self.decision()
        return [k for k, _label in self._actions(d)] if d is not None else []

    # -- data -------------------------------------------------------------------
    def load(self) -> None:
        """Read the ticket, its case and facts (one indexed lookup)."""
        try:
            with self.app.desk.reader() as s:
                self.view = refund_cases.load(s, self.reference)
        except DeskError as exc:
            self.view = None
            self.problem = str(exc)
            self.render_page()
            return
        self.policy = self.view.case.policy
        self.facts = dict(self.view.facts)
        self.version = self.view.ticket.version
        self.rewalk()
        if self.view.decision is not None and self.results and self.results[-1].decisive:
            self.page = len(self.results)  # a decided case opens on its decision
        self.render_page()

    def rewalk(self) -> None:
        """The engine's walk over the current facts under the desk's rules
        (app.refunds.walk_steps, the same walk `refund decide` makes)."""
        self.steps, self.results, self.problem = [], [], None
        try:
            f = parse_facts(self.facts)
            pairs = walk_steps(self.policy, f, rules_from_config(getattr(self.app, "config", None)))
        except InputError as exc:
            self.problem = str(exc)
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
        return bool(self.problem) and self.problem.startswith("facts:") and "reason: required" in self.problem

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
        self.query_one("#wizard-main", VerticalScroll).scroll_home(animate=False)
        header.update(self._header_text())
        self.query_one("#wizard-status", Static).update(Text(self.status_line, style="dim"))
        if self.view is None or (self.problem and not self.needs_reason):
            step_view.update(Text(self.problem or "no case", style="bold red"))
            trail.update("")
            return
        if self.needs_reason:
            step_view.update(Text.assemble(
                ("Reason\n", "bold"),
                "The customer's stated reason is not classified yet. Choose the reason that fits the request "
                "(enter), then walk the policy.\n"))
            reasons.set_class(False, "-hidden")
            reasons.focus()
            trail.update("")
            return
        trail.show(self.steps, self.results, min(self.page, len(self.results) - 1))
        if self.on_decision_page:
            self._render_decision(step_view)
            return
        step, result = self.steps[self.page], self.results[self.page]
        step_view.show_step(step, result, number=self.page + 1, facts=self.facts)
        free = [n for n in result.missing if not fact_prompt(n)[1]]
        if free:
            fact_input.placeholder = f"{free[0]}: {fact_prompt(free[0])[0]}"
            fact_input.value = ""
            fact_input.set_class(False, "-hidden")
            fact_input.focus()
        else:
            self.set_focus(None)

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
            t.append(f"  {v.ticket.status}", style="dim")
        return t

    def _timeline(self, d: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        case = self.view.case if self.view else None
        if d["outcome"] not in APPROVABLE or float(d.get("max_refund") or 0) <= 0:
            return [], ""
        if case is not None and case.approved_at is not None:
            return milestones(self.policy, case.approved_at, self.app.calendar, refund_method=d["refund_method"]), \
                f" (approved {case.approved_at.date().isoformat()})"
        return milestones(self.policy, self.app.now(), self.app.calendar, refund_method=d["refund_method"]), \
            " (if approved now)"

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
        step_view.show_decision(d, section_titles=titles, timeline=timeline, timeline_note=note,
                                actions=self._actions(d), progress=self._progress())

    def _progress(self) -> list[tuple[str, str]]:
        """What has actually happened to the money (recorded instants, desk-local dates)."""
        if self.view is None:
            return []
        c, cal = self.view.case, self.app.calendar
        out = []
        for when, what in ((c.approved_at, "approved"), (c.initiated_at, "refund initiated"),
                           (c.completed_at, "completed")):
            if when is not None:
                out.append((cal.local_date(when).isoformat(), what))
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

    def action_scroll(self, lines: int) -> None:
        main = self.query_one("#wizard-main", VerticalScroll)
        main.scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.app.pop_screen()

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
        self._run(key)

    def _ask_approver(self, key: str, d: dict[str, Any]) -> None:
        box = self.query_one("#fact-input", Input)
        self.pending = key
        box.value = ""
        box.placeholder = (f"amount to refund, then any processing fee (at most {d.get('max_refund')} {d.get('currency')} "
                           "in all), e.g. 15.00 2.50; enter to approve" if key == "a"
                           else "why the refund is refused, as the customer will read it; enter to deny")
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
        self._run(key)

    @work(thread=True, exclusive=True, group="refund-save")
    def _run(self, key: str) -> None:
        app, ref, v = self.app, self.reference, self.version
        facts = dict(self.facts)
        try:
            with app.desk.session() as s:
                now = app.now()
                if key in ("s", "i"):
                    d = refund_cases.record_facts(s, app.actor, ref, facts, expected_version=v, now=now, cal=app.calendar,
                                                  config=app.config)
                    msg = f"Saved: {d['outcome']} ({', '.join(d['sections'])})."
                    if key == "i":
                        refund_cases.request_information(s, app.actor, ref, expected_version=None, now=now, config=app.config)
                        msg = f"Saved: {d['outcome']}; information requested, review clock paused."
                elif key == "a":
                    amount, fee = self.approver_input if self.pending == "a" else (None, None)
                    ms = refund_cases.approve(s, app.actor, ref, expected_version=v, now=now, cal=app.calendar, config=app.config,
                                              amount=amount, fee=fee)
                    due = ms[0].get("due_date") if ms else None
                    msg = f"Approved; initiation due {due or 'n/a'}; notice queued."
                elif key == "n":
                    refund_cases.acknowledge(s, app.actor, ref, now=now, config=app.config, expected_version=v)
                    msg = "Acknowledgment sent; review clock running."
                elif key == "m":
                    refund_cases.mark_initiated(s, app.actor, ref, expected_version=v, now=now, cal=app.calendar, config=app.config)
                    msg = "Refund initiated; notice queued."
                elif key == "c":
                    refund_cases.complete(s, app.actor, ref, expected_version=v, now=now)
                    msg = "Refund case completed and closed."
                elif key == "d":
                    refund_cases.deny(s, app.actor, ref, expected_version=v, now=now, config=app.config,
                                      reason=self.approver_input if self.pending == "d" else None)
                    msg = "Denial sent; case closed."
                else:  # "r"
                    refund_cases.refer(s, app.actor, ref, expected_version=v, now=now, config=app.config)
                    msg = "Referral sent; case closed."
        except StaleTicket as exc:
            app.call_from_thread(self._after, str(exc), "error", True)
        except DeskError as exc:
            app.call_from_thread(self._after, str(exc), "error", False)
        else:
            app.call_from_thread(self._after, msg, "information", True)

    def _after(self, message: str, severity: str, reload: bool) -> None:
        self.busy = False
        self.pending = None
        self.status_line = message
        self.notify(message, severity=severity)
        if reload:  # saved, or a colleague changed the ticket: show what is stored now
            self.load()
        else:
            self.render_page()
