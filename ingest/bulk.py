"""Lines → bulk items: each line becomes a document (or a failure record) with its index and `_id`.

Nothing is doubled: the index is the UTC day of the document's time and the `_id` a hash of the
raw line, so indexing the same object again (a retry, a duplicate delivery, a backfill) overwrites
the same documents. Nothing is lost: a line that does not parse becomes a failure record carrying
the raw line and the reason, indexed beside the others and tagged `parse_failure`.
"""
from __future__ import annotations

import hashlib
import os
from functools import partial
from itertools import count
from operator import methodcaller
from typing import Iterable, Iterator, Sequence

from .formats import KeyInfo, LogFormat, ParseError
from .formats.base import json_escape
from .reader import json_safe
from .sinks import BulkItem

try:  # the C accelerator (ingest/_native.c), built by scripts/build_native.py; optional
    from . import _native
except ImportError:
    _native = None
if os.environ.get("INGEST_NATIVE") == "0":  # force the pure-Python path (tests compare the two)
    _native = None
_NATIVE_FORMATS = {} if _native is None else {"alb": _native.ALB, "s3-access": _native.S3_ACCESS}
_BLAKE2B_16 = partial(hashlib.blake2b, digest_size=16)
_HEXDIGEST = methodcaller("hexdigest")


class BulkEncoder:
    """Turns the lines of one object into bulk items."""

    def __init__(self, fmt: LogFormat, source: str, *, index_prefix: str | None = None,
                 key: KeyInfo = KeyInfo(), fallback_time: str, include_raw: bool = False, native: bool = True):
        """`source`: where the lines come from (s3://bucket/key or a path), stored in each document.
        `fallback_time`: the time of failure records when the key names none (ISO 8601 UTC).
        `native=False`: every line takes the pure-Python path (the reference the C accelerator matches)."""
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
        self._failures = 0  # failure records written so far
        self._native_format = None if include_raw or not native or _native is None else _NATIVE_FORMATS.get(fmt.name)
        self._index_prefix_bytes = self.index_prefix.encode()
        self._event_and_tail_bytes = self._event_and_tail.encode()

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
        failures_before = self._failures
        items: list[BulkItem] = []
        add = items.append
        encode_line = self._encode_line
        if self._native_format is None:
            for n, raw in enumerate(lines, first_line_number):
                if raw:
                    add(encode_line(raw, n, batch_is_json_safe))
        else:
            # The C accelerator writes the common lines; the ones it declines (None) take the
            # Python path, which is the reference for both.
            lines = lines if isinstance(lines, list) else list(lines)
            ids = list(map(_HEXDIGEST, map(_BLAKE2B_16, lines)))
            bodies = _native.encode(self._native_format, lines, ids, self._index_prefix_bytes,
                                    self._event_and_tail_bytes, first_line_number)
            for n, raw, body, doc_id in zip(count(first_line_number), lines, bodies, ids):
                if body is not None:
                    add(BulkItem(body, n, raw.decode("ascii")))  # the C path takes only ASCII lines
                elif raw:
                    add(encode_line(raw, n, batch_is_json_safe, doc_id))
        return items, self._failures - failures_before

    def _encode_line(self, raw: bytes, n: int, batch_is_json_safe: bool, doc_id: str | None = None) -> BulkItem:
        """One line on the Python path; `doc_id`: its _id when the caller already hashed it."""
        safe = batch_is_json_safe or json_safe(raw)
        try:
            line = raw.decode()
        except UnicodeDecodeError:  # keep the line: undecodable bytes become \xNN escapes
            line = raw.decode("utf-8", "backslashreplace")
            safe = False
        try:
            ts, members = self.format.to_json(line, safe)
        except ParseError as e:
            return self._failure_record(raw, line, n, str(e))
        if self.include_raw:
            members += self._event_head + ',"original":"' + json_escape(line) + '"}' + self._tail
        else:
            members += self._event_and_tail
        if doc_id is None:
            doc_id = hashlib.blake2b(raw, digest_size=16).hexdigest()
        return BulkItem(
            ('{"index":{"_index":"' + self.index_for(ts) + '","_id":"' + doc_id
             + '"}}\n{' + members + str(n) + "}}}\n").encode(),
            n, line)

    def _failure_record(self, raw: bytes, line: str, n: int, reason: str) -> BulkItem:
        self._failures += 1
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
