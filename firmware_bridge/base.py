"""The one interface every firmware family implements.

Exception tree::

    BridgeError
     ├── DecodeError      a payload that cannot be decoded; carries the reason
     └── EncodeError      a command the family cannot express; carries the reason
"""

from __future__ import annotations

from typing import Protocol

from firmware_bridge.records import Command, Decoded, OutgoingMessage, RawMessage

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


class EncodeError(BridgeError):
    """A command this family cannot send (unknown path, a value of the wrong type)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Decoder(Protocol):
    """Turns one raw message of a bridge into a normalised update.

    Pure: no I/O, no clock. ``None`` means the topic does not belong to this bridge.
    Raises ``DecodeError`` when the topic belongs to the bridge but the payload is bad.
    """

    def decode(self, message: RawMessage) -> Decoded | None: ...


class Encoder(Protocol):
    """Turns a command into the MQTT message(s) the family expects. Pure.

    Families that take commands implement ``encode`` beside ``decode``.
    """

    def encode(self, command: Command) -> list[OutgoingMessage]: ...
