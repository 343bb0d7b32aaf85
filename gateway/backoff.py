"""Jittered exponential backoff for reconnection and retries ("full jitter")."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base, self.cap = base, cap
        self._attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """A random delay in [0, min(cap, base * 2**attempt)], growing with each call."""
        ceiling = min(self.cap, self.base * (2 ** self._attempt))
        self._attempt = min(self._attempt + 1, 30)
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempt = 0
