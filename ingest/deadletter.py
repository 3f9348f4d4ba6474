"""Dead letter: lines that could not be indexed, kept with their raw text and the reason.

One gzip-compressed NDJSON object per source object, at
    <prefix><yyyy>/<mm>/<dd>/<source bucket>/<source key>.<hash>.ndjson.gz
where <hash> is the first 12 hex digits of SHA-256 of the source path. The name depends only on the source
path and the day, so a retried object overwrites its dead letter instead of adding a second one. A part of
an object resumed after line N (its earlier part ran out of time) is written beside it as
`<key>.<hash>.from-<N+1>.ndjson.gz`, so it never overwrites the entries of the earlier part. The
pipeline passes the object's own day (its key's time, else its first document's); an object with no time
at all goes under `undated/`. The hash keeps names unique when a long source key has to be shortened to
fit S3's 1024-byte key limit. Local sources go under `local/`.

Each line: {"source": "s3://…", "line_number": 12, "status": 400, "reason": "…", "raw": "…"}, plus
"raw_base64" (the line's exact bytes) when the line is not valid UTF-8: "raw" then shows each undecodable
byte as \\xNN. An object's entries are written as they come into a gzip temporary file (DeadLetterFile),
never held in memory, so a cluster that rejects every line of a huge object cannot exhaust the Lambda's
memory; lines over the length limit are copied in from their own spool file in chunks.
"""
from __future__ import annotations

import base64
import codecs
import gzip
import hashlib
import shutil
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import orjson

from .reader import OverlongLine
from .sinks import Rejection

S3_MAX_KEY_BYTES = 1024
SUFFIX = ".ndjson.gz"


class DeadLetterEntry(NamedTuple):
    source: str  # s3://bucket/key or a local path
    line_number: int  # 1-based, 0 when the failure concerns the whole object
    raw: bytes | str  # the line as read (bytes), or as text
    reason: str
    status: int | None  # HTTP status from OpenSearch, None when nothing was sent (e.g. unreadable object)


def entries_from_rejections(source_path: str, rejections: Iterable[Rejection]) -> list[DeadLetterEntry]:
    return [DeadLetterEntry(source_path, r.item.line_number, r.item.raw, r.reason, r.status) for r in rejections]


def _record(entry: DeadLetterEntry | Mapping[str, Any]) -> bytes:
    if not isinstance(entry, Mapping):
        entry = entry._asdict()
    raw = entry["raw"]
    record = {
        "source": entry["source"],
        "line_number": entry["line_number"],
        "status": entry["status"],
        "reason": entry["reason"],
        "raw": raw,
    }
    if isinstance(raw, bytes):
        try:
            record["raw"] = raw.decode()
        except UnicodeDecodeError:
            record["raw"] = raw.decode("utf-8", "backslashreplace")
            record["raw_base64"] = base64.b64encode(raw).decode()
    return orjson.dumps(record) + b"\n"


class DeadLetterFile:
    """One source object's dead letter, written entry by entry into a gzip temporary file."""

    def __init__(self, source: str, start_line: int = 0):
        self.source = source
        self.start_line = start_line  # lines up to it were done by an earlier part (their entries are there)
        self.count = 0
        self._file: IO[bytes] = tempfile.TemporaryFile()
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._file, mtime=0)

    def add(self, line_number: int, raw: bytes | str, reason: str, status: int | None) -> None:
        self._gzip.write(_record(DeadLetterEntry(self.source, line_number, raw, reason, status)))
        self.count += 1

    def add_rejections(self, rejections: Iterable[Rejection]) -> None:
        for r in rejections:
            self.add(r.item.line_number, r.item.raw, r.reason, r.status)

    def add_overlong(self, line_number: int, line: OverlongLine, reason: str) -> None:
        """A line over the length limit, copied in from its spool file a chunk at a time."""
        head = orjson.dumps({"source": self.source, "line_number": line_number, "status": None, "reason": reason,
                             "raw": ""})
        self._gzip.write(head[:-2])  # up to the opening quote of "raw"
        valid = True
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            for chunk in line.chunks():
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
        decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")
        for chunk in line.chunks():
            self._gzip.write(orjson.dumps(decoder.decode(chunk))[1:-1])
        self._gzip.write(orjson.dumps(decoder.decode(b"", final=True))[1:-1] + b'"')
        if not valid:
            self._gzip.write(b',"raw_base64":"')
            leftover = b""
            for chunk in line.chunks(3 << 18):  # a multiple of 3: base64 pieces join without padding
                data = leftover + chunk
                cut = len(data) - len(data) % 3
                self._gzip.write(base64.b64encode(data[:cut]))
                leftover = data[cut:]
            self._gzip.write(base64.b64encode(leftover) + b'"')
        self._gzip.write(b"}\n")
        self.count += 1

    def finished(self) -> IO[bytes]:
        """The gzip bytes written, to be read from the start."""
        if not self._gzip.closed:
            self._gzip.close()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._gzip.close()
        self._file.close()


