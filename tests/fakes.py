"""Test doubles shared by the test packages (tests/ is on sys.path: pytest puts the root conftest's
folder there)."""
from __future__ import annotations


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps (or a test calls `advance`)."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
