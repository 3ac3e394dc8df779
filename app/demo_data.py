"""The demo desk's raw material (app/demo.py): staff, names, subjects,
plans, reasons and the mix of complaint stories, drawn from by seed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.enums import (
    OutOfScope,
)

STAFF = [
    ("alice", "Alice Tamm", "agent"),
    ("bob", "Bob Kask", "agent"),
    ("carmen", "Carmen Ruiz", "agent"),
    ("dmitri", "Dmitri Ivanov", "agent"),
    ("eva", "Eva Saar", "agent"),
    ("farid", "Farid Haddad", "agent"),
    ("grace", "Grace Mensah", "agent"),
    ("hiro", "Hiro Tanaka", "agent"),
    ("sofia", "Sofia Lind", "senior"),
    ("marek", "Marek Novak", "senior"),
    ("priya", "Priya Nair", "senior"),
    ("olivia", "Olivia Brown", "supervisor"),
    ("adam", "Adam Admin", "admin"),
]
FIRST = [
    "Maria",
    "John",
    "Aino",
    "Kenji",
    "Fatima",
    "Lucas",
    "Chen",
    "Amara",
    "Olga",
    "Diego",
    "Sara",
    "Tom",
    "Leila",
    "Mikael",
    "Ana",
    "Ravi",
    "Ingrid",
    "Kwame",
    "Yuki",
    "Elena",
    "Omar",
    "Nora",
    "Pedro",
    "Liis",
]
LAST = [
    "Smith",
    "Tamm",
    "Garcia",
    "Müller",
    "Nguyen",
    "Okafor",
    "Silva",
    "Kowalski",
    "Rossi",
    "Haddad",
    "Sato",
    "Andersen",
    "Petrov",
    "Mensah",
    "Fernández",
    "Kask",
    "O'Brien",
    "Zhang",
    "Novak",
    "Dubois",
]
DOMAINS = ["example.com", "mail.example", "inbox.example.org", "corp.example.net"]
# A few hostile customers, so the console's inert rendering is always on show.
HOSTILE_NAMES = [
    "[bold red]Mallory[/] [@click=app.quit]x[/]",
    "Eve \x1b[2J\x1b]52;c;cHduZWQ=\x07Evil",
    "Trudy \u202egnp.exe",
]
COMPLAINT_SUBJECTS = [
    "Complaint Regarding eSIM Service",
    "Complaint: no data in Tokyo",
    "Complaint - eSIM not activating",
    "Complaint about slow speeds in Lisbon",
    "Complaint: charged twice",
    "Complaint regarding support response",
    "Complaint: QR code not working",
    "Complaint about coverage in Nairobi",
]
# the region a subject names: Lisbon and Nairobi are in the policy's service
# area; Tokyo is not (none of its seven regions holds Japan)
SUBJECT_REGION: dict[str, str | None] = {
    "Complaint: no data in Tokyo": None,
    "Complaint about slow speeds in Lisbon": "europe",
    "Complaint about coverage in Nairobi": "africa",
}
INQUIRY_SUBJECTS = [
    "Question about my phone",
    "Which plan for Peru?",
    "Roaming with my home carrier",
    "My iPhone screen is broken",
    "Refund from my mobile operator",
    "I read you give free data",
]
REFUND_REASONS = [
    "non_delivery",
    "technical_failure",
    "service_unavailable",
    "duplicate_charge",
    "incorrect_product",
    "billing_error",
    "cancel_before_activation",
    "device_incompatible",
    "installation_error",
    "wrong_purchase",
    "changed_plans",
    "no_longer_needed",
    "unused_data",
    "network_coverage",
    "unauthorized_purchase",
    "medical_emergency",
    "replacement_request",
]
PLANS = [
    "Europe 5 GB 30 days",
    "Japan 3 GB 15 days",
    "Global 10 GB 30 days",
    "USA 20 GB 30 days",
    "Africa 2 GB 7 days",
    "Asia 8 GB 30 days",
    "LatAm 5 GB 15 days",
]
CURRENCIES = ["EUR", "USD", "GBP"]
OOS_SUBJECT = {
    OutOfScope.THIRD_PARTY_PLAN: "My T-Mobile plan stopped working",
    OutOfScope.HARDWARE: "My phone's screen is broken",
    OutOfScope.PROVIDER_REFUND: "Refund for a plan I bought from my operator",
    OutOfScope.GENERAL_INQUIRY: "Which plan should I buy for Peru?",
    OutOfScope.MISINFORMATION: "A blog said you give free data",
}

# (status, weight) for complaints
COMPLAINT_MIX = [
    ("submitted", 8),
    ("acknowledged", 8),
    ("information_gathering", 7),
    ("investigation", 12),
    ("resolution_proposed", 6),
    ("resolution_communicated", 5),
    ("escalated", 7),
    ("closed_accepted", 37),
    ("closed_final", 10),
]
STEP_ORDER = [
    "acknowledged",
    "information_gathering",
    "investigation",
    "resolution_proposed",
    "resolution_communicated",
]

# one table row's column values, as a bulk insert takes them
DemoRow = dict[str, Any]
# the refund engine's decide(policy, facts) -> decision (memoised by the generator)
Decide = Callable[[str, dict[str, Any]], dict[str, Any]]