def encode_entries(entries: Iterable[DeadLetterEntry | Mapping[str, Any]]) -> bytes:
    """Gzip-compressed NDJSON; byte-identical for identical entries (gzip mtime fixed at 0)."""
    return gzip.compress(b"".join(map(_record, entries)), mtime=0)


def dead_letter_name(source_path: str, day: date | datetime | None, *, prefix: str = "",
                     max_bytes: int | None = None, start_line: int = 0) -> str:
    """`<prefix><yyyy>/<mm>/<dd>/<bucket>/<key>.<hash>.ndjson.gz` (`undated/` for no day), the key
    shortened to fit `max_bytes`; `.<hash>.from-<start_line + 1>.ndjson.gz` for a resumed part."""
    if isinstance(day, datetime):
        day = (day if day.tzinfo is None else day.astimezone(timezone.utc)).date()
    if source_path.startswith("s3://"):
        bucket, _, key = source_path[len("s3://"):].partition("/")
    else:
        bucket, key = "local", source_path.lstrip("/")
    digest = hashlib.sha256(source_path.encode("utf-8")).hexdigest()[:12]
    head = f"{prefix}{'undated' if day is None else format(day, '%Y/%m/%d')}/{bucket}/"
    tail = f".{digest}{f'.from-{start_line + 1}' if start_line else ''}{SUFFIX}"
    if max_bytes is not None:
        room = max_bytes - len(head.encode()) - len(tail.encode())
        if room < 1:
            raise ValueError(f"dead-letter prefix {prefix!r} leaves no room for the object key")
        key = key.encode("utf-8")[:room].decode("utf-8", "ignore")
    return f"{head}{key}{tail}"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _Writer:
    """What both writers share: `write` a list of entries at once (`store` is each writer's own)."""

    _now: Callable[[], datetime]

    def store(self, letter: DeadLetterFile, day: date | datetime | None) -> str | None:
        raise NotImplementedError

    def write(self, source_path: str, entries: Sequence[DeadLetterEntry | Mapping[str, Any]], *,
              day: date | datetime | None = None) -> str | None:
        """Write the entries under `day` (default: today); where they went, or None when there are none."""
        if not entries:
            return None
        letter = DeadLetterFile(source_path)
        try:
            for entry in entries:
                letter.add(*_fields(entry))
            return self.store(letter, day or self._now())
        finally:
            letter.close()


class DeadLetterWriter(_Writer):
    """Writes a source object's dead-letter entries to S3 as one gzip NDJSON object."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str = "dead-letter/", *, now: Callable[[], datetime] = _utc_now):
        if not bucket:
            raise ValueError("dead-letter bucket is required")
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix
        self._now = now

    def store(self, letter: DeadLetterFile, day: date | datetime | None) -> str | None:
        """Upload what `letter` holds (streamed: multipart when large); None when it holds nothing."""
        if not letter.count:
            return None
        key = dead_letter_name(letter.source, day, prefix=self.prefix, max_bytes=S3_MAX_KEY_BYTES,
                               start_line=letter.start_line)
        self.s3.upload_fileobj(letter.finished(), self.bucket, key, ExtraArgs={"ContentType": "application/gzip"})
        return f"s3://{self.bucket}/{key}"


class LocalDeadLetterWriter(_Writer):
    """The CLI's dead letter: the same gzip NDJSON files, under a local directory."""

    def __init__(self, directory: str | Path, *, now: Callable[[], datetime] = _utc_now):
        self.directory = Path(directory)
        self._now = now

    def store(self, letter: DeadLetterFile, day: date | datetime | None) -> str | None:
        """Copy what `letter` holds into its file; None when it holds nothing."""
        if not letter.count:
            return None
        name = dead_letter_name(letter.source, day, start_line=letter.start_line)
        # S3 keys may hold "..", "." or empty segments; never let them climb out of the directory.
        parts = ["_" if part in ("", ".", "..") else part for part in name.split("/")]
        path = self.directory.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            shutil.copyfileobj(letter.finished(), out)
        return str(path)


def _fields(entry: DeadLetterEntry | Mapping[str, Any]) -> tuple:
    if not isinstance(entry, Mapping):
        entry = entry._asdict()
    return entry["line_number"], entry["raw"], entry["reason"], entry["status"]
