"""Every feed format's decoder takes any bytes, in any chunks, and never raises; replays of
raw captures build the same states as the feeder."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.feed import Feed, Options, make_decoder
from deconline.ingest.captures import recording_from_states, states_over_time
from deconline.ingest.decoders import Decoder
from deconline.sources import SourceError, parse_source
from tests.conftest import SHARED

DATA = SHARED / "data"
needs_shared = pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/data (the recorded captures)")
FORMATS = ["beast+file:x", "avr+file:x", "csv+file:x", "sbs+file:x", "readsb+file:x", "asterix+file:x"]


def decoder(source: str) -> Decoder:
    return make_decoder(parse_source(source), Options(reference=(50.0, 5.0)), 1_764_000_000.0)


@pytest.mark.parametrize("source", FORMATS)
@given(st.lists(st.binary(max_size=300), max_size=12))
@settings(max_examples=60, deadline=None)
def test_garbage_is_counted_never_raised(source: str, chunks: list[bytes]) -> None:
    d = decoder(source)
    for chunk in chunks:
        outcome = d.take(chunk, 1_764_000_000.0)
        assert outcome.malformed <= outcome.messages or source.startswith("beast")
    d.finish()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beast://127.0.0.1:30005", ("beast", "tcp", "127.0.0.1", 30005)),
        ("avr://[::1]:30002", ("avr", "tcp", "::1", 30002)),
        ("asterix+udp://239.1.2.3:8600", ("asterix", "udp", "239.1.2.3", 8600)),
        ("readsb+http://pi.local:8080/data/aircraft.json", ("readsb", "http", "", 0)),
    ],
)
def test_sources_are_parsed(text: str, expected: tuple[str, str, str, int]) -> None:
    spec = parse_source(text)
    assert (spec.format, spec.transport, spec.host, spec.port) == expected
    if spec.transport == "http":
        assert spec.url == "http://pi.local:8080/data/aircraft.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("beast://host", "HOST:PORT with a port between 1 and 65535"),
        ("sbs://host:99999", "HOST:PORT"),
        ("beast+file:", "say which file"),
        ("readsb+http://", "say where"),
        ("ftp://x", "unsupported source 'ftp://x': use one of beast://HOST:PORT"),
    ],
)
def test_bad_sources_say_what_is_supported(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message.replace("(", r"\(")):
        parse_source(text)


@needs_shared
def test_a_frames_capture_replays_as_a_recording() -> None:
    feed = Feed([f"csv+file:{DATA / 'short_flights.csv'}"], None, None)
    sightings = feed.read_files()
    counts = {"messages": sum(feed.tally.messages.values()), "malformed": sum(feed.tally.malformed.values()),
              "other": sum(feed.tally.other.values())}  # fmt: skip
    # the aircraft status squitters (TC 28), and target states within 5 s of the aircraft's last one decoded
    assert counts == {"messages": 486, "malformed": 0, "other": 50}
    recording = recording_from_states(states_over_time(sightings), counts)
    assert recording.total == 486 and len(recording.time_s) > 100
    assert set(recording.ids) == {"ada526", "ab2760", "a6f2b7", "ac5920", "a5aa20", "acf4e8", "a43f51"}
    assert all(recording.time_s[k] <= recording.time_s[k + 1] for k in range(len(recording.time_s) - 1))
    per_second = {(round(t), i) for t, i in zip(recording.time_s, recording.ids, strict=True)}
    assert len(per_second) >= len(recording.time_s) - 6  # at most one state per aircraft per second
