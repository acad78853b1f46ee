"""Persistence: crash-safe snapshots of the server's root (:mod:`persistence.snapshot`).

See ``docs/snapshots.md`` for the file format, the guarantees and recovery.
"""
