"""Email in and out: parsing, sources, routing, ingest, quarantine and the outbox.

Customer text parsed here is stored exactly as received (apart from NUL and
unpaired surrogates, which no database column can hold); displaying it safely
is app.untrusted.inert's job.
"""
