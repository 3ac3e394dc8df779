"""Asking before something leaves or cannot be undone.

`ConfirmScreen(headline, mails, confirm=...)` shows what is about to happen
and to whom, and each customer mail exactly as it will be queued (recipient,
subject, the whole body with its greeting and signature; rendered by the
workflow itself, see app.workflow.preview). It dismisses with True on
enter / y, and False on escape / n (the caller goes back to editing, the text
intact). Every shown text is inert (plain Text, never markup).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from app.workflow.preview import MailPreview
from widgets.key_footer import KeyFooter


def mail_text(mail: MailPreview) -> Text:
    """One mail as the customer reads it, headers first."""
    t = Text()
    for name, value in (("To", mail.to), ("From", mail.sender), ("Subject", mail.subject)):
        t.append(f"{name}: ", style="bold")
        t.append(value + "\n")
    t.append("\n")
    t.append(mail.body)
    return t


def hold_note(mails: list[MailPreview]) -> str:
    held = [m.hold_seconds for m in mails if m.hold_seconds]
    if not held:
        return "Sent with the next outbox run; it cannot be taken back."
    return f"Held {max(held):.0f} s after sending: press u on the ticket to take it back."


class ConfirmScreen(ModalScreen[bool]):
    """What will happen, to whom, and the mail it sends: enter sends, escape goes back."""

    CSS_PATH = "confirm.tcss"
    BINDINGS = [
        Binding("enter,y", "confirm", "Confirm", id="confirm_yes"),
        Binding("escape,n", "back", "Go back", id="confirm_back"),
    ]

    def __init__(
        self,
        headline: str,
        mails: list[MailPreview] | tuple = (),
        *,
        confirm: str | None = None,
        back: str | None = None,
        note: str = "",
    ) -> None:
        super().__init__()
        self.headline, self.mails, self.note = headline, list(mails), note
        self.confirm_words = confirm or ("Send" if self.mails else "Yes, do it")
        self.back_words = back or ("Back to editing" if self.mails else "No, go back")

    def compose(self) -> ComposeResult:
        self.set_class(bool(self.note and self.mails), "-noted")  # less room for the mail: the keys stay in view
        with Vertical(id="confirm-box"):
            yield Static(Text(self.headline, style="bold"), id="confirm-headline")
            if self.note:
                yield Static(Text(self.note), id="confirm-note")
            if self.mails:
                with VerticalScroll(id="confirm-mails"):
                    for i, mail in enumerate(self.mails):
                        yield Static(mail_text(mail), classes="confirm-mail", id=f"confirm-mail-{i}")
                yield Static(Text(hold_note(self.mails), style="italic"), id="confirm-hold")
            yield Static(
                Text.assemble(
                    ("enter", "bold"),
                    f" {self.confirm_words.lower()}   ",
                    ("escape", "bold"),
                    f" {self.back_words.lower()}",
                ),
                id="confirm-keys",
            )
        yield KeyFooter()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)
