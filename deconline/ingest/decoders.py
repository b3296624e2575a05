"""One decoder per feed format: bytes in (a socket read, a file chunk, a datagram, a poll), sightings out.

Each keeps what a stream needs between reads (a partial line, a partial Beast frame, CPR frames)
and counts what it read, what was malformed and what it did not use. Pure apart from that state:
the caller supplies the arrival time; nothing here reads a clock or a socket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deconline.ingest import pcap, readsb, sbs
from deconline.ingest.beast import MLAT_HZ, BeastReader
from deconline.ingest.modes import ModeSDecoder
from deconline.ingest.track_builder import Sighting

if TYPE_CHECKING:
    from deconline.ingest.asterix import RadarSite


@dataclass
class Outcome:
    sightings: list[Sighting] = field(default_factory=list)
    messages: int = 0
    malformed: int = 0
    other: int = 0  # well-formed but of no use for a track (Mode S replies, ground stations, other categories)
    notes: list[str] = field(default_factory=list)  # something the user should be told once


class Decoder:
    """Feed it bytes as they arrive; ``finish`` at the end of a file."""

    def take(self, data: bytes, arrival_s: float) -> Outcome:
        raise NotImplementedError

    def finish(self) -> Outcome:
        return Outcome()


class BeastDecoder(Decoder):
    """Beast binary. From a socket a frame is timed by its arrival; from a file, by its MLAT
    counter (12 MHz) counted from ``start_s`` (the receiver's counter has no date)."""

    def __init__(self, modes: ModeSDecoder, start_s: float | None = None) -> None:
        self.reader = BeastReader()
        self.modes = modes
        self.start_s = start_s
        self._first_ticks: int | None = None

    def take(self, data: bytes, arrival_s: float) -> Outcome:
        before = self.reader.malformed
        frames = self.reader.feed(data)
        mode_s = [f for f in frames if f.kind != 0x31]
        if self.start_s is None:
            times = [arrival_s] * len(mode_s)
        else:
            if self._first_ticks is None and mode_s:
                self._first_ticks = mode_s[0].mlat_ticks
            first = self._first_ticks or 0
            times = [self.start_s + (f.mlat_ticks - first) / MLAT_HZ for f in mode_s]
        decoded = self.modes.decode(times, [f.message.hex() for f in mode_s])
        return Outcome(
            decoded.sightings,
            messages=len(frames) + self.reader.malformed - before,
            malformed=decoded.malformed + self.reader.malformed - before,
            other=decoded.other + len(frames) - len(mode_s),
        )


class LineDecoder(Decoder):
    """Text lines; subclasses say what a line is."""

    def __init__(self) -> None:
        self._partial = b""

    def take(self, data: bytes, arrival_s: float) -> Outcome:
        *lines, self._partial = (self._partial + data).split(b"\n")
        return self.lines([raw.decode("ascii", "replace").strip() for raw in lines], arrival_s)

    def finish(self) -> Outcome:
        rest, self._partial = self._partial, b""
        return self.lines([rest.decode("ascii", "replace").strip()], 0.0) if rest.strip() else Outcome()

    def lines(self, lines: list[str], arrival_s: float) -> Outcome:
        raise NotImplementedError


class FramesDecoder(LineDecoder):
    """Lines that each hold one Mode S frame and maybe its time: AVR or ``unix_time,hex`` CSV."""

    def __init__(self, modes: ModeSDecoder, split: Callable[[str, float], tuple[float, str] | None]) -> None:
        super().__init__()
        self.modes = modes
        self.split = split

    def lines(self, lines: list[str], arrival_s: float) -> Outcome:
        times, frames = [], []
        malformed = 0
        read = 0
        for line in lines:
            if not line or line.startswith("#"):
                continue
            read += 1
            parsed = self.split(line, arrival_s)
            if parsed is None:
                malformed += 1
            else:
                times.append(parsed[0])
                frames.append(parsed[1])
        decoded = self.modes.decode(times, frames)
        return Outcome(decoded.sightings, read, malformed + decoded.malformed, decoded.other)


def avr_line(line: str, arrival_s: float) -> tuple[float, str] | None:
    """``*8D4840D6202CC371C32CE0576098;`` (or ``@`` and a 12-digit MLAT counter before the frame)."""
    if len(line) < 3 or line[-1] != ";":
        return None
    if line[0] == "*":
        return arrival_s, line[1:-1]
    if line[0] == "@" and len(line) > 14:
        return arrival_s, line[13:-1]
    return None


def csv_line(line: str, arrival_s: float) -> tuple[float, str] | None:
    """``1753827785.8086092,8DADA5265851E6616376C2EB4463``: the time the frame was received."""
    when, _, frame = line.partition(",")
    try:
        t = float(when)
    except ValueError:
        return None
    if not 0 < t < 1e11 or not frame:
        return None
    return t, frame.strip()


class SbsDecoder(LineDecoder):
    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def lines(self, lines: list[str], arrival_s: float) -> Outcome:
        out = Outcome()
        for line in lines:
            if not line:
                continue
            out.messages += 1
            try:
                report = sbs.parse(line)
            except sbs.SbsError:
                out.malformed += 1
                continue
            if report is None:
                out.other += 1
            else:
                out.sightings.append(sbs.sighting(report, self.source))
        return out


class ReadsbDecoder(Decoder):
    """Each read is one whole aircraft.json (a poll of the receiver's HTTP server or file)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def take(self, data: bytes, arrival_s: float) -> Outcome:
        try:
            picture = readsb.parse(data, self.source)
        except readsb.ReadsbError as exc:
            return Outcome(messages=1, malformed=1, notes=[f"not an aircraft.json: {exc}"])
        return Outcome(picture.sightings, picture.aircraft, picture.malformed, picture.other)


class AsterixDecoder(Decoder):
    """Each read is one UDP datagram, or a whole file: raw datablocks or a libpcap capture (each
    datagram then timed by its capture timestamp)."""

    def __init__(self, source: str, radars: Mapping[tuple[int, int], RadarSite]) -> None:
        self.source = source
        self.radars = radars
        self._told: set[tuple[int, int]] = set()

    def take(self, data: bytes, arrival_s: float) -> Outcome:
        from deconline.ingest import asterix  # libasterix takes a second to import: only when used

        decoded = asterix.Decoded()
        out = Outcome()
        if pcap.is_pcap(data):
            datagrams, skipped = pcap.udp_payloads(data)
            out.other += skipped
            for datagram in datagrams:
                decoded.add(asterix.decode(datagram.payload, received_s=datagram.time_s, radars=self.radars,
                                           source=self.source))  # fmt: skip
        else:
            decoded = asterix.decode(data, received_s=arrival_s, radars=self.radars, source=self.source)
        out.sightings = decoded.sightings
        out.messages += decoded.records + decoded.malformed
        out.malformed += decoded.malformed
        out.other += decoded.skipped + sum(decoded.no_radar.values())
        for sac, sic in sorted(set(decoded.no_radar) - self._told):
            self._told.add((sac, sic))
            out.notes.append(
                f"CAT048 plots of radar SAC/SIC {sac}/{sic} are dropped: say where it stands with "
                f"--radar {sac}/{sic}=LAT,LON,ALT_M"
            )
        return out


def modes_decoder(kind: str, source: str, reference: tuple[float, float] | None, start_s: float | None) -> Decoder:
    modes = ModeSDecoder(reference, source)
    if kind == "beast":
        return BeastDecoder(modes, start_s)
    return FramesDecoder(modes, avr_line if kind == "avr" else csv_line)
