"""Test doubles for vietser's edges (never imported by the CLI or the library)."""
