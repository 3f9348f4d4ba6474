"""One object, end to end: open → lines → bulk items → sink → dead letter → report.

Memory stays bounded: items are sent as soon as a bulk request's worth has accumulated. Every line
read is accounted for in the report: indexed, indexed as a failure record, or dead-lettered.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from .bulk import BulkEncoder, encode_batches, takes_native_path
from .deadletter import DeadLetterFile
from .formats import FORMATS, LogFormat, Unsupported, detect, key_info
from .reader import DEFAULT_MAX_LINE_BYTES, OverlongLine, TruncatedObject, line_batches
from .report import ObjectReport
from .sinks import BulkItem, DeadlineExceeded, Sink


class LogObject(Protocol):
    """A readable log object: an S3 object or a local file."""

    uri: str  # s3://bucket/key or a path
    key: str  # what detection and key parsing look at (the S3 key, or the path)

    def open(self) -> tuple[Callable[[int], bytes], Callable[[], None]]:
        """(read, close)."""


class DeadLetter(Protocol):
    def store(self, letter: DeadLetterFile, day: datetime | None) -> str | None:
        """Keep what `letter` holds under the object's day (None: undated); its location, or None if empty."""


@dataclass
class S3Object:
    s3: Any  # a boto3 S3 client
    bucket: str
    key: str
    fallback_key: str | None = None  # the other reading of an ambiguously encoded key

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def open(self):
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except self.s3.exceptions.NoSuchKey:
            if not self.fallback_key:
                raise
            self.key, self.fallback_key = self.fallback_key, None
            response = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        body = response["Body"]
        return body.read, body.close


@dataclass
class LocalFile:
    path: str
    key: str  # the path relative to what was asked for, so AWS's naming still shows

    @property
    def uri(self) -> str:
        return self.path

    def open(self):
        handle = open(self.path, "rb")
        return handle.read, handle.close


@dataclass
class Options:
    log_format: str = "auto"  # or a name in FORMATS
    index_prefixes: dict[str, str] | None = None  # format name → index prefix
    include_raw: bool = False
    bulk_max_bytes: int = 5 * 1024 * 1024
    bulk_max_docs: int = 5000
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # a longer line is a failure record, whole in the dead letter
    max_failure_share: float = 0.5  # an object with more lines failing to parse is flagged (report.warning)


def process_object(obj: LogObject, sink: Sink, dead_letter: DeadLetter, options: Options,
                   deadline: float = float("inf")) -> ObjectReport:
    """Index one object. Never raises for a problem with the object or the destination: the
    report says what happened (status ok, failed — to be retried —, or skipped)."""
    started = time.monotonic()
    report = ObjectReport(uri=obj.uri)
    close = None
    letter = DeadLetterFile(obj.uri)  # rejected and overlong lines, written as they come
    encoder = None
    try:
        read, close = obj.open()
        counted = _CountingReader(read)
        batches = line_batches(counted.read, max_line_bytes=options.max_line_bytes,
                               check_json_safe=not takes_native_path(options.include_raw))
        fmt, batches = _choose_format(obj.key, batches, options.log_format)
        report.format = fmt.name
        encoder = BulkEncoder(fmt, obj.uri, index_prefix=(options.index_prefixes or {}).get(fmt.name),
                              key=key_info(obj.key), include_raw=options.include_raw)
        shipment = _Shipment(sink, report, letter, deadline, options.bulk_max_bytes, options.bulk_max_docs)

        def overlong(line, line_number):
            letter.add_overlong(line_number, line, f"the line is longer than the {line.limit:,}-byte limit")
            report.overlong += 1

        truncated = None
        try:
            for items, _failures in encode_batches(encoder, batches, overlong):
                shipment.add(items)
        except TruncatedObject as e:
            truncated = e  # the lines before the cut are still sent, and their rejections kept
        shipment.flush()
        if truncated is not None:
            raise truncated
        report.status = "ok"
        _flag_mostly_unparsed(report, options.max_failure_share)
    except Unsupported as e:
        report.status, report.error = "skipped", str(e)
    except TruncatedObject as e:
        report.status, report.error = "failed", f"{e}; the lines before the cut were indexed"
    except DeadlineExceeded as e:
        report.status, report.error = "failed", str(e)
    except Exception as e:  # unreadable object, destination refusing requests: retry the object later
        report.status, report.error = "failed", f"{type(e).__name__}: {e}"
    finally:
        if close is not None:
            close()
        try:
            # Dated by the object (not today), so a retried object overwrites its own dead letter.
            report.dead_letter_uri = dead_letter.store(letter, _object_day(encoder))
        except Exception as e:
            report.status = "failed"
            report.error = (report.error + "; " if report.error else "") + f"dead letter not written: {type(e).__name__}: {e}"
        finally:
            letter.close()
        report.bytes_read = counted.bytes if close is not None else 0
        report.seconds = round(time.monotonic() - started, 3)
    return report


