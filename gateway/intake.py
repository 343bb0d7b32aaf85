"""The one small interface between a broker client and the pipeline.

An intake delivers each message to ``handler`` and acknowledges it (QoS 1) only
once the handler returned, that is once the message's effects are stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from firmware_bridge.records import RawMessage

MessageHandler = Callable[[RawMessage], Awaitable[None]]


class Intake(Protocol):
    async def run(self, handler: MessageHandler) -> None:
        """Connect, subscribe and deliver messages until ``stop`` is called."""
        ...

    async def stop(self) -> None:
        """Stop taking messages; unacknowledged ones stay queued at the broker."""
        ...
