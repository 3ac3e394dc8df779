"""esimdesk: configuration, database, domain services, CLI and the Textual app.

Everything here except `app.console` (the Textual App) imports and runs
without Textual; tests/test_import_hygiene.py proves it.
"""