def _object_day(encoder: BulkEncoder | None) -> datetime | None:
    moment = encoder and (encoder.key_time or encoder.first_time)
    return datetime.fromisoformat(moment[:19]).replace(tzinfo=timezone.utc) if moment else None


def _flag_mostly_unparsed(report: ObjectReport, max_share: float) -> None:
    """An object most of whose lines did not parse is most likely not the format it was taken for."""
    if report.lines_read and report.failed / report.lines_read > max_share:
        report.warning = (f"{report.failed:,} of {report.lines_read:,} lines did not parse as {report.format} "
                          f"(more than {max_share:.0%}): is this the right format?")


def _choose_format(key: str, batches, name: str) -> tuple[LogFormat, Any]:
    """The object's format (from the setting, the key, or the first line) and the batches to read,
    the first one put back when it was read to look at the first line."""
    if name != "auto":
        return FORMATS[name], batches
    try:
        return detect(key), batches
    except Unsupported:
        pass
    first = next(batches, None)
    if isinstance(first, OverlongLine):
        first_line = first.prefix
    else:
        first_line = next((line for line in first[0] if line), b"") if first else b""
    fmt = detect(key, first_line.decode("utf-8", "replace"))
    return fmt, _chain(first, batches)


def _chain(first, rest):
    if first is not None:
        yield first
    yield from rest


class _CountingReader:
    def __init__(self, read: Callable[[int], bytes]):
        self._read = read
        self.bytes = 0

    def read(self, n: int) -> bytes:
        data = self._read(n)
        self.bytes += len(data)
        return data


class _Shipment:
    """Accumulates items up to one bulk request's worth, sends them, and keeps the rejections.

    A request is sent before the item that would take it past `max_bytes` or `max_docs`, so each
    flush is one full request (never a full one plus a one-item tail)."""

    def __init__(self, sink: Sink, report: ObjectReport, letter: DeadLetterFile, deadline: float,
                 max_bytes: int, max_docs: int):
        self.sink, self.report, self.letter, self.deadline = sink, report, letter, deadline
        self.max_bytes, self.max_docs = max_bytes, max_docs
        self.items: list[BulkItem] = []
        self.size = 0

    def add(self, items: list[BulkItem]) -> None:
        self.report.lines_read += len(items)
        max_bytes, max_docs = self.max_bytes, self.max_docs
        for item in items:
            length = len(item.body)
            if self.items and (self.size + length > max_bytes or len(self.items) >= max_docs):
                self.flush()
            self.items.append(item)
            self.size += length

    def flush(self) -> None:
        if not self.items:
            return
        if time.monotonic() >= self.deadline:
            raise DeadlineExceeded(len(self.items))
        items = self.items
        rejected = self.sink.send(items, self.deadline)
        # Counted item by item: a request may hold failure records from any of the batches it spans.
        failures_sent = sum(1 for item in items if item.failure)
        failures_rejected = sum(1 for r in rejected if r.item.failure)
        self.report.failed += failures_sent - failures_rejected
        self.report.indexed += len(items) - failures_sent - (len(rejected) - failures_rejected)
        self.report.dead_lettered += len(rejected)
        self.letter.add_rejections(rejected)
        self.items, self.size = [], 0
