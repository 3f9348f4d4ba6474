"""Object → lines: stream a log object, gunzip it when it is gzip, split it into lines.

Memory stays bounded whatever the object's size: compressed input is read a chunk at a time and
each chunk's decompressed output is capped, so only one batch of lines is held at once. A line longer
than `max_line_bytes` is never held whole either: it is spooled to a temporary file as it streams by
and handed on as an OverlongLine (its first bytes, length and hash), so that it becomes a failure
record and its whole text goes to the dead letter.
"""
from __future__ import annotations

import hashlib
import tempfile

try:  # ISA-L's inflate (python-isal): the same API as zlib, about twice as fast; zlib where it is missing
    from isal import isal_zlib as zlib
except ImportError:  # pragma: no cover - isal is a pinned dependency
    import zlib
from typing import Callable, Iterator, Union

GZIP_MAGIC = b"\x1f\x8b"  # known by its magic bytes, never by the object's name
READ_SIZE = 256 << 10
MAX_BATCH_BYTES = 2 << 20
# The longest line taken as a line (docs/configuration.md, MAX_LINE_BYTES): ALB and S3 access log
# lines are a few KiB at most; a longer one is damage, and as a document it could outgrow a bulk request.
DEFAULT_MAX_LINE_BYTES = 256 << 10
OVERLONG_PREFIX_BYTES = 1024  # what a failure record keeps of an overlong line

# Bytes that cannot stand in a JSON string as they are: control characters and the backslash.
# A batch without any of them lets the parsers take every line on their fast path.
_NOT_JSON_SAFE = bytes(range(0x20)).replace(b"\n", b"") + b"\\"


class TruncatedObject(Exception):
    """The gzip stream ended before its end marker: the lines before the cut were yielded."""


def json_safe(data: bytes) -> bool:
    return len(data.translate(None, _NOT_JSON_SAFE)) == len(data)


class OverlongLine:
    """A line longer than the limit, never held whole: its first bytes, its length and SHA-256, and
    the whole line in a temporary file, read back in chunks by `chunks()`. `close()` removes the file."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # the length limit the line is over
        self.prefix = b""
        self.length = 0
        self._sha256 = hashlib.sha256()
        self._file = tempfile.TemporaryFile()
        self._cr = False  # a CR held back: part of a CRLF line ending if the newline comes next

    def feed(self, data: bytes) -> None:
        if self._cr:
            data, self._cr = b"\r" + data, False
        if data.endswith(b"\r"):
            data, self._cr = data[:-1], True
        if not data:
            return
        if len(self.prefix) < OVERLONG_PREFIX_BYTES:
            self.prefix += data[:OVERLONG_PREFIX_BYTES - len(self.prefix)]
        self.length += len(data)
        self._sha256.update(data)
        self._file.write(data)

    def end(self) -> "OverlongLine":
        self._cr = False  # the line ended: a CR before its newline is the line ending's
        return self

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        self._file.seek(0)
        while True:
            data = self._file.read(size)
            if not data:
                return
            yield data

    def close(self) -> None:
        self._file.close()


Batch = Union[tuple[list[bytes], bool], OverlongLine]


def line_batches(read: Callable[[int], bytes], read_size: int = READ_SIZE,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, check_json_safe: bool = True) -> Iterator[Batch]:
    """Yield (lines, json_safe) batches from a stream's `read(n)`, decompressing gzip (including
    several concatenated gzip members) when the stream starts with the gzip magic bytes. A line longer
    than `max_line_bytes` comes alone, as an OverlongLine. `check_json_safe=False`: json_safe is always
    False, the check left to each line that needs it (the C accelerator checks the lines it takes as it
    writes them, so a check of the whole batch would be paid for nothing).

    Lines have no line ending (LF or CRLF). A last line without a newline is still a line. A gzip
    stream cut short yields every line before the cut (the cut one too, as it is) and then raises
    TruncatedObject."""
    if max_line_bytes < 1:
        raise ValueError("max_line_bytes must be at least 1")
    chunk = read(read_size)
    while 0 < len(chunk) < len(GZIP_MAGIC):  # a short first read must not hide the magic bytes
        more = read(read_size)
        if not more:
            break
        chunk += more
    gunzip = _Gunzip() if chunk[:2] == GZIP_MAGIC else None
    pending = b""
    overlong: OverlongLine | None = None  # the line being spooled, while its end has not come yet
    while chunk:
        for data in (gunzip.feed(chunk) if gunzip else (chunk,)):
            if overlong is not None:
                end = data.find(b"\n")
                if end < 0:
                    overlong.feed(data)
                    continue
                overlong.feed(data[:end])
                yield overlong.end()
                overlong, data = None, data[end + 1:]
            if pending:
                data = pending + data
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                if len(pending) > max_line_bytes:
                    overlong, pending = OverlongLine(max_line_bytes), b""
                    overlong.feed(data)
                continue
            pending = data[cut + 1:]
            yield from _batches(data[:cut], max_line_bytes, check_json_safe)
            if len(pending) > max_line_bytes:
                overlong, pending = OverlongLine(max_line_bytes), b""
                overlong.feed(data[cut + 1:])
        chunk = read(read_size)
    if overlong is not None:
        yield overlong.end()
    elif pending:
        yield from _batches(pending, max_line_bytes, check_json_safe)
    if gunzip is not None and not gunzip.finished:
        raise TruncatedObject("the gzip stream ends before its end marker (the object is truncated)")


class _Gunzip:
    """Gzip decompression across chunks and across concatenated members, in bounded pieces.

    Zero bytes after the last member are padding (tape and block devices add it; gzip ignores it);
    anything else after a member must be another member."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)
        self._padding = False  # only zero bytes may follow

    @property
    def finished(self) -> bool:
        return self._padding or self._d.eof

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._padding:
            self._check_padding(data)
            return
        try:
            while data:
                yield self._d.decompress(data, MAX_BATCH_BYTES)
                while self._d.unconsumed_tail:  # output capped: a gzip bomb stays bounded
                    yield self._d.decompress(self._d.unconsumed_tail, MAX_BATCH_BYTES)
                if not self._d.eof:
                    return
                data = self._d.unused_data  # the start of another member, if any
                if data[:1] == b"\0":
                    self._padding = True
                    self._check_padding(data)
                    return
                if data:
                    self._d = zlib.decompressobj(31)
        except zlib.error as e:
            raise TruncatedObject(f"the gzip stream is corrupt: {e}") from None

    @staticmethod
    def _check_padding(data: bytes) -> None:
        if data.count(0) != len(data):
            raise TruncatedObject("the gzip stream is corrupt: bytes other than zero padding after its last member")


def _batches(data: bytes, max_line_bytes: int, check_json_safe: bool) -> Iterator[Batch]:
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
        if data.endswith(b"\r"):
            data = data[:-1]
    lines = data.split(b"\n")
    if len(data) <= max_line_bytes or max(map(len, lines)) <= max_line_bytes:
        yield lines, check_json_safe and json_safe(data)
        return
    # An overlong line inside a batch: it comes alone, the lines around it as batches of their own.
    start = 0
    for n, line in enumerate(lines):
        if len(line) > max_line_bytes:
            if n > start:
                yield _plain(lines[start:n], check_json_safe)
            overlong = OverlongLine(max_line_bytes)
            overlong.feed(line)
            yield overlong
            start = n + 1
    if start < len(lines):
        yield _plain(lines[start:], check_json_safe)


def _plain(lines: list[bytes], check_json_safe: bool) -> tuple[list[bytes], bool]:
    return lines, check_json_safe and all(map(json_safe, lines))
