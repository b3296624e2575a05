"""The Beast binary stream (dump1090/readsb port 30005): frames out of a byte stream.

A frame is ``0x1a``, a type byte (``'1'`` Mode A/C, ``'2'`` Mode S short, ``'3'`` Mode S long),
a 6-byte MLAT timestamp (a 12 MHz counter), one signal byte and the message; every ``0x1a`` inside
a frame is doubled. The reader is incremental (bytes arrive in arbitrary chunks from a socket or a
file) and never raises on bad input: what cannot be a frame is counted and skipped, and it
resynchronises on the next frame start.
"""

from __future__ import annotations

from typing import NamedTuple

ESCAPE = 0x1A
PAYLOAD = {0x31: 2, 0x32: 7, 0x33: 14}  # Mode A/C, Mode S short (56 bits), Mode S long (112 bits)
HEADER = 7  # 6 bytes of MLAT timestamp, 1 byte of signal level
MLAT_HZ = 12_000_000


class BeastFrame(NamedTuple):
    """A tuple: a busy receiver sends thousands a second and a dataclass costs several times more."""

    kind: int  # 0x31, 0x32 or 0x33
    mlat_ticks: int  # 12 MHz counter of the receiver
    signal: int
    message: bytes

    @property
    def hex(self) -> str:
        return self.message.hex().upper()


def encode(frame: BeastFrame) -> bytes:
    """The frame as it travels (for tests and fake receivers): escape byte doubled inside."""
    body = frame.mlat_ticks.to_bytes(6, "big") + bytes([frame.signal]) + frame.message
    return bytes([ESCAPE, frame.kind]) + body.replace(b"\x1a", b"\x1a\x1a")


class BeastReader:
    """Feed it bytes, get whole frames; ``malformed`` counts what had to be skipped."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.malformed = 0

    def feed(self, data: bytes) -> list[BeastFrame]:
        self._buffer += data
        found: list[BeastFrame] = []
        buffer = self._buffer
        start = 0
        while True:
            at = buffer.find(ESCAPE, start)
            if at < 0:
                if start < len(buffer):
                    self.malformed += 1  # bytes that belong to no frame
                start = len(buffer)
                break
            if at > start:
                self.malformed += 1
            if at + 1 >= len(buffer):
                start = at
                break  # wait for the type byte
            kind = buffer[at + 1]
            if kind not in PAYLOAD:
                if kind != ESCAPE:
                    self.malformed += 1
                start = at + 1 if kind != ESCAPE else at + 2
                continue
            body, end = _unescape(buffer, at + 2, HEADER + PAYLOAD[kind])
            if body is None:
                if end < 0:
                    start = at
                    break  # incomplete: wait for more bytes
                self.malformed += 1  # a lone 0x1a inside: a frame cut short; resync there
                start = end
                continue
            found.append(BeastFrame(kind, int.from_bytes(body[:6], "big"), body[6], bytes(body[HEADER:])))
            start = end
        del buffer[:start]
        self.frames += len(found)
        return found


def _unescape(buffer: bytearray, at: int, length: int) -> tuple[bytearray | None, int]:
    """``length`` unescaped bytes from ``at``: (body, index after it); (None, -1) when the buffer
    ends first; (None, i) when a lone escape byte at ``i`` starts another frame."""
    end = at + length
    if end <= len(buffer) and buffer.find(ESCAPE, at, end) < 0:
        return buffer[at:end], end  # the common case: nothing escaped
    body = bytearray()
    i = at
    while len(body) < length:
        if i >= len(buffer):
            return None, -1
        byte = buffer[i]
        if byte == ESCAPE:
            if i + 1 >= len(buffer):
                return None, -1
            if buffer[i + 1] != ESCAPE:
                return None, i
            i += 1
        body.append(byte)
        i += 1
    return body, i
