"""A raw capture (Beast, AVR, CSV frames, SBS, aircraft.json, ASTERIX) as a :class:`Recording`,
so ``deconline replay`` runs the tactical engine over it exactly as over a traffic recording.

Messages are decoded by the same decoders the feeder uses, put in time order, and merged per
aircraft by the same track builder; a state is taken every ``resolution_s`` of capture time
(the feeder posts once a second, so 1 s is the default), newest per aircraft.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from deconline.ingest.recordings import Recording
from deconline.ingest.sighting import Sighting
from deconline.ingest.track_builder import State, TrackBuilder


def states_over_time(
    sightings: list[Sighting],
    max_age_s: float = 10.0,
    resolution_s: float = 1.0,
) -> list[State]:
    """The states a feeder would have posted, one per aircraft per ``resolution_s`` at most."""
    builder = TrackBuilder(max_age_s)
    states: list[State] = []
    ordered = sorted(sightings, key=lambda s: s.time_s)
    tick = math.floor(ordered[0].time_s / resolution_s) if ordered else 0
    for sighting in ordered:
        now = math.floor(sighting.time_s / resolution_s)
        if now != tick:
            states += builder.ready()
            tick = now
        builder.take(sighting)
    states += builder.ready()
    return states


def recording_from_states(states: list[State], counts: dict[str, int]) -> Recording:
    order = sorted(range(len(states)), key=lambda k: (states[k].time_s, states[k].id))

    def column(get: Callable[[State], float]) -> np.ndarray:
        array = np.array([get(states[k]) for k in order], dtype=np.float64)
        array.flags.writeable = False
        return array

    ids = np.array([states[k].id for k in order], dtype=np.str_) if states else np.empty(0, dtype="<U6")
    ids.flags.writeable = False
    skipped = {"malformed": counts.get("malformed", 0), "of no use for a track": counts.get("other", 0)}
    return Recording(
        column(lambda s: s.time_s), ids, column(lambda s: s.lat), column(lambda s: s.lon),
        column(lambda s: s.alt_m), column(lambda s: s.gs_mps), column(lambda s: s.track_deg),
        column(lambda s: s.vrate_mps), skipped=skipped, total=counts.get("messages", 0),
    )  # fmt: skip
