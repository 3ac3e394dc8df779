"""`?`: the keys that work on the screen below, with what each does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

SCREEN_TITLES: dict[str, str] = {
    "QueueScreen": "the queue",
    "TicketDetailScreen": "a ticket",
    "EscalationQueueScreen": "the escalation queue",
    "QuarantineScreen": "quarantined mail",
    "RefundWizardScreen": "the refund wizard",
    "DashboardScreen": "the dashboard",
}

SCREEN_NOTES: dict[str, str] = {
    "QueueScreen": "The queue: every ticket in the chosen view, most urgent first. 1-9 switch views (0: Replied, "
    "the customer wrote after the last staff action), / filters as you type (reference, customer, "
    "email, subject, order number), s cycles the sort (due, age, priority). SLA: time left on the clock "
    "that governs the ticket; yellow = at risk, red = breached, 'paused' = waiting on the customer. "
    "● = customer mail you have not seen yet. Colleagues' changes appear by themselves, and new mail "
    "on your tickets raises a notice. t or space tags a row (✓), T tags every row matching, then ; "
    "acts on all tagged tickets at once (assign, triage, note, close) after one confirmation.",
    "TicketDetailScreen": "One ticket: its clocks, the timeline (yellow = internal note, green = reply to the customer, "
    "blue = the customer), and only the next steps the workflow allows for you now. Mail to the "
    "customer is shown exactly as it will be sent before it is queued (enter sends, escape goes "
    "back to editing); it then waits a moment, during which u takes it back. Closing, triage and "
    "final responses ask first. A key that is not available says why.",
    "EscalationQueueScreen": "Escalations you may review (you never touched the complaint), with the 5-business-day "
    "countdown, the original resolution and the customer's reason side by side. "
    "C opens the complaint an escalation escalates; escape comes back.",
    "QuarantineScreen": "Mail that could not be ingested, shown as inert text. Release it as a ticket or discard it; both are logged.",
}


def binding_rows(screen: Screen) -> list[tuple[str, str]]:
    """(key, description) of every enabled binding active on `screen`."""
    rows: dict[str, tuple[str, str]] = {}
    app = screen.app
    for _key, active in screen.active_bindings.items():
        b: Binding = active.binding
        if not b.description or not active.enabled:
            continue
        shown = b.key_display or app.get_key_display(b)
        if b.description in rows:
            prev = rows[b.description][0]
            if shown not in prev.split(" / "):
                rows[b.description] = (prev + " / " + shown, b.description)
        else:
            rows[b.description] = (shown, b.description)
    return list(rows.values())


class HelpScreen(ModalScreen):
    """Help for the screen it was opened over."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close help", id="help_close"),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        name = type(self.under).__name__
        text = Text()
        text.append(f"Help for {SCREEN_TITLES.get(name, 'this screen')}\n\n", style="bold")
        note = SCREEN_NOTES.get(name)
        if note:
            text.append(note + "\n\n")
        for key, words in binding_rows(self.under):
            text.append(f"{key:>14}  ", style="bold")
            text.append(words + "\n")
        text.append("\nctrl+p opens the command palette: every action here, by name.", style="italic")
        with VerticalScroll(id="help-box"):
            yield Static(text, id="help-text", markup=False)

    def action_close(self) -> None:
        self.dismiss()
