"""What a destination for bulk items looks like; the OpenSearch and NDJSON-file sinks implement it."""
from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence


class BulkItem(NamedTuple):
    """One document ready for `_bulk`: the action line and the source, each ending in a newline."""

    body: bytes
    line_number: int  # where the line stood in its object (1-based)
    raw: bytes  # the raw log line as read (any bytes, not only UTF-8), for the dead letter
    failure: bool = False  # a failure record (a line that did not parse), not a parsed document


class Rejection(NamedTuple):
    """An item the destination refused for good (or that could not be sent before the deadline)."""

    item: BulkItem
    status: int  # the item's HTTP status from the bulk response, or the request's
    reason: str  # e.g. "mapper_parsing_exception: failed to parse field [source.ip]"


class DeadlineExceeded(Exception):
    """Time ran out with retryable items still unsent; the rest of the object must be sent later.

    `cause`: why the items were not sent in time, e.g. "items throttled (429) for 4 min" (None: the
    cluster answered normally, the time was simply too short). `unsent`: the items not yet indexed nor
    rejected, when the sink knows them (None: every item it was given); `rejected`: the items the sink
    rejected for good before time ran out. The pipeline resumes from the first unsent line."""

    def __init__(self, pending: int, cause: str | None = None, unsent: Sequence[BulkItem] | None = None,
                 rejected: Sequence[Rejection] = ()):
        text = f"{pending} items still unsent when the time ran out"
        super().__init__(f"{text}: {cause}" if cause else text)
        self.pending = pending
        self.cause = cause
        self.unsent = None if unsent is None else list(unsent)
        self.rejected = list(rejected)


class Sink(Protocol):
    def send(self, items: Sequence[BulkItem], deadline: float) -> list[Rejection]:
        """Index `items`; return the ones rejected for good.

        `deadline` is a `time.monotonic()` value: retries stop before it and DeadlineExceeded is raised
        when retryable items remain. Transient whole-request failures are retried internally."""

    def close(self) -> None: ...
