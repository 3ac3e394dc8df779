"""The `esimdesk` command line (contracts/cli.md)."""
