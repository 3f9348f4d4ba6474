"""Dead letter: lines that could not be indexed, kept with their raw text and the reason.

One gzip-compressed NDJSON object per source object, at
    <prefix><yyyy>/<mm>/<dd>/<source bucket>/<source key>.<hash>.ndjson.gz
where <hash> is the first 12 hex digits of SHA-256 of the source path. The name depends only on the source
path and the day, so a retried object overwrites its dead letter instead of adding a second one. Pass the
S3 event's `eventTime` as `day` (retries of one event carry the same eventTime) to keep the name stable
when a retry crosses midnight; without it, the current UTC day is used. The hash keeps names unique when a
long source key has to be shortened to fit S3's 1024-byte key limit. Local sources go under `local/`.

Each line: {"source": "s3://…", "line_number": 12, "status": 400, "reason": "…", "raw": "…"}.
"""
from __future__ import annotations

import gzip
import hashlib
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import orjson

from .sinks import Rejection

S3_MAX_KEY_BYTES = 1024
SUFFIX = ".ndjson.gz"


class DeadLetterEntry(NamedTuple):
    source: str  # s3://bucket/key or a local path
    line_number: int  # 1-based, 0 when the failure concerns the whole object
    raw: str
    reason: str
    status: int | None  # HTTP status from OpenSearch, None when nothing was sent (e.g. unreadable object)


def entries_from_rejections(source_path: str, rejections: Iterable[Rejection]) -> list[DeadLetterEntry]:
    return [DeadLetterEntry(source_path, r.item.line_number, r.item.raw, r.reason, r.status) for r in rejections]


def encode_entries(entries: Iterable[DeadLetterEntry | Mapping[str, Any]]) -> bytes:
    """Gzip-compressed NDJSON; byte-identical for identical entries (gzip mtime fixed at 0)."""
    lines = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            entry = entry._asdict()
        record = {
            "source": entry["source"],
            "line_number": entry["line_number"],
            "status": entry["status"],
            "reason": entry["reason"],
            "raw": entry["raw"],
        }
        lines.append(orjson.dumps(record) + b"\n")
    return gzip.compress(b"".join(lines), mtime=0)


def dead_letter_name(source_path: str, day: date | datetime, *, prefix: str = "", max_bytes: int | None = None) -> str:
    """`<prefix><yyyy>/<mm>/<dd>/<bucket>/<key>.<hash>.ndjson.gz`, the key shortened to fit `max_bytes`."""
    if isinstance(day, datetime):
        day = (day if day.tzinfo is None else day.astimezone(timezone.utc)).date()
    if source_path.startswith("s3://"):
        bucket, _, key = source_path[len("s3://"):].partition("/")
    else:
        bucket, key = "local", source_path.lstrip("/")
    digest = hashlib.sha256(source_path.encode("utf-8")).hexdigest()[:12]
    head = f"{prefix}{day:%Y/%m/%d}/{bucket}/"
    tail = f".{digest}{SUFFIX}"
    if max_bytes is not None:
        room = max_bytes - len(head.encode()) - len(tail.encode())
        if room < 1:
            raise ValueError(f"dead-letter prefix {prefix!r} leaves no room for the object key")
        key = key.encode("utf-8")[:room].decode("utf-8", "ignore")
    return f"{head}{key}{tail}"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class DeadLetterWriter:
    """Writes a source object's dead-letter entries to S3 as one gzip NDJSON object."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str = "dead-letter/", *, now: Callable[[], datetime] = _utc_now):
        if not bucket:
            raise ValueError("dead-letter bucket is required")
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix
        self._now = now

    def write(self, source_path: str, entries: Sequence[DeadLetterEntry | Mapping[str, Any]], *,
              day: date | datetime | None = None) -> str | None:
        """Write the entries; return the s3:// URI, or None (nothing written) when there are none."""
        if not entries:
            return None
        key = dead_letter_name(source_path, day or self._now(), prefix=self.prefix, max_bytes=S3_MAX_KEY_BYTES)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=encode_entries(entries), ContentType="application/gzip")
        return f"s3://{self.bucket}/{key}"


class LocalDeadLetterWriter:
    """The CLI's dead letter: the same gzip NDJSON files, under a local directory."""

    def __init__(self, directory: str | Path, *, now: Callable[[], datetime] = _utc_now):
        self.directory = Path(directory)
        self._now = now

    def write(self, source_path: str, entries: Sequence[DeadLetterEntry | Mapping[str, Any]], *,
              day: date | datetime | None = None) -> str | None:
        """Write the entries; return the file path, or None (nothing written) when there are none."""
        if not entries:
            return None
        name = dead_letter_name(source_path, day or self._now())
        # S3 keys may hold "..", "." or empty segments; never let them climb out of the directory.
        parts = ["_" if part in ("", ".", "..") else part for part in name.split("/")]
        path = self.directory.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_entries(entries))
        return str(path)
