"""Beast framing: the real capture, any chunking, any garbage; the Mode S parity."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.beast import PAYLOAD, BeastFrame, BeastReader, encode
from deconline.ingest.modes_crc import downlink_format, remainder
from tests.conftest import SHARED

CAPTURE = SHARED / "data" / "sample_dump1090.bin"
FRAMES_CSV = SHARED / "data" / "short_flights.csv"
needs_shared = pytest.mark.skipif(not CAPTURE.exists(), reason="needs ../shared/data (the recorded captures)")

frames = st.builds(
    lambda kind, ticks, signal, data: BeastFrame(
        kind, ticks, signal, data[: PAYLOAD[kind]].ljust(PAYLOAD[kind], b"\x1a")
    ),
    st.sampled_from(sorted(PAYLOAD)),
    st.integers(0, 2**48 - 1),
    st.integers(0, 255),
    st.binary(min_size=0, max_size=14),
)


def read_in_chunks(data: bytes, cuts: list[int]) -> tuple[list[BeastFrame], BeastReader]:
    reader = BeastReader()
    found: list[BeastFrame] = []
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for a, b in itertools.pairwise(points):
        found += reader.feed(data[a:b])
    return found, reader


@given(st.lists(frames, max_size=30), st.lists(st.integers(0, 2000), max_size=20))
@settings(max_examples=300)
def test_frames_come_back_whatever_the_chunking(sent: list[BeastFrame], cuts: list[int]) -> None:
    stream = b"".join(encode(f) for f in sent)
    found, reader = read_in_chunks(stream, cuts)
    assert found == sent
    assert reader.malformed == 0 and reader.frames == len(sent)


@given(st.lists(st.one_of(frames, st.binary(min_size=1, max_size=40)), max_size=30), st.lists(st.integers(0, 3000)))
@settings(max_examples=300)
def test_garbage_is_counted_and_skipped_never_raised(parts: list[BeastFrame | bytes], cuts: list[int]) -> None:
    stream = b"".join(encode(p) if isinstance(p, BeastFrame) else p for p in parts)
    found, reader = read_in_chunks(stream, cuts)
    assert all(len(f.message) == PAYLOAD[f.kind] for f in found)
    garbage = [p for p in parts if isinstance(p, bytes) and b"\x1a" not in p]
    if garbage:
        assert reader.malformed >= 1


def test_a_frame_cut_short_is_skipped_and_the_next_one_read() -> None:
    whole = BeastFrame(0x33, 12345, 200, bytes.fromhex("8D4840D6202CC371C32CE0576098"))
    cut = encode(whole)[:9]  # a receiver restarted mid-frame
    reader = BeastReader()
    assert reader.feed(cut + encode(whole)) == [whole]
    assert reader.malformed == 1


@needs_shared
def test_the_real_capture() -> None:
    reader = BeastReader()
    found = reader.feed(CAPTURE.read_bytes())
    assert (len(found), reader.malformed) == (239, 0)
    assert sum(f.kind == 0x32 for f in found) == 185 and sum(f.kind == 0x33 for f in found) == 54
    squitters = [f for f in found if downlink_format(f.message) == 17]
    assert len(squitters) == 23 and all(remainder(f.message) == 0 for f in squitters)
    assert {f.message[1:4].hex() for f in squitters} == {"48520a"}  # one aircraft squitters in this capture
    ticks = [f.mlat_ticks for f in found]
    assert ticks == sorted(ticks)  # the receiver's 12 MHz clock only goes forward


@needs_shared
def test_the_parity_of_real_extended_squitters() -> None:
    lines = FRAMES_CSV.read_text().split()
    messages = [bytes.fromhex(line.split(",")[1]) for line in lines]
    assert len(messages) == 486 and all(remainder(m) == 0 for m in messages)
    damaged = bytearray(messages[0])
    damaged[5] ^= 0x10
    assert remainder(bytes(damaged)) != 0


def test_parity_of_a_textbook_frame() -> None:
    """The example used throughout 'The 1090 MHz Riddle' (Sun): 8D406B902015A678D4D220AA4BDA."""
    frame = bytes.fromhex("8D406B902015A678D4D220AA4BDA")
    assert remainder(frame) == 0 and downlink_format(frame) == 17
    assert remainder(frame[:-1] + bytes([frame[-1] ^ 1])) != 0
