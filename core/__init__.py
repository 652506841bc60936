"""What every part of Baton imports: settings (BATON_*), the root error, log redaction. Imports nothing of Baton."""
