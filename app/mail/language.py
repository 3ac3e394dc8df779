"""The language a customer writes in: the mail's Content-Language, else a
guess from the words of the subject and body among the languages the desk
has templates for (English and Estonian built in). Stored on the customer
the first time (staff may change it: `ticket set REF language et`)."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, update
from sqlmodel import Session

from app.mail.group_lookups import lookups
from app.prepared import Prepared
from models import Customer, table_of

# frequent short words that tell the two built-in languages apart
_WORDS = {
    "et": frozenset(
        "ja on ei see et mu minu mul ma te teie tere palun aitäh tänan kas kui oli ning siis veel miks mis ka aga "
        "tellimus tellimuse tellimust raha tagasi kaebus kaebuse töötab ostsin lugupeetud lugupidamisega ühtegi "
        "pole ole saan sain seda seal kuid nii".split()
    ),
    "en": frozenset(
        "the and is are to my i it not of a in you your for was have has please thanks thank does this that with "
        "but can could would from we on be order refund".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+")
SAMPLE = 4000  # characters read


def detect(text: str, available: list[str] | tuple[str, ...]) -> str | None:
    """The most likely of `available` languages for `text`, or None when the
    text says too little (fewer than three telling words)."""
    words = _WORD.findall((text or "")[:SAMPLE].lower())
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items() if lang in available}
    if not scores:
        return None
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 3 else None


_CUSTOMER = table_of(Customer)
_SET_IF_UNKNOWN = Prepared(
    update(_CUSTOMER)
    .where(_CUSTOMER.c.id == bindparam("cid"), _CUSTOMER.c.language.is_(None))
    .values(language=bindparam("lang"))
)


def remember(session: Session, customer_id: int | None, language: str | None) -> None:
    """Store the customer's language unless one is known already (staff's choice stays)."""
    if customer_id is None or not language:
        return
    group = lookups(session)  # an intake group that knows the customer's language skips the statement
    if group is not None and group.languages.get(customer_id) is not None:
        return
    _SET_IF_UNKNOWN.run(session, {"cid": customer_id, "lang": language[:8]})
    if group is not None and customer_id in group.languages:
        group.languages[customer_id] = language[:8]
