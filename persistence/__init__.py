"""Persistence: the root's image layout (:mod:`persistence.layout`), snapshot images (their
format :mod:`persistence.image`, writing :mod:`persistence.snapshot`, recovery
:mod:`persistence.restore`), the journal (its files :mod:`persistence.segments`, its writer
:mod:`persistence.journal`) and the replay tool (:mod:`persistence.replay`).

See ``docs/snapshots.md`` for the file formats, the guarantees and recovery.
"""
