"""Baton's tools for people and the local stack: the operators' CLI, the demo and its autopilot, the dev stack, serve().

They import everything; nothing imports them but tests (clients/, tasks/, flows/ and gateway/ import core/).
"""
