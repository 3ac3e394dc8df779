"""Reusable console widgets (Textual)."""
