"""Vault set-up for Baton: the least-privilege policy and the AppRole the flows log in with."""
