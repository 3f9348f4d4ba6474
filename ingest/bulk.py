"""Lines → bulk items: each line becomes a document (or a failure record) with its index and `_id`.

Nothing is doubled: the index is the UTC day of the document's time and the `_id` a hash of the
raw line, so indexing the same object again (a retry, a duplicate delivery, a backfill) overwrites
the same documents. Nothing is lost: a line that does not parse becomes a failure record carrying
the raw line and the reason, indexed beside the others and tagged `parse_failure`.
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Iterator, Sequence

from .formats import KeyInfo, LogFormat, ParseError
from .formats.base import json_escape
from .reader import json_safe
from .sinks import BulkItem


class BulkEncoder:
    """Turns the lines of one object into bulk items."""

    def __init__(self, fmt: LogFormat, source: str, *, index_prefix: str | None = None,
                 key: KeyInfo = KeyInfo(), fallback_time: str, include_raw: bool = False):
        """`source`: where the lines come from (s3://bucket/key or a path), stored in each document.
        `fallback_time`: the time of failure records when the key names none (ISO 8601 UTC)."""
        self.format = fmt
        self.source = source
        self.index_prefix = (index_prefix or fmt.index_prefix) + "-"
        self.include_raw = include_raw
        self.failure_time = key.time or fallback_time
        self._indices: dict[str, str] = {}
        cloud = ""
        if key.account or key.region:
            members = ['"provider":"aws"']
            if key.account:
                members.append('"account":{"id":"' + key.account + '"}')
            if key.region:
                members.append('"region":"' + json_escape(key.region) + '"')
            cloud = ',"cloud":{' + ",".join(members) + "}"
        # The members every document of this object ends with, up to its line number.
        self._event_head = ',"event":{"dataset":"' + fmt.dataset + '"'
        self._tail = cloud + ',"log":{"file":{"path":"' + json_escape(source) + '","line_number":'
        self._event_and_tail = self._event_head + "}" + self._tail

    def index_for(self, timestamp: str) -> str:
        """`<prefix>-YYYY.MM.DD` for an ISO 8601 UTC timestamp."""
        day = timestamp[:10]
        index = self._indices.get(day)
        if index is None:
            index = self._indices[day] = self.index_prefix + day.replace("-", ".")
        return index

    def encode(self, lines: Sequence[bytes], first_line_number: int, batch_is_json_safe: bool = False
               ) -> tuple[list[BulkItem], int]:
        """(bulk items, how many are failure records) for consecutive lines. Empty lines are
        skipped but still counted in the line numbers."""
        to_json = self.format.to_json
        index_for = self.index_for
        event_head = self._event_head
        tail = self._tail
        event_and_tail = self._event_and_tail
        include_raw = self.include_raw
        blake2b = hashlib.blake2b
        items: list[BulkItem] = []
        add = items.append
        failures = 0
        n = first_line_number - 1
        for raw in lines:
            n += 1
            if not raw:
                continue
            safe = batch_is_json_safe or json_safe(raw)
            try:
                line = raw.decode()
            except UnicodeDecodeError:  # keep the line: undecodable bytes become \xNN escapes
                line = raw.decode("utf-8", "backslashreplace")
                safe = False
            try:
                ts, members = to_json(line, safe)
            except ParseError as e:
                failures += 1
                add(self._failure_record(raw, line, n, str(e)))
                continue
            if include_raw:
                members += event_head + ',"original":"' + json_escape(line) + '"}' + tail
            else:
                members += event_and_tail
            add(BulkItem(
                ('{"index":{"_index":"' + index_for(ts) + '","_id":"' + blake2b(raw, digest_size=16).hexdigest()
                 + '"}}\n{' + members + str(n) + "}}}\n").encode(),
                n, line))
        return items, failures

    def _failure_record(self, raw: bytes, line: str, n: int, reason: str) -> BulkItem:
        doc_id = hashlib.blake2b(b"%s\n%d\n%s" % (self.source.encode(), n, raw), digest_size=16).hexdigest()
        body = ('{"index":{"_index":"' + self.index_for(self.failure_time) + '","_id":"' + doc_id + '"}}\n'
                '{"@timestamp":"' + self.failure_time + '"' + self._event_head + ',"original":"' + json_escape(line)
                + '"},"error":{"type":"parse_error","message":"' + json_escape(reason) + '"},"tags":["parse_failure"]'
                + self._tail + str(n) + "}}}\n")
        return BulkItem(body.encode(), n, line, failure=True)


def encode_batches(encoder: BulkEncoder, batches: Iterable[tuple[list[bytes], bool]]
                   ) -> Iterator[tuple[list[BulkItem], int]]:
    """encode() over an object's line batches (from reader.line_batches), numbering lines across them."""
    line_number = 1
    for lines, safe in batches:
        yield encoder.encode(lines, line_number, safe)
        line_number += len(lines)
