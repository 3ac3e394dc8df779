"""esimdesk: configuration, database, domain services, CLI and the Textual app.

Everything here except `app.console` (the Textual App) imports and runs
without Textual; tests/test_foundation_hygiene.py proves it (app.console_keys,
app.wall and the two CLI commands that open an App are the other exceptions
that test names).
"""
