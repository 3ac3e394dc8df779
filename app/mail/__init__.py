"""Email in and out (issue 6, the shared intake contract).

- parse.parse_message(bytes) -> ParsedMessage (Unparseable(reason) for quarantine)
- sources: .eml files, Maildir folders (new/ and cur/), mbox files
- route.classify(subject, body) -> Intent (pure routing rules)
- ingest.ingest_paths(desk, paths, now=None, *, config=None) -> Summary (each message all or nothing; committed in groups)
- quarantine: list_quarantine / review / release / discard (role "quarantine")
- outbox.deliver(desk, config, *, now=None, limit=None, db_url=None) -> OutboxSummary;
  list_outbox, delivery_counts
- attachments: list_attachments (no bytes), save_attachment

Customer text is stored exactly as received (apart from NUL and unpaired
surrogates, which no database column can hold); displaying it safely is
app.untrusted.inert's job.
"""
