"""The words of a conflict notice's life, shared by the service that decides and the wire schemas."""

from __future__ import annotations

KINDS = ("operation", "hazard", "rules_changed")
STATES = ("open", "resolved")
RESOLUTIONS = (
    "own_revised",  # this operation was revised (or checked) clear of the conflict
    "own_cancelled",
    "own_ended",
    "other_revised",  # the other operation was revised clear
    "other_cancelled",
    "other_ended",
    "hazard_changed",  # the hazard moved off this operation
    "hazard_withdrawn",
    "rules_changed",  # a new agreement version no longer makes it a conflict
    "superseded",  # the same pair still conflicts, differently: a newer notice replaces this one
)
