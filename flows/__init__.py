"""Prefect flows, one module per vendor guide, plus offboarding and audit. Flows compose tasks."""
