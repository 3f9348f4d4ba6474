"""One object, end to end: open → lines → bulk items → sink → dead letter → report.

Memory stays bounded: items are sent as soon as a bulk request's worth has accumulated. Every line
read is accounted for in the report: indexed, indexed as a failure record, or dead-lettered.

Progress is never thrown away: when time runs out, the report's `continuation` names the resume point,
the highest line L such that every line up to L is indexed, a failure record or dead-lettered (items
leave the encoder and the sink in line order, so L is the line before the first item not yet sent).
A later part (`process_object(..., resume=Resume(L, ...))`) reads the object again, counts lines up to L
without parsing them and goes on from L + 1 with the same `_id`s and indices as a full read: the time of
the last document up to L travels with the resume point, so failure records are dated as in a full read.
Lines after L that were settled too (throttled items are scattered) travel as `done_after` and are not
sent again, though still encoded, so the encoder sees them. Each part's report counts the items it
settled, so the counts of all parts add up to the object's.

Sending overlaps parsing (`Options.send_threads`, 1 by default): full requests go to one background sender
thread through a queue one request deep, while this thread parses the next (gzip, the socket and the C
accelerator's caller spend most of their time outside the GIL). At most three requests' worth of items are
held (one being sent, one waiting, one filling); the parse waits when the sender is behind. The sender only
sends: its outcomes come back in order and are counted here, and after a failure it sends nothing more, so
the resume point, the counts and the one-line errors are those of sending in this thread (`send_threads=0`).
"""
from __future__ import annotations

import base64
import queue
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from .bulk import BulkEncoder, _timestamp_of, encode_batches, takes_native_path
from .deadletter import DeadLetterFile
from .formats import FORMATS, LogFormat, Unsupported, detect, key_info
from .reader import DEFAULT_MAX_LINE_BYTES, OverlongLine, TruncatedObject, line_batches
from .report import ObjectReport
from .sinks import BulkItem, DeadlineExceeded, Rejection, Sink


class LogObject(Protocol):
    """A readable log object: an S3 object or a local file."""

    uri: str  # s3://bucket/key or a path
    key: str  # what detection and key parsing look at (the S3 key, or the path)

    def open(self) -> tuple[Callable[[int], bytes], Callable[[], None]]:
        """(read, close)."""


class DeadLetter(Protocol):
    def store(self, letter: DeadLetterFile, day: datetime | None) -> str | None:
        """Keep what `letter` holds under the object's day (None: undated); its location, or None if empty."""


class ObjectReplaced(Exception):
    """The object is no longer the one an earlier part read (its ETag changed)."""


@dataclass(frozen=True)
class Resume:
    """Where an earlier part of an object stopped: lines 1..`line` are done."""

    line: int
    etag: str | None = None  # the ETag of what the earlier part read: a resumed read checks it
    version_id: str | None = None  # or the version it read: a resumed read reads that version
    first_time: str | None = None  # the time of the object's first document, if it was among the lines done
    last_time: str | None = None  # the time of the last document among the lines done
    part: int = 1  # how many parts came before
    done_after: str | None = None  # lines after `line` done too (encode_lines/decode_lines: a bitmap)

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not None}


