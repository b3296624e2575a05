"""The demo's aircraft, as pure functions of time: where each one is, how fast and which way it flies.

No I/O and no clock: :func:`fleet_states` takes the time of the reports and the scenario's start
(``epoch``) and returns each aircraft's state in SI units, ready for ``POST /v1/tracks``.
Everything repeats every :data:`CYCLE_S` seconds from ``epoch``, so a visitor sees the whole story
within a few minutes of arriving, and the story starts when the feed starts:

- ``VIPER11`` (blue-af) flies a racetrack in ``patrol north``; ``SHELL71``, orange-af's tanker,
  flies the same racetrack in step with it, on an orbit that slides towards it and back, so the
  pair goes advisory → warning → loss of separation → cleared each cycle;
- ``HAWK21`` (blue-af) flies ``CAP east``, whose eastbound leg points at the air-defence zone
  (hazard alert on each leg, cleared in the turn);
- ``SEEKER41`` (green-af) flies ``survey east`` but overshoots its eastern turn, out of the
  operation (nonconformance) for a while each lap;
- ``EAGLE31`` (blue-af) and ``FALCON51`` (green-af) fly quietly inside their training areas.

Positions are computed on a local flat earth around each aircraft's anchor point (east and north
metres, the same model the tactical engine uses for a pair), then turned into degrees.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EARTH_RADIUS_M = 6_371_000.0  # as deconline.core.tactical
CYCLE_S = 300.0  # every pattern and drift repeats with this period

# Anchors (lon, lat) of the operations the aircraft fly; deconline.demo files its volumes around them.
PATROL_NORTH = (17.0, 56.6)
CAP_EAST = (18.0, 56.8)
SURVEY_EAST = (17.5, 55.7)
TRAINING_BLUE = (16.0, 55.7)
TRAINING_GREEN = (16.0, 54.9)
AIR_DEFENCE_ZONE = (19.0, 56.8)  # centre; radius AIR_DEFENCE_RADIUS_M
AIR_DEFENCE_RADIUS_M = 25_000.0
SURVEY_RADIUS_M = 12_000.0

# The tactical minima of the demo agreement (the defaults): the tanker's drift is laid out on them.
H_M = 9260.0


@dataclass(frozen=True)
class Vector:
    """East and north components (metres, or metres per second)."""

    e: float
    n: float

    def __add__(self, other: Vector) -> Vector:
        return Vector(self.e + other.e, self.n + other.n)

    def __mul__(self, k: float) -> Vector:
        return Vector(self.e * k, self.n * k)

    def norm(self) -> float:
        return math.hypot(self.e, self.n)


def _unit(heading_deg: float) -> Vector:
    a = math.radians(heading_deg)
    return Vector(math.sin(a), math.cos(a))


@dataclass(frozen=True)
class Racetrack:
    """A holding pattern with right turns: a leg along ``heading_deg``, a half circle, the leg back, a
    half circle. ``centre`` is the middle of the pattern (metres from the anchor); the lap takes
    ``lap_s`` at ``speed_mps``, which fixes the legs' length. ``phase_s``: time into the lap at 0.

    The first leg runs on the left of the centre line, from ``-leg/2`` to ``+leg/2`` along it.
    """

    centre: Vector
    heading_deg: float
    radius_m: float
    speed_mps: float
    lap_s: float = CYCLE_S
    phase_s: float = 0.0

    @property
    def leg_m(self) -> float:
        leg = (self.speed_mps * self.lap_s - 2 * math.pi * self.radius_m) / 2
        if leg < 0:
            raise ValueError("the lap is too short for the turns at that speed")
        return leg

    def at(self, t: float) -> tuple[Vector, Vector]:
        """Position (m from the anchor) and velocity (m/s) at ``t`` seconds."""
        f = _unit(self.heading_deg)
        r = Vector(f.n, -f.e)  # to the right of f
        v, big_r, leg = self.speed_mps, self.radius_m, self.leg_m
        u = ((t + self.phase_s) * v) % (2 * leg + 2 * math.pi * big_r)
        half_turn = math.pi * big_r
        if u < leg:  # first leg, on the left
            return self.centre + r * -big_r + f * (u - leg / 2), f * v
        u -= leg
        if u < half_turn:  # right turn at the far end
            a = u / big_r
            pos = self.centre + f * (leg / 2) + r * (-big_r * math.cos(a)) + f * (big_r * math.sin(a))
            return pos, r * (v * math.sin(a)) + f * (v * math.cos(a))
        u -= half_turn
        if u < leg:  # the leg back, on the right
            return self.centre + r * big_r + f * (leg / 2 - u), f * -v
        a = (u - leg) / big_r  # right turn at the near end
        pos = self.centre + f * (-leg / 2) + r * (big_r * math.cos(a)) + f * (-big_r * math.sin(a))
        return pos, r * (-v * math.sin(a)) + f * (-v * math.cos(a))

    def extent(self) -> tuple[float, float]:
        """Half length and half width of the pattern (metres)."""
        return self.leg_m / 2 + self.radius_m, self.radius_m


@dataclass(frozen=True)
class Drift:
    """A periodic, piecewise-linear offset of a whole pattern: ``keyframes`` are (t, east m, north m)
    from t = 0 to t = ``period_s`` (the last one equal to the first, so it wraps smoothly)."""

    keyframes: tuple[tuple[float, float, float], ...]
    period_s: float = CYCLE_S

    def at(self, t: float) -> tuple[Vector, Vector]:
        t = t % self.period_s
        frames = self.keyframes
        for (t0, e0, n0), (t1, e1, n1) in itertools.pairwise(frames):
            if t0 <= t < t1:
                k = (t - t0) / (t1 - t0)
                return Vector(e0 + (e1 - e0) * k, n0 + (n1 - n0) * k), Vector(
                    (e1 - e0) / (t1 - t0), (n1 - n0) / (t1 - t0)
                )
        _, e, n = frames[-1]
        return Vector(e, n), Vector(0.0, 0.0)


@dataclass(frozen=True)
class Aircraft:
    track_id: str
    party: str
    operation: str  # the demo operation it flies (by name)
    anchor: tuple[float, float]  # lon, lat
    pattern: Racetrack
    alt_m: float
    drift: Drift | None = None
    note: str = ""

    def at(self, t: float) -> tuple[Vector, Vector]:
        pos, vel = self.pattern.at(t)
        if self.drift is not None:
            offset, dv = self.drift.at(t)
            pos, vel = pos + offset, vel + dv
        return pos, vel


@dataclass(frozen=True)
class State:
    """One position report (SI units); ``report()`` is its ``POST /v1/tracks`` item."""

    party: str
    track_id: str
    lat: float
    lon: float
    alt_m: float
    gs_mps: float
    track_deg: float
    vrate_mps: float
    time_s: float

    def report(self) -> dict[str, Any]:
        time = datetime.fromtimestamp(self.time_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "id": self.track_id,
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "alt_m": round(self.alt_m, 1),
            "gs_mps": round(self.gs_mps, 2),
            "track_deg": round(self.track_deg, 2) % 360.0,
            "vrate_mps": round(self.vrate_mps, 2),
            "time": time,
        }


def to_lon_lat(anchor: tuple[float, float], offset: Vector) -> tuple[float, float]:
    lon0, lat0 = anchor
    lat = lat0 + math.degrees(offset.n / EARTH_RADIUS_M)
    lon = lon0 + math.degrees(offset.e / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))
    return lon, lat


def offset_of(anchor: tuple[float, float], lon: float, lat: float) -> Vector:
    """The inverse of :func:`to_lon_lat`: metres east and north of ``anchor``."""
    lon0, lat0 = anchor
    return Vector(
        math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0)),
        math.radians(lat - lat0) * EARTH_RADIUS_M,
    )


# --- the scenario -----------------------------------------------------------------------------

# The tanker's orbit, north of the patrol's, by this much (metres) over a cycle. The relative speed
# is the drift's speed alone (both fly the same pattern in step), so the predicted time to loss of
# separation is (distance - H) / closing speed, and the levels follow one another on schedule:
#   0-10 s   holding 7.8 km outside the minimum: nothing predicted
#   10-70 s  closing at 30 m/s: loss predicted in 260 → 200 s (advisory)
#   70-150 s closing at 75 m/s: loss predicted in 80 → 0 s (warning)
#   150-210 s inside 9,260 m, down to 7 km and back (loss of separation)
#   210-300 s opening again at 87 m/s: cleared
TANKER_GAP: tuple[tuple[float, float], ...] = (
    (0.0, H_M + 7800),
    (10.0, H_M + 7800),
    (70.0, H_M + 6000),
    (150.0, H_M),
    (180.0, 7010.0),
    (210.0, H_M),
    (CYCLE_S, H_M + 7800),
)

PATROL = Racetrack(Vector(0.0, 0.0), 90.0, 5000.0, 220.0)


def fleet() -> tuple[Aircraft, ...]:
    tanker_drift = Drift(tuple((t, 0.0, gap) for t, gap in TANKER_GAP))
    return (
        Aircraft("VIPER11", "blue-af", "patrol north", PATROL_NORTH, PATROL, 7600.0, note="patrol"),
        Aircraft(
            "SHELL71", "orange-af", "tanker track", PATROL_NORTH, PATROL, 7500.0, tanker_drift, "tanker converging"
        ),
        Aircraft(
            "HAWK21",
            "blue-af",
            "CAP east",
            CAP_EAST,
            Racetrack(Vector(8000.0, 0.0), 90.0, 4000.0, 200.0, phase_s=204.0),
            5000.0,
            note="legs pointing at the air-defence zone",
        ),
        Aircraft(
            "SEEKER41",
            "green-af",
            "survey east",
            SURVEY_EAST,
            Racetrack(Vector(7000.0, 0.0), 90.0, 2500.0, 120.0, phase_s=40.0),
            1500.0,
            note="overshoots its eastern turn",
        ),
        Aircraft(
            "EAGLE31",
            "blue-af",
            "training area 2",
            TRAINING_BLUE,
            Racetrack(Vector(0.0, 0.0), 0.0, 2500.0, 120.0, phase_s=100.0),
            3000.0,
        ),
        Aircraft(
            "FALCON51",
            "green-af",
            "training area 1",
            TRAINING_GREEN,
            Racetrack(Vector(0.0, 0.0), 45.0, 2500.0, 120.0, phase_s=200.0),
            2500.0,
        ),
    )


def state_of(aircraft: Aircraft, t: float, epoch: float) -> State:
    """``aircraft``'s report at time ``t`` (seconds since 1970) of a scenario started at ``epoch``."""
    pos, vel = aircraft.at(t - epoch)
    lon, lat = to_lon_lat(aircraft.anchor, pos)
    track = math.degrees(math.atan2(vel.e, vel.n)) % 360.0
    return State(aircraft.party, aircraft.track_id, lat, lon, aircraft.alt_m, vel.norm(), track, 0.0, t)


def fleet_states(t: float, epoch: float, party: str | None = None) -> list[State]:
    """Every aircraft's (or one party's) report at ``t``."""
    return [state_of(a, t, epoch) for a in fleet() if party is None or a.party == party]


def parties() -> list[str]:
    return sorted({a.party for a in fleet()})
