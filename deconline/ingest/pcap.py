"""UDP datagrams out of a classic libpcap capture, so recorded surveillance feeds can be replayed.

Only what a recorded feed needs: the classic format (microsecond and nanosecond, either byte
order), link types Ethernet (with 802.1Q/802.1ad tags), Linux cooked (SLL), raw IPv4 and BSD
loopback, IPv4 without fragmentation, UDP. Everything else in the capture (ARP, TCP, IPv6,
fragments, packets cut by the snap length, a torn last record) is counted and skipped, never
raised: a capture is evidence and half of it is better than nothing. Pure, stdlib only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["Datagram", "PcapError", "is_pcap", "udp_payloads"]

# magic as read little-endian → (byte order, ticks per second)
_MAGIC = {
    0xA1B2C3D4: ("<", 1_000_000),
    0xD4C3B2A1: (">", 1_000_000),
    0xA1B23C4D: ("<", 1_000_000_000),
    0x4D3CB2A1: (">", 1_000_000_000),
}
_PCAPNG = 0x0A0D0D0A
_GLOBAL_HEADER = 24
_RECORD_HEADER = 16

LINK_NULL, LINK_ETHERNET, LINK_RAW_BSD, LINK_RAW, LINK_SLL, LINK_IPV4 = 0, 1, 12, 101, 113, 228
_ETH_IPV4, _ETH_VLAN, _ETH_QINQ = 0x0800, 0x8100, 0x88A8
_UDP = 17


class PcapError(ValueError):
    """The bytes are not a classic libpcap file at all (the text says what they look like)."""


@dataclass(frozen=True)
class Datagram:
    time_s: float  # capture time, seconds since the epoch (UTC)
    src: str  # "a.b.c.d:port"
    dst_port: int
    payload: bytes


def is_pcap(data: bytes) -> bool:
    """Whether ``data`` starts like a classic libpcap file (any byte order, µs or ns)."""
    return len(data) >= 4 and int.from_bytes(data[:4], "little") in _MAGIC


def udp_payloads(data: bytes) -> tuple[list[Datagram], int]:
    """Every IPv4 UDP datagram in capture order, and how many packets were skipped.

    Raises ``PcapError`` only when ``data`` is not a classic pcap (so a caller can say so); a
    header cut short, a torn record or any packet that is not a whole unfragmented IPv4 UDP
    datagram counts as one skipped packet.
    """
    if not is_pcap(data):
        head = int.from_bytes(data[:4], "little") if len(data) >= 4 else None
        if head == _PCAPNG:
            raise PcapError("this is a pcapng file; convert it with `editcap -F pcap in.pcapng out.pcap`")
        raise PcapError("not a libpcap capture (no a1b2c3d4 / a1b23c4d magic number)")
    order, ticks = _MAGIC[int.from_bytes(data[:4], "little")]
    if len(data) < _GLOBAL_HEADER:
        return [], 1
    (link,) = struct.unpack_from(order + "I", data, 20)
    link &= 0xFFFF  # the upper bits may carry an FCS length
    found: list[Datagram] = []
    skipped = 0
    at = _GLOBAL_HEADER
    while at < len(data):
        if at + _RECORD_HEADER > len(data):
            skipped += 1  # a torn record header at the end
            break
        sec, frac, caplen, _wirelen = struct.unpack_from(order + "IIII", data, at)
        body = data[at + _RECORD_HEADER : at + _RECORD_HEADER + caplen]
        at += _RECORD_HEADER + caplen
        if len(body) < caplen:
            skipped += 1  # the file ends inside this packet
            break
        datagram = _datagram(link, body, sec + frac / ticks)
        if datagram is None:
            skipped += 1
        else:
            found.append(datagram)
    return found, skipped


def _datagram(link: int, frame: bytes, time_s: float) -> Datagram | None:
    ip = _ipv4_packet(link, frame)
    return None if ip is None else _udp(ip, time_s)


def _ipv4_packet(link: int, frame: bytes) -> bytes | None:
    """The IPv4 packet inside a link-layer frame, or None when it carries something else."""
    if link == LINK_ETHERNET:
        at = 12
        while at + 2 <= len(frame):
            ethertype = int.from_bytes(frame[at : at + 2], "big")
            if ethertype in (_ETH_VLAN, _ETH_QINQ):
                at += 4  # a tag: its TCI, then the real type
                continue
            return frame[at + 2 :] if ethertype == _ETH_IPV4 else None
        return None
    if link == LINK_SLL:
        return frame[16:] if len(frame) >= 16 and int.from_bytes(frame[14:16], "big") == _ETH_IPV4 else None
    if link in (LINK_RAW, LINK_RAW_BSD, LINK_IPV4):
        return frame
    if link == LINK_NULL:  # BSD loopback: the address family in the capturing host's byte order
        return frame[4:] if len(frame) >= 4 and frame[:4] in (b"\x02\0\0\0", b"\0\0\0\x02") else None
    return None


def _udp(ip: bytes, time_s: float) -> Datagram | None:
    """The UDP datagram in a whole, unfragmented IPv4 packet; None otherwise."""
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    header = (ip[0] & 0x0F) * 4
    total = int.from_bytes(ip[2:4], "big")
    flags_offset = int.from_bytes(ip[6:8], "big")
    if header < 20 or ip[9] != _UDP or flags_offset & 0x3FFF:  # more-fragments bit or a fragment offset
        return None
    if total < header + 8 or total > len(ip):
        return None  # cut by the snap length, or a lying length field
    udp = ip[header:total]
    src_port, dst_port, length = struct.unpack_from(">HHH", udp, 0)
    if length < 8 or length > len(udp):
        return None
    src = f"{ip[12]}.{ip[13]}.{ip[14]}.{ip[15]}:{src_port}"
    return Datagram(time_s, src, dst_port, bytes(udp[8:length]))
