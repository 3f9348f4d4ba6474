"""Lines → bulk items: each line becomes a document (or a failure record) with its index and `_id`.

Nothing is doubled: the index is the UTC day of the document's time and the `_id` a hash of the
raw line, so indexing the same object again (a retry, a duplicate delivery, a backfill) overwrites
the same documents. Nothing is lost: a line that does not parse becomes a failure record carrying
the raw line and the reason, indexed beside the others and tagged `parse_failure`.

A failure record has no time of its own, and its index must follow from the object alone (never from a
clock or a file's mtime, or a replay would write the same `_id` into a second index). Its time is the
one the object's key names (AWS names ALB and S3 access log objects by time); else the time of the
last document parsed before it in the object; failure records before the object's first document
wait for it (up to MAX_WAITING_FAILURES) and take its time; those that find none are dated
UNDATED (1970-01-01).
"""
from __future__ import annotations

import hashlib
import os
import re
from itertools import count
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from .formats import KeyInfo, LogFormat, ParseError
from .formats.base import SkipLine, json_escape
from .reader import Batch, OverlongLine, TruncatedObject, json_safe
from .sinks import BulkItem

if TYPE_CHECKING:
    from .enrich import Enricher

try:  # the C accelerator (ingest/_native.c), built by scripts/build_native.py; optional
    from . import _native
except ImportError:
    _native = None
if os.environ.get("INGEST_NATIVE") == "0":  # force the pure-Python path (tests compare the two)
    _native = None
_NATIVE_FORMATS = {} if _native is None else {"alb": _native.ALB, "s3-access": _native.S3_ACCESS}


def takes_native_path(include_raw: bool = False) -> bool:
    """Whether lines go through the C accelerator first (then the reader need not check batches for
    JSON safety: the accelerator checks what it takes, the Python path each line it gets)."""
    return bool(_NATIVE_FORMATS) and not include_raw


UNDATED = "1970-01-01T00:00:00Z"  # the time of failure records in an object with no time at all
MAX_WAITING_FAILURES = 10_000  # failure records held while waiting for the object's first document
_TIMESTAMP = re.compile(rb'\n\{"@timestamp":"([^"]+)"')  # in an item's body, after the action line