def encode_lines(first: int, lines: set[int]) -> str | None:
    """Line numbers after `first` as base64(zlib(bitmap)), bit i for line first + 1 + i; None for none."""
    lines = {n for n in lines if n > first}
    if not lines:
        return None
    bits = bytearray((max(lines) - first + 7) // 8)
    for n in lines:
        i = n - first - 1
        bits[i // 8] |= 1 << (i % 8)
    return base64.b64encode(zlib.compress(bytes(bits), 9)).decode()


def decode_lines(first: int, text: str | None) -> set[int]:
    if not text:
        return set()
    bits = zlib.decompress(base64.b64decode(text))
    return {first + 1 + i * 8 + b for i, byte in enumerate(bits) if byte for b in range(8) if byte >> b & 1}


@dataclass
class S3Object:
    s3: Any  # a boto3 S3 client
    bucket: str
    key: str
    fallback_key: str | None = None  # the other reading of an ambiguously encoded key
    version_id: str | None = None  # read this version (when the notification or an earlier part named one)
    expect_etag: str | None = None  # the ETag an earlier part read: ObjectReplaced when it changed
    etag: str | None = None  # what was read (set by open)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def open(self):
        from botocore.exceptions import ClientError

        try:
            response = self._get(self.key)
        except self.s3.exceptions.NoSuchKey:
            if not self.fallback_key:
                raise
            self.key, self.fallback_key = self.fallback_key, None
            response = self._get(self.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise ObjectReplaced(f"the object's ETag is no longer {self.expect_etag}") from None
            raise
        self.etag = response.get("ETag")
        self.version_id = response.get("VersionId") or self.version_id
        body = response["Body"]
        return body.read, body.close

    def _get(self, key: str) -> dict:
        extra: dict[str, str] = {}
        if self.version_id:
            extra["VersionId"] = self.version_id
        elif self.expect_etag:
            extra["IfMatch"] = self.expect_etag
        return self.s3.get_object(Bucket=self.bucket, Key=key, **extra)


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
    send_threads: int | None = None  # 1: send on a background thread while parsing on; 0: in line; None: the default
    enricher: Any = None  # ingest.enrich.Enricher: GeoIP / user-agent members for every document


# Measured by scripts/benchmark.py --e2e (README, Benchmark): see the figures there.
DEFAULT_SEND_THREADS = 1


def process_object(obj: LogObject, sink: Sink, dead_letter: DeadLetter, options: Options,
                   deadline: float = float("inf"), *, resume: Resume | None = None,
                   clock: Callable[[], float] = time.monotonic) -> ObjectReport:
    """Index one object, or the rest of it after `resume`. Never raises for a problem with the object or
    the destination: the report says what happened (status ok, failed — to be retried, from
    `report.continuation` when time ran out —, or skipped). `deadline` is a `clock()` value."""
    started = clock()
    start_line = resume.line if resume else 0
    report = ObjectReport(uri=obj.uri, start_line=start_line, part=(resume.part + 1) if resume else 1)
    close = None
    letter = None
    encoder = None
    stats = getattr(sink, "stats", None)
    throttled_before, backoff_before = _throttling(stats)
    shipment = None
    overlong_lines: list[int] = []
    try:
        if resume is not None and isinstance(obj, S3Object):
            obj.version_id = resume.version_id or obj.version_id
            obj.expect_etag = resume.etag
        try:
            read, close = obj.open()
        except ObjectReplaced as e:
            report.warning = f"{e}: the object was replaced since line {start_line:,}; read again from line 1"
            obj.expect_etag, resume, start_line = None, None, 0
            report.start_line, report.part = 0, 1
            read, close = obj.open()
        report.uri = obj.uri  # the key read: the other reading when the notified one is not there
        letter = DeadLetterFile(obj.uri, start_line)  # rejected and overlong lines, written as they come
        counted = _CountingReader(read)
        batches = line_batches(counted.read, max_line_bytes=options.max_line_bytes,
                               check_json_safe=not takes_native_path(options.include_raw))
        fmt, batches = _choose_format(obj.key, batches, options.log_format)
        report.format = fmt.name
        encoder = BulkEncoder(fmt, obj.uri, index_prefix=(options.index_prefixes or {}).get(fmt.name),
                              key=key_info(obj.key), include_raw=options.include_raw,
                              enricher=options.enricher)
        done_before = decode_lines(start_line, resume.done_after) if resume is not None else set()
        if resume is not None:
            encoder.resume(resume.first_time, resume.last_time)
        send_threads = DEFAULT_SEND_THREADS if options.send_threads is None else options.send_threads
        shipment = _Shipment(sink, report, letter, deadline, options.bulk_max_bytes, options.bulk_max_docs, clock,
                             background=send_threads > 0)
        shipment.done_before = done_before

        def overlong(line, line_number):
            if line_number in done_before:
                return  # in the earlier part's dead letter already
            letter.add_overlong(line_number, line, f"the line is longer than the {line.limit:,}-byte limit")
            overlong_lines.append(line_number)

        truncated = None
        try:
            for items, _failures in encode_batches(encoder, batches, overlong, start_line):
                if done_before:  # encoded all the same: the encoder must see them to date what follows
                    items = [item for item in items if item.line_number not in done_before]
                shipment.add(items)
        except TruncatedObject as e:
            truncated = e  # the lines before the cut are still sent, and their rejections kept
        shipment.finish()
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
        if shipment is not None and shipment.done_line is not None:
            report.lines_read = report.indexed + report.failed + report.dead_lettered
            report.continuation = Resume(
                line=shipment.done_line, etag=getattr(obj, "etag", None), version_id=getattr(obj, "version_id", None),
                first_time=encoder.first_time if encoder.first_time and shipment.last_time else None,
                last_time=shipment.last_time, part=report.part,
                done_after=encode_lines(shipment.done_line, shipment.done_after)).as_dict()
    except Exception as e:  # unreadable object, destination refusing requests: retry the object later
        report.status, report.error = "failed", f"{type(e).__name__}: {e}"
    finally:
        if shipment is not None:
            shipment.close()  # what was handed to the sender is sent and counted before the report is done
        if close is not None:
            close()
        if letter is not None:
            try:
                # Dated by the object (not today), so a retried object overwrites its own dead letter.
                report.dead_letter_uri = dead_letter.store(letter, _object_day(encoder))
            except Exception as e:
                report.status = "failed"
                report.continuation = None
                report.error = ((report.error + "; " if report.error else "")
                                + f"dead letter not written: {type(e).__name__}: {e}")
            finally:
                letter.close()
        report.bytes_read = counted.bytes if close is not None else 0
        done = shipment.done_line if shipment is not None else None
        # An overlong line after the resume point is counted by the part that settles it.
        report.overlong = sum(1 for n in overlong_lines if done is None or n <= done)
        if encoder is not None:  # header lines: no items, so counted by line number like overlong lines
            report.skipped_lines = sum(1 for n in encoder.skipped_lines if done is None or n <= done)
        throttled_after, backoff_after = _throttling(stats)
        report.throttled = throttled_after - throttled_before
        report.backoff_seconds = round(backoff_after - backoff_before, 3)
        report.seconds = round(clock() - started, 3)
    return report


def _throttling(stats: Any) -> tuple[int, float]:
    return (getattr(stats, "throttled_items", 0), getattr(stats, "backoff_seconds", 0.0)) if stats else (0, 0.0)


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
    flush is one full request (never a full one plus a one-item tail). When time runs out, `done_line`
    is the resume point (every line up to it is settled and counted, none after it is) and `last_time`
    the time of the last document up to it. `background`: requests are sent by a _Sender thread (the
    sink is then used by that thread only until `close`); outcomes are counted here, in request order."""

    def __init__(self, sink: Sink, report: ObjectReport, letter: DeadLetterFile, deadline: float,
                 max_bytes: int, max_docs: int, clock: Callable[[], float] = time.monotonic,
                 background: bool = False):
        self.sink, self.report, self.letter, self.deadline = sink, report, letter, deadline
        self.max_bytes, self.max_docs = max_bytes, max_docs
        self.clock = clock
        self.items: list[BulkItem] = []
        self.size = 0
        self.done_line: int | None = None  # set when time ran out
        self.done_after: set[int] = set()  # then: lines after done_line settled too
        self.done_before: set[int] = set()  # lines after the start an earlier part settled (never sent again)
        self.last_time: str | None = None  # the time of the last document up to the resume point
        self._sender = _Sender(self._send) if background else None

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
        """Send the items held (or hand them to the sender), and count what has come back."""
        if not self.items:
            return
        items, self.items, self.size = self.items, [], 0
        if self._sender is None:
            try:
                outcome = (items, self._send(items), None)
            except DeadlineExceeded as stop:
                outcome = (items, None, stop)
            self._settle(*outcome)
            return
        self._sender.put(items)
        for outcome in self._sender.outcomes():
            self._settle(*outcome)

    def finish(self) -> None:
        """The last request: send it, wait for the sender, count everything; raise what a send raised."""
        self.flush()
        if self._sender is not None:
            sender, self._sender = self._sender, None
            for outcome in sender.close():
                self._settle(*outcome)

    def close(self) -> None:
        """After a failure elsewhere: stop the sender once it has sent what it holds, and count that (its
        own failure, if any, gives way to the one already being reported)."""
        if self._sender is None:
            return
        sender, self._sender = self._sender, None
        for items, rejected, error in sender.close():
            try:
                self._settle(items, rejected, error)
            except Exception:
                pass

    def _send(self, items: list[BulkItem]) -> list[Rejection]:
        """One request (on the sender thread when there is one)."""
        if self.clock() >= self.deadline:
            cause = getattr(self.sink, "cause", None)
            raise DeadlineExceeded(len(items), cause() if cause else None, items)
        return self.sink.send(items, self.deadline)

    def _settle(self, items: list[BulkItem], rejected: list[Rejection] | None, error: BaseException | None) -> None:
        if error is None:
            self._count(items, rejected)
            return
        if isinstance(error, DeadlineExceeded):
            self._stop(items, items if error.unsent is None else error.unsent, error.rejected)
        raise error

    def _count(self, items: list[BulkItem], rejected: list[Rejection], dated: bool = True) -> None:
        # Counted item by item: a request may hold failure records from any of the batches it spans.
        failures_sent = sum(1 for item in items if item.failure)
        failures_rejected = sum(1 for r in rejected if r.item.failure)
        self.report.failed += failures_sent - failures_rejected
        self.report.indexed += len(items) - failures_sent - (len(rejected) - failures_rejected)
        self.report.dead_lettered += len(rejected)
        self.letter.add_rejections(rejected)
        last_document = next((item for item in reversed(items) if not item.failure), None) if dated else None
        if last_document is not None:
            self.last_time = _timestamp_of(last_document)

    def _stop(self, items: list[BulkItem], unsent: list[BulkItem], rejected: list[Rejection]) -> None:
        """Time ran out: count (and dead-letter) every item settled; the resume point is the line before the
        first unsent one, and the lines settled after it (here or by an earlier part) are remembered."""
        self.done_line = min(item.line_number for item in unsent) - 1 if unsent else items[-1].line_number
        waiting = {item.line_number for item in unsent}
        settled = [item for item in items if item.line_number not in waiting]
        self._count([item for item in settled if item.line_number <= self.done_line], [], dated=True)
        self._count([item for item in settled if item.line_number > self.done_line], [], dated=False)
        # Rejections: counted through _count's arithmetic above as indexed; move them to dead_lettered.
        self.report.dead_lettered += len(rejected)
        failures_rejected = sum(1 for r in rejected if r.item.failure)
        self.report.failed -= failures_rejected
        self.report.indexed -= len(rejected) - failures_rejected
        self.letter.add_rejections(rejected)
        self.done_after = {item.line_number for item in settled if item.line_number > self.done_line}
        self.done_after |= {n for n in self.done_before if n > self.done_line}

class _Sender:
    """One background thread sending the requests handed to it, in order, one waiting at most (`put` blocks
    while one is waiting). `outcomes()` gives (items, rejections, None) or (items, None, the exception) in
    request order; after an exception the requests that follow are not sent, and have no outcome."""

    def __init__(self, send: Callable[[list[BulkItem]], list[Rejection]]):
        self._send = send
        self._queue: queue.Queue[list[BulkItem] | None] = queue.Queue(maxsize=1)
        self._outcomes: deque[tuple[list[BulkItem], list[Rejection] | None, BaseException | None]] = deque()
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="bulk-sender", daemon=True)
        self._thread.start()

    def put(self, items: list[BulkItem]) -> None:
        self._queue.put(items)

    def outcomes(self):
        while self._outcomes:
            yield self._outcomes.popleft()

    def close(self):
        """Wait until everything handed over is sent (or skipped after a failure); the outcomes left."""
        self._queue.put(None)
        self._thread.join()
        return self.outcomes()

    def _run(self) -> None:
        while (items := self._queue.get()) is not None:
            if self._failed:
                continue  # sent in line, these would never have been sent either
            try:
                self._outcomes.append((items, self._send(items), None))
            except BaseException as error:  # re-raised on the caller's thread, where it is reported
                self._failed = True
                self._outcomes.append((items, None, error))
