"""Copy a decision and its milestones onto a RefundCase row (models/refund.py).
The caller owns the session and the ticket's history event."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.errors import IllegalTransition, InputError
from app.refunds.engine import decide
from app.refunds.facts import Facts, parse_facts
from app.refunds.milestones import milestones
from app.refunds.rules import Rules
from models.refund import RefundCase

APPROVABLE = ("full_refund", "partial_refund", "case_by_case", "investigate")
ALTERNATIVE_OUTCOMES = ("partial_refund", "store_credit", "replacement")


def record_decision(
    case: RefundCase, facts: Facts | dict[str, Any], decision: dict[str, Any] | None = None, rules: Rules | None = None
) -> dict[str, Any]:
    """Decide (unless a decision is given) under the desk's rules and store
    facts, decision and summary columns on the case. Returns the decision."""
    f = parse_facts(facts)
    d = decision if decision is not None else decide(case.policy, f, rules)
    if d.get("policy") != case.policy:
        raise InputError(f"decision is for policy {d.get('policy')!r}, the case is under {case.policy!r}")
    case.facts = json.dumps(f.to_dict(), ensure_ascii=False)
    case.decision = json.dumps(d, ensure_ascii=False)
    case.policy_version = d["policy_version"]
    case.outcome = d["outcome"]
    case.max_refund = Decimal(str(d["max_refund"])).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    case.currency = d["currency"]
    case.refund_method = d["refund_method"]
    case.chargeback_filed = f.chargeback_filed
    if f.alternative is not None and d["outcome"] in (*ALTERNATIVE_OUTCOMES, "investigate"):
        case.alternative = f.alternative
    elif d["outcome"] in ALTERNATIVE_OUTCOMES:
        case.alternative = d["outcome"]
    else:
        case.alternative = None
    return d


def record_approval(case: RefundCase, approved_at: datetime, cal: Any) -> list[dict[str, Any]]:
    """Mark an approved refund and store its expected dates; returns the milestones."""
    if case.outcome not in APPROVABLE:
        raise IllegalTransition(f"a refund case with outcome {case.outcome or 'none'} cannot be approved")
    ms = milestones(case.policy, approved_at, cal, refund_method=case.refund_method)
    case.approved_at = approved_at
    by_name = {m["name"]: m for m in ms}
    if by_name.get("initiated", {}).get("expected_at"):
        case.initiated_due_at = datetime.fromisoformat(by_name["initiated"]["expected_at"])
    if by_name.get("in_account", {}).get("expected_at"):
        case.expected_in_account_at = datetime.fromisoformat(by_name["in_account"]["expected_at"])
    return ms