class BulkEncoder:
    """Turns the lines of one object into bulk items."""

    def __init__(self, fmt: LogFormat, source: str, *, index_prefix: str | None = None,
                 key: KeyInfo = KeyInfo(), include_raw: bool = False, native: bool = True,
                 enricher: Enricher | None = None):
        """`source`: where the lines come from (s3://bucket/key or a path), stored in each document.
        `key`: what the object's name tells (its time dates failure records).
        `native=False`: every line takes the pure-Python path (the reference the C accelerator matches).
        `enricher`: GeoIP and user-agent members for every document (ingest/enrich.py), on both paths."""
        self.format = fmt
        # A format whose lines depend on earlier ones gets a parser of its own for this object.
        self._parser = fmt.for_object() if hasattr(fmt, "for_object") else fmt
        self.skipped_lines: list[int] = []  # line numbers of lines the format says are no records (headers)
        self.source = source
        self.index_prefix = (index_prefix or fmt.index_prefix) + "-"
        self.include_raw = include_raw
        self.key_time = key.time
        self.first_time: str | None = None  # the object's first document's time
        self._last_time: str | None = None  # the time of the last document encoded so far
        self._waiting: list[tuple[bytes, str, int, str, bytes]] = []  # failures before the first document
        self._batch: list[BulkItem] = []  # the items being encoded
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
        self._enricher = enricher if enricher is not None and enricher.enabled else None
        self._native_enrich = None if self._enricher is None else (
            enricher.geo, enricher.geo_miss, enricher.ua, enricher.ua_miss)

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
        self._batch = items  # the failure records' time looks back at the documents of this batch
        add = items.append
        encode_line = self._encode_line
        if self._native_format is None:
            for n, raw in enumerate(lines, first_line_number):
                if raw:
                    item = encode_line(raw, n, batch_is_json_safe)
                    if item is not None:
                        add(item)
        else:
            # The C accelerator writes the common lines, their _id included (hashed there, off the GIL);
            # the ones it declines (None) take the Python path, which is the reference for both.
            lines = lines if isinstance(lines, list) else list(lines)
            bodies = _native.encode(self._native_format, lines, self._index_prefix_bytes,
                                    self._event_and_tail_bytes, first_line_number, self._native_enrich)
            for n, raw, body in zip(count(first_line_number), lines, bodies):
                if body is not None:
                    add(BulkItem(body, n, raw))
                elif raw:
                    item = encode_line(raw, n, batch_is_json_safe)
                    if item is not None:
                        add(item)
        self._remember_last_time(items)
        if self._waiting and self.first_time is not None:
            # Ahead of this batch's items: they all come after the waiting lines, and items leave the
            # encoder in line order (a resumed object relies on it to know which lines are done).
            released: list[BulkItem] = []
            self._release_waiting(self.first_time, released)
            items[:0] = released
        return items, self._failures - failures_before

    def resume(self, first_time: str | None, last_time: str | None) -> None:
        """Continue an object after lines already done: `first_time` is the time of its first document,
        `last_time` the time of the last document among the lines done (what a full read would know there),
        so failure records after them are dated exactly as in a full read."""
        self.first_time = first_time
        self._last_time = last_time

    def pass_over(self, lines: Sequence[bytes]) -> None:
        """Lines an earlier part did (a resumed object), not encoded again: a format whose lines depend
        on earlier ones still reads them (a header before the resume point names the columns after it)."""
        observe = getattr(self._parser, "observe", None)
        if observe is not None:
            for raw in lines:
                observe(raw)

    def encode_overlong(self, line: OverlongLine, n: int) -> list[BulkItem]:
        """The failure record of a line over the length limit: its first bytes, length and SHA-256
        (and any failure records that were waiting and can wait no longer)."""
        items: list[BulkItem] = []
        self._batch = items
        reason = (f"the line is {line.length:,} bytes, longer than the {line.limit:,}-byte limit; its first "
                  f"{len(line.prefix):,} bytes are kept here, the whole line (sha256 {line.sha256}) in the dead letter")
        item = self._failure_record(line.prefix, line.prefix.decode("utf-8", "backslashreplace"), n, reason,
                                    id_of=line.sha256.encode())
        if item is not None:
            items.append(item)
        return items

    def finish(self) -> list[BulkItem]:
        """The failure records still waiting for a document when the object ends: dated UNDATED."""
        items: list[BulkItem] = []
        self._release_waiting(UNDATED, items)
        return items

    def _remember_last_time(self, items: list[BulkItem]) -> None:
        for item in reversed(items):
            if not item.failure:
                self._last_time = _timestamp_of(item)
                if self.first_time is None:
                    self.first_time = next(_timestamp_of(i) for i in items if not i.failure)
                return

    def _release_waiting(self, time: str, items: list[BulkItem]) -> None:
        waiting, self._waiting = self._waiting, []
        for raw, line, n, reason, id_of in waiting:
            items.append(self._record(raw, line, n, reason, time, id_of))

    def _encode_line(self, raw: bytes, n: int, batch_is_json_safe: bool) -> BulkItem | None:
        """One line on the Python path (None: no item)."""
        safe = batch_is_json_safe or json_safe(raw)
        try:
            line = raw.decode()
        except UnicodeDecodeError:  # keep the line: undecodable bytes become \xNN escapes
            line = raw.decode("utf-8", "backslashreplace")
            safe = False
        try:
            ts, members = self._parser.to_json(line, safe)
        except ParseError as e:
            return self._failure_record(raw, line, n, str(e))
        except SkipLine:
            self.skipped_lines.append(n)
            return None
        if self._enricher is not None:
            members = self._enricher.apply(members)
        if self.include_raw:
            members += self._event_head + ',"original":"' + json_escape(line) + '"}' + self._tail
        else:
            members += self._event_and_tail
        doc_id = hashlib.blake2b(raw, digest_size=16).hexdigest()  # as _native.c's blake2b_16_hex
        return BulkItem(
            ('{"index":{"_index":"' + self.index_for(ts) + '","_id":"' + doc_id
             + '"}}\n{' + members + str(n) + "}}}\n").encode(),
            n, raw)

    def _failure_record(self, raw: bytes, line: str, n: int, reason: str, id_of: bytes | None = None
                        ) -> BulkItem | None:
        """The failure record of a line, or None when it waits for the object's first document.
        `id_of`: what its `_id` hashes besides the source and line number (default: the raw line)."""
        id_of = raw if id_of is None else id_of
        time = self.key_time or self._time_before()
        if time is not None:
            return self._record(raw, line, n, reason, time, id_of)
        self._waiting.append((raw, line, n, reason, id_of))
        if len(self._waiting) >= MAX_WAITING_FAILURES:  # counted line by line: the same for any batching
            self._release_waiting(UNDATED, self._batch)
        return None

    def _time_before(self) -> str | None:
        """The time of the last document before the current line."""
        for item in reversed(self._batch):
            if not item.failure:
                return _timestamp_of(item)
        return self._last_time

    def _record(self, raw: bytes, line: str, n: int, reason: str, time: str, id_of: bytes) -> BulkItem:
        self._failures += 1
        doc_id = hashlib.blake2b(b"%s\n%d\n%s" % (self.source.encode(), n, id_of), digest_size=16).hexdigest()
        body = ('{"index":{"_index":"' + self.index_for(time) + '","_id":"' + doc_id + '"}}\n'
                '{"@timestamp":"' + time + '"' + self._event_head + ',"original":"' + json_escape(line)
                + '"},"error":{"type":"parse_error","message":"' + json_escape(reason) + '"},"tags":["parse_failure"]'
                + self._tail + str(n) + "}}}\n")
        return BulkItem(body.encode(), n, raw, failure=True)


