"""The one interface every firmware family implements.

Exception tree::

    BridgeError
     └── DecodeError      a payload that cannot be decoded; carries the reason
"""

from __future__ import annotations

from typing import Protocol

from firmware_bridge.records import Decoded, RawMessage

#: Payloads above this size are refused before parsing.
MAX_PAYLOAD_BYTES = 256 * 1024


class BridgeError(Exception):
    """Root of firmware_bridge errors."""


class DecodeError(BridgeError):
    """A payload the family cannot decode. ``reason`` is shown to installers."""

    def __init__(self, reason: str, *, topic: str = "") -> None:
        super().__init__(f"{topic}: {reason}" if topic else reason)
        self.reason = reason
        self.topic = topic


class Decoder(Protocol):
    """Turns one raw message of a bridge into a normalised update.

    Pure: no I/O, no clock. ``None`` means the topic does not belong to this bridge.
    Raises ``DecodeError`` when the topic belongs to the bridge but the payload is bad.
    """

    def decode(self, message: RawMessage) -> Decoded | None: ...
