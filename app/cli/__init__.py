"""The `esimdesk` command line (the shared CLI contract)."""
