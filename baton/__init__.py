"""Baton's cross-cutting pieces: settings, the root error, redaction, the local dev stack."""
