"""The C accelerator computes each document's `_id` itself: BLAKE2b with a 16-byte digest of the raw line,
in lowercase hex, exactly hashlib.blake2b(line, digest_size=16).hexdigest(), the Python path's id.

It hashes in the part of the call that lets go of the GIL, so ids must never depend on which path wrote
a line (tests/formats/test_reingested_documents_keep_their_ids.py holds both to ids recorded once). The
C BLAKE2b (RFC 7693) is held to hashlib's on every length around its 128-byte blocks, through
`_native.blake2b_16_hex`, which the module exposes for this.
"""
from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
import sys

import pytest

from ingest import bulk
from ingest.bulk import BulkEncoder
from ingest.formats import ALB

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from generate_logs import alb_line  # noqa: E402

pytestmark = pytest.mark.skipif(bulk._native is None, reason="ingest/_native.c is not built (make builds it)")


def python_id(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def c_id(data: bytes) -> str:
    return bulk._native.blake2b_16_hex(data)


def test_the_empty_line_has_the_rfc_7693_unkeyed_16_byte_digest():
    # BLAKE2b-128 of nothing: a single all-zero block, flagged final, counter 0.
    assert c_id(b"") == "cae66941d9efbd404e4d88758ea67670"


@pytest.mark.parametrize("fill", [b"\x00", b"\xff", b"a"], ids=["zeros", "0xff", "ascii"])
def test_every_length_up_to_1100_bytes_hashes_as_hashlib_does(fill):
    # 0..1100 crosses the block boundaries 127/128/129, 255/256/257, ... up to eight blocks and a part.
    mismatched = [n for n in range(1101) if c_id(fill * n) != python_id(fill * n)]
    assert mismatched == []


def test_random_bytes_of_every_length_up_to_1100_hash_as_hashlib_does():
    rng = random.Random(7693)
    mismatched = []
    for n in range(1101):
        data = rng.randbytes(n)
        if c_id(data) != python_id(data):
            mismatched.append((n, data))
    assert mismatched == []


def test_a_whole_line_of_the_longest_kind_hashes_as_hashlib_does():
    data = random.Random(1).randbytes(256 * 1024)  # MAX_LINE_BYTES: the longest line a document comes from
    assert c_id(data) == python_id(data)


def test_the_id_is_32_lowercase_hex_digits():
    ids = {c_id(bytes([b]) * 3) for b in range(256)}
    assert len(ids) == 256
    assert all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in ids)


def test_only_bytes_are_hashed():
    with pytest.raises(TypeError):
        c_id("a line")


def test_the_python_path_hashes_only_the_lines_the_accelerator_declines(monkeypatch):
    # The accelerator's lines get their _id in C, off the GIL; hashing them again in Python would hold
    # the GIL for nothing. The declined ones (here one non-ASCII line) are hashed on the Python path.
    rng = random.Random(3)
    start = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    lines = [alb_line(rng, start + timedelta(seconds=i)).encode() for i in range(200)]
    lines[100] += " é".encode()
    hashed = []
    real_blake2b = hashlib.blake2b

    def counting_blake2b(data, **kwargs):
        hashed.append(data)
        return real_blake2b(data, **kwargs)

    monkeypatch.setattr(bulk.hashlib, "blake2b", counting_blake2b)
    items, failures = BulkEncoder(ALB, "s3://bucket/key").encode(lines, 1)

    declined = [raw for raw, body in zip(lines, bulk._native.encode(bulk._NATIVE_FORMATS["alb"], lines, b"p-", b"", 1))
                if body is None]
    assert lines[100] in declined and len(declined) < 10
    assert hashed == declined
    assert failures == 0 and len(items) == len(lines)
    assert [f'"_id":"{python_id(raw)}"'.encode() in item.body for raw, item in zip(lines, items)] == [True] * len(lines)
