"""Object → lines: stream a log object, gunzip it when it is gzip, split it into lines.

Memory stays bounded whatever the object's size: compressed input is read a chunk at a time and
each chunk's decompressed output is capped, so only one batch of lines is held at once.
"""
from __future__ import annotations

import zlib
from typing import Callable, Iterator

GZIP_MAGIC = b"\x1f\x8b"  # known by its magic bytes, never by the object's name
READ_SIZE = 256 << 10
MAX_BATCH_BYTES = 2 << 20

# Bytes that cannot stand in a JSON string as they are: control characters and the backslash.
# A batch without any of them lets the parsers take every line on their fast path.
_NOT_JSON_SAFE = bytes(range(0x20)).replace(b"\n", b"") + b"\\"


class TruncatedObject(Exception):
    """The gzip stream ended before its end marker: the lines before the cut were yielded."""


def json_safe(data: bytes) -> bool:
    return len(data.translate(None, _NOT_JSON_SAFE)) == len(data)


def line_batches(read: Callable[[int], bytes], read_size: int = READ_SIZE) -> Iterator[tuple[list[bytes], bool]]:
    """Yield (lines, json_safe) batches from a stream's `read(n)`, decompressing gzip (including
    several concatenated gzip members) when the stream starts with the gzip magic bytes.

    Lines have no line ending (LF or CRLF). A last line without a newline is still a line. A gzip
    stream cut short yields every line before the cut (the cut one too, as it is) and then raises
    TruncatedObject."""
    chunk = read(read_size)
    while 0 < len(chunk) < len(GZIP_MAGIC):  # a short first read must not hide the magic bytes
        more = read(read_size)
        if not more:
            break
        chunk += more
    gunzip = _Gunzip() if chunk[:2] == GZIP_MAGIC else None
    pending = b""
    while chunk:
        for piece in (gunzip.feed(chunk) if gunzip else (chunk,)):
            data = pending + piece if pending else piece
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            pending = data[cut + 1:]
            yield _batch(data[:cut])
        chunk = read(read_size)
    if pending:
        yield _batch(pending)
    if gunzip is not None and not gunzip.finished:
        raise TruncatedObject("the gzip stream ends before its end marker (the object is truncated)")


class _Gunzip:
    """Gzip decompression across chunks and across concatenated members, in bounded pieces."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)

    @property
    def finished(self) -> bool:
        return self._d.eof

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while data:
                yield self._d.decompress(data, MAX_BATCH_BYTES)
                while self._d.unconsumed_tail:  # output capped: a gzip bomb stays bounded
                    yield self._d.decompress(self._d.unconsumed_tail, MAX_BATCH_BYTES)
                if not self._d.eof:
                    return
                data = self._d.unused_data  # the start of another member, if any
                if data:
                    self._d = zlib.decompressobj(31)
        except zlib.error as e:
            raise TruncatedObject(f"the gzip stream is corrupt: {e}") from None


def _batch(data: bytes) -> tuple[list[bytes], bool]:
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
        if data.endswith(b"\r"):
            data = data[:-1]
    return data.split(b"\n"), json_safe(data)
