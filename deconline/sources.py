"""Where surveillance data comes from: receivers on TCP, radars on UDP, web servers and files.

A source is written ``FORMAT+TRANSPORT:WHERE`` (``beast://host:30005``, ``asterix+udp://0.0.0.0:8600``,
``readsb+file:/run/readsb/aircraft.json``). Readers here only move bytes: they hand what they read,
with its arrival time, to a format's decoder and the outcome to ``deliver``. Network readers
reconnect with back-off and never end on their own; file readers end at the end of the file.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from deconline.ingest.decoders import Decoder, Outcome

Say = Callable[[str], None]
Deliver = Callable[[Outcome], None]
CHUNK = 1 << 20
WHOLE_DOCUMENTS = ("asterix", "readsb")  # formats whose files are decoded in one piece

SCHEMES: tuple[tuple[str, str, str, str], ...] = (
    # prefix, format, transport, what it is
    ("beast://", "beast", "tcp", "Beast binary from dump1090/readsb/jet1090 (port 30005)"),
    ("beast+file:", "beast", "file", "a Beast capture"),
    ("avr://", "avr", "tcp", "raw frames, one '*8D...;' a line (port 30002)"),
    ("avr+file:", "avr", "file", "raw frames in a file"),
    ("sbs://", "sbs", "tcp", "BaseStation lines (port 30003)"),
    ("sbs+file:", "sbs", "file", "BaseStation lines in a file"),
    ("readsb+http://", "readsb", "http", "readsb/dump1090 aircraft.json over HTTP, polled"),
    ("readsb+https://", "readsb", "http", "the same over HTTPS"),
    ("readsb+file:", "readsb", "poll", "aircraft.json written by readsb, polled"),
    ("csv+file:", "csv", "file", "'unix_time,hex_frame' lines"),
    ("asterix+udp://", "asterix", "udp", "ASTERIX CAT021/048/062 datagrams (a multicast address joins the group)"),
    ("asterix+file:", "asterix", "file", "ASTERIX records, raw or in a libpcap capture"),
)
WHERE = {"tcp": "HOST:PORT", "udp": "HOST:PORT", "http": "HOST/PATH", "file": "PATH", "poll": "PATH"}
USAGE = ", ".join(prefix + WHERE[transport] for prefix, _, transport, _ in SCHEMES)


class SourceError(ValueError):
    """A source that cannot be understood (the text says what is supported)."""


@dataclass(frozen=True)
class SourceSpec:
    text: str
    format: str  # beast, avr, sbs, readsb, csv, asterix
    transport: str  # tcp, udp, http, file, poll
    host: str = ""
    port: int = 0
    path: Path | None = None
    url: str = ""

    @property
    def ends(self) -> bool:
        """Whether the source ends on its own (a file read to its end)."""
        return self.transport == "file"


def parse_source(text: str) -> SourceSpec:
    for prefix, fmt, transport, _ in SCHEMES:
        if not text.startswith(prefix):
            continue
        rest = text[len(prefix) :]
        if transport in ("file", "poll"):
            if not rest:
                raise SourceError(f"{text!r}: say which file, e.g. {prefix}/path/to/file")
            return SourceSpec(text, fmt, transport, path=Path(rest))
        if transport == "http":
            if not rest:
                raise SourceError(f"{text!r}: say where, e.g. {prefix}receiver:8080/data/aircraft.json")
            return SourceSpec(text, fmt, transport, url=prefix.split("+", 1)[1] + rest)
        host, colon, port = rest.rpartition(":")
        if not colon or not port.isdigit() or not 0 < int(port) < 65536 or not host:
            raise SourceError(f"{text!r}: expected {prefix}HOST:PORT with a port between 1 and 65535")
        return SourceSpec(text, fmt, transport, host=host.strip("[]"), port=int(port))
    raise SourceError(f"unsupported source {text!r}: use one of {USAGE}")


class Reader:
    """Runs one source in a thread until ``stop`` is set or (for a file) the end is reached."""

    def __init__(
        self, spec: SourceSpec, decoder: Decoder, deliver: Deliver, stop: threading.Event, say: Say, poll_s: float = 1.0
    ) -> None:
        self.spec = spec
        self.decoder = decoder
        self.deliver = deliver
        self.stop = stop
        self.say = say
        self.poll_s = poll_s
        self.connected = False

    def run(self) -> None:
        run = {
            "file": self.read_file,
            "poll": self._poll_file,
            "http": self._poll_http,
            "tcp": self._tcp,
            "udp": self._udp,
        }
        run[self.spec.transport]()

    def _take(self, data: bytes, arrival_s: float) -> None:
        outcome = self.decoder.take(data, arrival_s)
        for note in outcome.notes:
            self.say(f"{self.spec.text}: {note}")
        self.deliver(outcome)

    def read_file(self) -> None:
        """The whole file once: a stream in chunks, a document (a pcap, an aircraft.json) whole."""
        assert self.spec.path is not None
        try:
            with self.spec.path.open("rb") as handle:
                if self.spec.format in WHOLE_DOCUMENTS:
                    self._take(handle.read(), self.spec.path.stat().st_mtime)
                else:
                    while not self.stop.is_set() and (chunk := handle.read(CHUNK)):
                        self._take(chunk, time.time())
        except OSError as exc:
            self.say(f"{self.spec.text}: cannot read it: {exc.strerror or exc}")
            return
        self.deliver(self.decoder.finish())

    def _poll_file(self) -> None:
        assert self.spec.path is not None
        seen: float | None = None
        complained = False
        while not self.stop.is_set():
            try:
                stamp = self.spec.path.stat().st_mtime
                if stamp != seen:
                    self._take(self.spec.path.read_bytes(), time.time())
                    seen, complained = stamp, False
            except OSError as exc:
                if not complained:
                    self.say(f"{self.spec.text}: cannot read it ({exc.strerror or exc}); still trying")
                    complained = True
            self.stop.wait(self.poll_s)

    def _poll_http(self) -> None:
        backoff = self.poll_s
        with httpx.Client(timeout=5.0) as client:
            while not self.stop.is_set():
                try:
                    answer = client.get(self.spec.url)
                    answer.raise_for_status()
                except httpx.HTTPError as exc:
                    self.say(f"{self.spec.text}: {exc}; trying again in {backoff:.1f} s")
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = self.poll_s
                self._take(answer.content, time.time())
                self.stop.wait(self.poll_s)

    def _tcp(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                with socket.create_connection((self.spec.host, self.spec.port), timeout=5) as connection:
                    connection.settimeout(0.5)
                    self.connected = True
                    self.say(f"{self.spec.text}: connected")
                    backoff = 0.5
                    while not self.stop.is_set():
                        try:
                            chunk = connection.recv(65536)
                        except TimeoutError:
                            continue
                        if not chunk:
                            break
                        self._take(chunk, time.time())
                self.say(f"{self.spec.text}: the receiver closed the connection; reconnecting")
            except OSError as exc:
                self.say(f"{self.spec.text}: {exc.strerror or exc}; trying again in {backoff:.1f} s")
            finally:
                self.connected = False
            self.stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _udp(self) -> None:
        try:
            endpoint = udp_socket(self.spec.host, self.spec.port)
        except (OSError, ValueError) as exc:
            self.say(f"{self.spec.text}: cannot listen there: {exc}")
            return
        with endpoint:
            self.connected = True
            self.say(f"{self.spec.text}: listening")
            while not self.stop.is_set():
                try:
                    datagram = endpoint.recv(65536)
                except TimeoutError:
                    continue
                except OSError as exc:
                    self.say(f"{self.spec.text}: {exc}")
                    self.stop.wait(0.5)
                    continue
                self._take(datagram, time.time())


def udp_socket(host: str, port: int) -> socket.socket:
    """Bound to ``host:port``; a multicast group address is joined on all interfaces."""
    address = ipaddress.ip_address(socket.gethostbyname(host))
    endpoint = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    endpoint.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    endpoint.settimeout(0.5)
    if address.is_multicast:
        endpoint.bind(("", port))
        group = struct.pack("4s4s", address.packed, socket.inet_aton("0.0.0.0"))
        endpoint.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
    else:
        endpoint.bind((str(address), port))
    return endpoint
