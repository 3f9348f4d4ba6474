"""Objects as they arrive when something went wrong on the way: padded gzip, lines that are not UTF-8,
lines far too long, objects with no time in their name, objects of another format. Each is indexed
without loss, the same way on every replay, and said plainly in the report."""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import tracemalloc

import pytest

from ingest.deadletter import DeadLetterFile
from ingest.pipeline import LocalFile, Options, process_object

from .conftest import ALB_KEY, UNPARSABLE_LINE, alb_lines, gzipped, mapping_error, s3_access_lines, text


def local(tmp_path, name: str, body: bytes) -> LocalFile:
    path = tmp_path / name
    path.write_bytes(body)
    return LocalFile(str(path), name)


def dead_letter_records(report) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(open(report.dead_letter_uri, "rb").read()).splitlines()]


def test_a_gzip_object_padded_with_zero_bytes_is_indexed_and_reported_ok(tmp_path, opensearch, sink, dead_letter):
    obj = local(tmp_path, "alb.log.gz", gzipped(text(alb_lines(20))) + b"\0" * 4096)

    report = process_object(obj, sink, dead_letter, Options())

    assert (report.status, report.error, report.indexed) == ("ok", None, 20)


def test_a_replay_of_an_object_whose_name_holds_no_time_writes_the_same_ids_into_the_same_indices_after_a_touch(
        tmp_path, opensearch, sink, dead_letter):
    lines = s3_access_lines(6)
    lines[0] = UNPARSABLE_LINE + " first"
    lines[3] = UNPARSABLE_LINE + " middle"
    obj = local(tmp_path, "exported.log", text(lines))

    process_object(obj, sink, dead_letter, Options(log_format="s3-access"))
    first = {(doc.index, doc.id) for doc in opensearch.docs}
    os.utime(obj.path, (1_000_000_000, 1_000_000_000))  # touched: the mtime moves 20 years back
    opensearch.forget()
    process_object(obj, sink, dead_letter, Options(log_format="s3-access"))

    assert {(doc.index, doc.id) for doc in opensearch.docs} == first
    failure_days = {doc.index for doc in opensearch.docs if doc.source.get("tags") == ["parse_failure"]}
    assert failure_days <= {doc.index for doc in opensearch.docs if "tags" not in doc.source}


def test_the_dead_letter_keeps_the_exact_bytes_of_a_line_that_is_not_utf8(tmp_path, opensearch, sink, dead_letter):
    raw = alb_lines(1)[0].encode() + b' "caf\xe9"'  # a field AWS might append, in Latin-1
    obj = local(tmp_path, "alb.log", raw + b"\n")
    opensearch.answer_item = lambda doc, attempt: mapping_error(doc)

    report = process_object(obj, sink, dead_letter, Options())

    [entry] = dead_letter_records(report)
    assert base64.b64decode(entry["raw_base64"]) == raw
    assert "caf\\xe9" in entry["raw"]


def test_a_utf8_line_in_the_dead_letter_has_no_base64_copy(tmp_path, opensearch, sink, dead_letter):
    raw = alb_lines(1)[0] + ' "café"'
    obj = local(tmp_path, "alb.log", raw.encode() + b"\n")
    opensearch.answer_item = lambda doc, attempt: mapping_error(doc)

    [entry] = dead_letter_records(process_object(obj, sink, dead_letter, Options()))

    assert entry["raw"] == raw and "raw_base64" not in entry


@pytest.mark.parametrize("utf8", [True, False])
def test_a_line_over_the_limit_is_a_bounded_failure_record_and_whole_in_the_dead_letter(
        tmp_path, opensearch, sink, dead_letter, utf8):
    good = alb_lines(2)
    long = ("é" if utf8 else "e").encode() * 3_000_000 + (b"" if utf8 else b"\xff")
    obj = local(tmp_path, "alb.log", text([good[0]]) + long + b"\n" + text([good[1]]))

    report = process_object(obj, sink, dead_letter, Options(max_line_bytes=64 * 1024, bulk_max_bytes=256 * 1024))

    assert (report.status, report.lines_read, report.indexed, report.failed, report.overlong) == ("ok", 3, 2, 1, 1)
    assert all(len(request.body) <= 256 * 1024 for request in opensearch.requests)
    [record] = [doc for doc in opensearch.docs if doc.source.get("tags") == ["parse_failure"]]
    assert record.line_number == 2
    assert len(record.source["event"]["original"]) <= 1024
    assert f"{len(long):,} bytes" in record.source["error"]["message"]
    assert hashlib.sha256(long).hexdigest() in record.source["error"]["message"]
    [entry] = dead_letter_records(report)
    assert entry["line_number"] == 2
    if utf8:
        assert entry["raw"].encode() == long and "raw_base64" not in entry
    else:
        assert base64.b64decode(entry["raw_base64"]) == long


def test_an_overlong_line_gets_the_same_id_on_every_replay(tmp_path, opensearch, sink, dead_letter):
    obj = local(tmp_path, "alb.log", text(alb_lines(1)) + b"x" * 100_000 + b"\n")
    process_object(obj, sink, dead_letter, Options(max_line_bytes=10_000))
    process_object(obj, sink, dead_letter, Options(max_line_bytes=10_000))
    assert len({doc.id for doc in opensearch.docs}) == 2


def test_a_cluster_rejecting_every_line_does_not_hold_the_dead_letter_in_memory(tmp_path):
    # 60,000 rejected lines of ~1 KiB: 60 MB of dead-letter text, written as it comes.
    letter = DeadLetterFile("s3://bucket/" + ALB_KEY)
    line = alb_lines(1)[0].encode() + b" " + b"p" * 600
    tracemalloc.start()
    try:
        for n in range(60_000):
            letter.add(n + 1, line, "mapper_parsing_exception: failed to parse field [source.ip]", 400)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        data = letter.finished().read()
        letter.close()
    assert peak < 2 << 20
    assert len(gzip.decompress(data).splitlines()) == 60_000


@pytest.mark.parametrize("share, flagged", [(0.9, False), (0.5, True)])
def test_the_share_of_unparsed_lines_that_flags_an_object_is_configurable(tmp_path, opensearch, sink, dead_letter,
                                                                         share, flagged):
    lines = alb_lines(10)
    for n in range(7):
        lines[n] = UNPARSABLE_LINE + f" {n}"
    report = process_object(local(tmp_path, "alb.log", text(lines)), sink, dead_letter,
                            Options(log_format="alb", max_failure_share=share))
    assert report.status == "ok"
    assert report.mostly_unparsed is flagged