def _timestamp_of(item: BulkItem) -> str:
    return _TIMESTAMP.search(item.body).group(1).decode()


def encode_batches(encoder: BulkEncoder, batches: Iterable[Batch],
                   on_overlong: Callable[[OverlongLine, int], None] | None = None, start_line: int = 0
                   ) -> Iterator[tuple[list[BulkItem], int]]:
    """encode() over an object's line batches (from reader.line_batches), numbering lines across them;
    `on_overlong(line, line_number)` sees each line over the length limit before its spool file goes.
    Failure records still waiting for a document come last, also when the object is cut short.
    `start_line`: lines up to it are done already; they are counted, not parsed (see BulkEncoder.resume)."""
    line_number = 1
    try:
        for batch in batches:
            if line_number <= start_line:
                if isinstance(batch, OverlongLine):
                    batch.close()
                    line_number += 1
                    continue
                lines, safe = batch
                if line_number + len(lines) - 1 <= start_line:
                    encoder.pass_over(lines)
                    line_number += len(lines)
                    continue
                done = start_line - line_number + 1
                encoder.pass_over(lines[:done])
                batch = (lines[done:], safe)
                line_number += done
            if isinstance(batch, OverlongLine):
                try:
                    if on_overlong is not None:
                        on_overlong(batch, line_number)
                    items = encoder.encode_overlong(batch, line_number)
                finally:
                    batch.close()
                yield items, sum(1 for item in items if item.failure)
                line_number += 1
                continue
            lines, safe = batch
            yield encoder.encode(lines, line_number, safe)
            line_number += len(lines)
    except TruncatedObject:
        last = encoder.finish()
        if last:
            yield last, len(last)
        raise
    last = encoder.finish()
    if last:
        yield last, len(last)
