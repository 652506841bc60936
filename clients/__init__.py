"""Plain API clients (no Prefect imports), with typed errors that never carry a secret."""
