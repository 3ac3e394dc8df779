"""Parsing real messages: charsets, MIME structure, HTML-only bodies, attachments, headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.mail import parse
from app.mail.parse import Unparseable, decode_text, html_to_text, parse_message
from app.mail.route import classify, find_order_number, strip_prefixes

DATA = Path(__file__).parent / "data" / "mail"


def load(name: str):
    return parse_message((DATA / name).read_bytes())


def test_multipart_alternative_prefers_plain_and_decodes_qp():
    p = load("multipart_alternative.eml")
    assert p.from_addr == "maria.tamm@example.ee" and p.from_name == "Maria Tamm"
    assert p.subject == "Complaint Regarding eSIM Service"
    assert "stopped working on 15 November 2026 – no data at all." in p.body
    assert "HTML version" not in p.body
    assert p.attachments == []  # the HTML twin is not an attachment
    assert p.date == datetime(2026, 11, 17, 12, 3, tzinfo=UTC)
    assert p.message_id == "<alt-0001@mail.example.ee>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("latin1.eml", "Grüße aus München, der Tarif hat 5 € gekostet"),
        ("cp1252_as_latin1.eml", "J'ai payé €20 et reçu un “code” invalide."),  # declared Latin-1, really windows-1252
        ("utf8_as_latin1.eml", "Não consigo ativar o eSIM, São Paulo ✈"),  # declared Latin-1, really UTF-8
        ("unknown_charset.eml", "café ok"),  # a charset nobody knows
    ],
)
def test_charsets_declared_wrongly_still_decode(name, expected):
    p = load(name)
    assert p.body.strip() == expected
    assert "\ufffd" not in p.body


def test_encoded_word_subject_and_sender_name():
    p = load("encoded_subject.eml")
    assert p.subject == "Complaint Regarding eSIM Service – Göteborg"
    assert p.from_name == "Åsa Lindström"
    assert load("latin1.eml").from_name == "Jörg Müller"
    assert load("unknown_charset.eml").subject == "Café help"


def test_raw_8bit_headers_are_decoded_not_left_as_surrogates():
    p = load("raw8bit_header.eml")
    assert p.subject == "Café problème" and p.from_name == "René"
    p.subject.encode("utf-8")  # storable: no lone surrogates


def test_html_only_body_becomes_readable_text():
    p = load("html_only.eml")
    assert "alert(1)" not in p.body and "color: red" not in p.body and "<" not in p.body
    assert "I never got the QR code & the app says “pending”." in p.body
    assert "- Order placed yesterday\n- Paid with card" in p.body


def test_attachments_kept_with_bytes_name_and_type():
    png = (DATA / "screenshot.png").read_bytes()
    p = load("attachment_png.eml")
    assert [(a.filename, a.content_type, a.size) for a in p.attachments] == [
        ("screenshot.png", "image/png", len(png)),
        ("attachment2.png", "image/png", len(png)),  # an inline screenshot without a name
    ]
    assert all(a.data == png for a in p.attachments)
    assert p.body.startswith('The eSIM shows "No service"')


def test_missing_headers_are_not_hostile():
    p = load("missing_headers.eml")
    assert (p.subject, p.date, p.message_id, p.date_header) == ("", None, None, "")
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert p.received_at(now) == now


def test_no_from_is_unparseable():
    with pytest.raises(Unparseable, match="no From address"):
        load("no_from.eml")
    with pytest.raises(Unparseable, match="no From address"):
        parse_message(b"\x00\x01\x02 binary garbage \xff\xfe")


def test_sender_falls_back_to_sender_header():
    p = parse_message(b"From: undisclosed\nSender: real@example.com\nSubject: x\n\nbody\n")
    assert p.from_addr == "real@example.com"


def test_oversized_message_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(parse, "MAX_MESSAGE_BYTES", 1000)
    with pytest.raises(Unparseable, match="oversized"):
        parse_message(b"From: a@example.com\n\n" + b"x" * 2000)


def test_big_attachment_recorded_without_bytes(monkeypatch):
    monkeypatch.setattr(parse, "ATTACHMENT_STORE_CAP", 1000)
    em = EmailMessage()
    em["From"] = "a@example.com"
    em["Subject"] = "big"
    em.set_content("see attached")
    em.add_attachment(b"\x00" * 5000, maintype="application", subtype="octet-stream", filename="dump.bin")
    p = parse_message(em.as_bytes())
    (a,) = p.attachments
    assert (a.filename, a.size, a.data, a.stored) == ("dump.bin", 5000, None, False)


def test_future_date_is_not_believed():
    p = parse_message(b"From: a@example.com\nDate: Fri, 01 Jan 2100 00:00:00 +0000\n\nhi\n")
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert p.received_at(now) == now


def test_broken_mime_boundary_with_no_body_is_quarantined():
    raw = b'From: a@example.com\nContent-Type: multipart/mixed; boundary="zzz"\n\n--yyy\nnothing\n'
    # the body is lost only when nothing survives; here the preamble text survives as the payload
    try:
        p = parse_message(raw)
    except Unparseable as exc:
        assert "undecodable" in str(exc)
    else:
        assert p.from_addr == "a@example.com"


def test_dedupe_key_uses_message_id_else_sender_date_body():
    a = parse_message(b"From: a@example.com\nMessage-ID: <x@y>\n\none\n")
    b = parse_message(b"From: b@example.com\nMessage-ID: <x@y>\n\ntwo\n")
    assert a.dedupe_key == b.dedupe_key
    c = parse_message(b"From: a@example.com\nDate: Mon, 23 Nov 2026 09:00:00 +0000\n\nsame\n")
    d = parse_message(b"From: A@example.com\nDate: Mon, 23 Nov 2026 09:00:00 +0000\n\nsame\n")
    e = parse_message(b"From: a@example.com\nDate: Mon, 23 Nov 2026 09:00:00 +0000\n\nother\n")
    assert c.dedupe_key == d.dedupe_key != e.dedupe_key


def test_decode_text_never_fails():
    assert decode_text(bytes(range(256)), "utf-8")
    assert decode_text(b"\xe9", "bogus-charset") == "é"
    assert html_to_text("<p>a<br>b</p><style>x</style>") == "a\nb"


def test_nul_and_surrogates_are_made_storable():
    p = parse_message(b"From: a@example.com\nSubject: a\x00b\n\nbody\x00end\n")
    assert "\x00" not in p.subject and "\x00" not in p.body and "end" in p.body


@pytest.mark.parametrize(
    ("subject", "kind", "extra"),
    [
        ("Complaint Regarding eSIM Service", "complaint", None),
        ("complaint about roaming", "complaint", None),
        ("Escalation: CMP-2026-000012", "escalation", "CMP-2026-000012"),
        ("Re: Escalation: cmp-2026-000012", "escalation", "CMP-2026-000012"),
        ("Refund Request ORD-1234567890-ABCD", "refund", "ORD-1234567890-ABCD"),
        ("REFUND REQUEST", "refund", None),
        ("Where is my QR code?", "inquiry", None),
        ("", "inquiry", None),
    ],
)
def test_classify(subject, kind, extra):
    intent = classify(subject)
    assert intent.kind == kind
    if kind == "escalation":
        assert intent.escalates == extra
    if kind == "refund":
        assert intent.order_number == extra


def test_order_number_from_body_and_prefixes():
    assert classify("Refund Request", "my order ord-1234567890-ab12 please").order_number == "ORD-1234567890-AB12"
    assert find_order_number("ORD-123-ABCD") is None
    assert strip_prefixes("Re: AW: Fwd: hello") == ("hello", True)
    assert strip_prefixes("Regarding X") == ("Regarding X", False)


def test_deeply_nested_multipart_does_not_crash():
    depth = 3000
    head = b"From: a@example.com\nSubject: nest\n"
    parts = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth))
    raw = head + parts + b"Content-Type: text/plain\n\ninner text\n"
    try:
        p = parse_message(raw)
    except Unparseable as exc:
        assert "undecodable" in str(exc)
    else:
        assert p.from_addr == "a@example.com"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=600),
    st.sampled_from(
        [b"", b"From: a@example.com\n", b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n"]
    ),
)
def test_any_bytes_parse_or_are_unparseable(data, head):
    try:
        p = parse_message(head + data)
    except Unparseable:
        return
    for text in (p.subject, p.body, p.from_addr, p.from_name or "", *(a.filename for a in p.attachments)):
        assert "\x00" not in text
        text.encode("utf-8")  # storable
