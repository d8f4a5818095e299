"""Backends that run the monitored stack: native (local processes), compose (Docker), external (URLs)."""
