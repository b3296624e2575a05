"""libpcap reader: link types, byte orders, what is skipped, and captures cut anywhere."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.pcap import Datagram, PcapError, is_pcap, udp_payloads
from tests.conftest import SHARED

ASTERIX = SHARED / "data" / "asterix"
needs_shared = pytest.mark.skipif(not ASTERIX.exists(), reason="needs ../shared/data (the recorded captures)")


def ipv4(payload: bytes, *, proto: int = 17, src: bytes = bytes([10, 0, 0, 1]), flags_offset: int = 0) -> bytes:
    """An IPv4 packet (checksum left 0: the reader does not check it) around a UDP datagram."""
    udp = struct.pack(">HHHH", 4000, 8600, 8 + len(payload), 0) + payload if proto == 17 else payload
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, flags_offset, 64, proto, 0, src, bytes(4))
    return header + udp


def ethernet(packet: bytes, *, ethertype: int = 0x0800, vlans: int = 0) -> bytes:
    tags = b"".join(struct.pack(">HH", 0x8100, 7) for _ in range(vlans))
    return bytes(12) + tags + struct.pack(">H", ethertype) + packet


def sll(packet: bytes) -> bytes:
    return struct.pack(">HHH8sH", 0, 1, 6, bytes(8), 0x0800) + packet


def pcap(frames: list[tuple[float, bytes]], *, link: int = 1, nano: bool = False, order: str = "<") -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    ticks = 1_000_000_000 if nano else 1_000_000
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, link)
    for t, frame in frames:
        sec = int(t)
        out += struct.pack(order + "IIII", sec, round((t - sec) * ticks), len(frame), len(frame)) + frame
    return out


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("order", ["<", ">"])
def test_both_byte_orders_and_resolutions(nano: bool, order: str) -> None:
    data = pcap([(1700000000.25, ethernet(ipv4(b"hello")))], nano=nano, order=order)
    assert is_pcap(data)
    found, skipped = udp_payloads(data)
    assert skipped == 0
    assert found == [Datagram(1700000000.25, "10.0.0.1:4000", 8600, b"hello")]


@pytest.mark.parametrize(
    ("link", "frame"),
    [
        (1, ethernet(ipv4(b"x"))),
        (1, ethernet(ipv4(b"x"), vlans=1)),
        (1, ethernet(ipv4(b"x"), vlans=2)),  # QinQ as two 802.1Q tags
        (113, sll(ipv4(b"x"))),
        (101, ipv4(b"x")),
        (12, ipv4(b"x")),
        (0, b"\x02\x00\x00\x00" + ipv4(b"x")),  # BSD loopback
    ],
)
def test_link_types(link: int, frame: bytes) -> None:
    found, skipped = udp_payloads(pcap([(1.0, frame)], link=link))
    assert (len(found), skipped) == (1, 0)
    assert found[0].payload == b"x"


def test_what_is_not_a_whole_ipv4_udp_datagram_is_counted() -> None:
    frames = [
        ethernet(ipv4(b"tcp", proto=6)),
        ethernet(ipv4(b"first fragment", flags_offset=0x2000)),  # more fragments
        ethernet(ipv4(b"later fragment", flags_offset=0x0010)),
        ethernet(b"\x00" * 28, ethertype=0x0806),  # ARP
        ethernet(b"\x60" + bytes(47), ethertype=0x86DD),  # IPv6
        ethernet(ipv4(b"cut by the snap length")[:30]),
        ethernet(ipv4(b"kept")),
    ]
    found, skipped = udp_payloads(pcap([(float(i), f) for i, f in enumerate(frames)]))
    assert [d.payload for d in found] == [b"kept"]
    assert skipped == 6


def test_unknown_link_type_skips_every_packet() -> None:
    assert udp_payloads(pcap([(1.0, ipv4(b"x"))], link=147)) == ([], 1)


def test_not_a_pcap_raises_a_pcap_error() -> None:
    with pytest.raises(PcapError, match="not a libpcap"):
        udp_payloads(b"GET / HTTP/1.1\r\n")
    with pytest.raises(PcapError, match="pcapng"):
        udp_payloads(bytes.fromhex("0a0d0d0a") + bytes(40))
    assert not is_pcap(b"") and not is_pcap(b"\xa1\xb2")


def test_a_header_alone_or_cut_is_empty() -> None:
    header = pcap([])
    assert udp_payloads(header) == ([], 0)
    assert udp_payloads(header[:10]) == ([], 1)


@given(st.binary(max_size=600))
@settings(max_examples=400)
def test_garbage_after_a_valid_header_never_raises(tail: bytes) -> None:
    for link in (0, 1, 101, 113):
        found, skipped = udp_payloads(pcap([], link=link) + tail)
        assert all(isinstance(d.payload, bytes) for d in found) and skipped >= 0


@needs_shared
@pytest.mark.parametrize(
    ("name", "datagrams", "first"),
    [
        # read off the hex dump: record header seconds/microseconds, IPv4 source, UDP ports and length - 8
        ("asterix.pcap", 100, (1210855665.763759, "172.22.25.12:32773", 20402, 55)),
        ("cat_034_048.pcap", 100, (1462433756.508910, "10.17.58.184:21124", 22131, 48)),
        ("cat_062_065.pcap", 1, (1393332227.401501, "10.19.16.21:56798", 10001, 173)),
    ],
)
def test_real_captures(name: str, datagrams: int, first: tuple[float, str, int, int]) -> None:
    found, skipped = udp_payloads((ASTERIX / name).read_bytes())
    assert (len(found), skipped) == (datagrams, 0)
    d = found[0]
    assert d.time_s == pytest.approx(first[0], abs=1e-6)
    assert (d.src, d.dst_port, len(d.payload)) == first[1:]
    assert all(d.payload[0] in (34, 48, 62, 65) for d in found)  # every payload starts an ASTERIX datablock


@needs_shared
def test_a_capture_cut_anywhere_gives_a_prefix() -> None:
    data = (ASTERIX / "cat_034_048.pcap").read_bytes()
    full, _ = udp_payloads(data)
    ends, at = [], 24  # where each record ends, walking the little-endian record headers
    while at < len(data):
        at += 16 + struct.unpack_from("<I", data, at + 8)[0]
        ends.append(at)
    for cut in range(24, len(data) + 1, 7):
        found, skipped = udp_payloads(data[:cut])
        whole = sum(end <= cut for end in ends)
        assert found == full[:whole]
        assert skipped == (0 if cut == 24 or cut in ends else 1)
