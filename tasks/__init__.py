"""Prefect tasks over the clients: retries, timeouts, idempotency. A task returns ids and Vault references."""
