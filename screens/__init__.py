"""The console's screens (Textual), one per job."""
