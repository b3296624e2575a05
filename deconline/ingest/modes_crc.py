"""The Mode S parity (CRC-24, generator 0xFFF409): a message whose remainder is zero is intact
(DF17/18 extended squitter; other formats overlay the address on the parity)."""

from __future__ import annotations

GENERATOR = 0xFFF409


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc = ((crc << 1) ^ GENERATOR) if crc & 0x800000 else crc << 1
        table.append(crc & 0xFFFFFF)
    return table


_TABLE = _table()


def remainder(message: bytes) -> int:
    """CRC-24 over the data bits, XORed with the last 24 bits: 0 for an intact extended squitter."""
    crc = 0
    for byte in message[:-3]:
        crc = ((crc << 8) & 0xFFFFFF) ^ _TABLE[((crc >> 16) ^ byte) & 0xFF]
    return crc ^ int.from_bytes(message[-3:], "big")


def downlink_format(message: bytes) -> int:
    return message[0] >> 3 if message else -1
