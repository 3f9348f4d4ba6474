"""`process_object` on its own: S3 objects (moto) and local files, sent with the real OpenSearchSink to
the recording `_bulk` endpoint, rejections kept by the local dead-letter writer."""
from __future__ import annotations

import gzip
import json
import time

import pytest

from ingest.pipeline import LocalFile, Options, S3Object, process_object
from ingest.shipper import OpenSearchSink

from .conftest import ALB_KEY, LOG_BUCKET, S3_ACCESS_KEY, UNPARSABLE_LINE, alb_lines, gzipped, mapping_error, s3_access_lines, text


def test_an_s3_object_is_read_whole_and_its_compressed_size_reported(aws, opensearch, sink, dead_letter):
    body = gzipped(text(alb_lines(25)))
    aws.put(ALB_KEY, body)

    report = process_object(S3Object(aws.s3, LOG_BUCKET, ALB_KEY), sink, dead_letter, Options())

    assert (report.status, report.format, report.lines_read, report.indexed) == ("ok", "alb", 25, 25)
    assert report.bytes_read == len(body)
    assert report.dead_letter_uri is None
    assert len(opensearch.docs) == 25


def test_bulk_requests_are_bounded_by_the_document_limit(aws, opensearch, sink, dead_letter):
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(25)))

    report = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), sink, dead_letter, Options(bulk_max_docs=10))

    assert report.indexed == 25
    assert [len(request.docs) for request in opensearch.requests] == [10, 10, 5]
    assert {request.headers["content-encoding"] for request in opensearch.requests} == {"gzip"}


def test_the_format_comes_from_the_first_line_when_the_key_says_nothing(tmp_path, opensearch, sink, dead_letter):
    path = tmp_path / "exported.txt"
    path.write_bytes(text(alb_lines(5)))

    report = process_object(LocalFile(str(path), "exported.txt"), sink, dead_letter, Options())

    assert (report.status, report.format, report.indexed) == ("ok", "alb", 5)
    assert {doc.index for doc in opensearch.docs} == {"alb-logs-2026.11.25"}


def test_a_forced_format_that_does_not_fit_makes_every_line_a_failure_record_and_flags_the_object(
        tmp_path, opensearch, sink, dead_letter):
    path = tmp_path / "exported.txt"
    path.write_bytes(text(alb_lines(5)))

    report = process_object(LocalFile(str(path), "exported.txt"), sink, dead_letter, Options(log_format="s3-access"))

    assert (report.status, report.lines_read, report.indexed, report.failed) == ("ok", 5, 0, 5)
    assert report.warning == "5 of 5 lines did not parse as s3-access (more than 50%): is this the right format?"
    assert all(doc.source["tags"] == ["parse_failure"] for doc in opensearch.docs)
    # Nothing in the object or its name has a time: the failure records are undated, never dated by a clock.
    assert {doc.index for doc in opensearch.docs} == {"s3-access-logs-1970.01.01"}


def test_content_that_is_no_known_log_is_skipped_not_indexed(tmp_path, opensearch, sink, dead_letter):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\nmilk\n")

    report = process_object(LocalFile(str(path), "notes.txt"), sink, dead_letter, Options())

    assert report.status == "skipped"
    assert "neither the key nor the first line" in report.error
    assert opensearch.requests == []


def test_a_deadline_already_passed_fails_the_object_without_sending(tmp_path, opensearch, sink, dead_letter):
    path = tmp_path / S3_ACCESS_KEY.replace("/", "_")
    path.write_bytes(text(s3_access_lines(5)))

    report = process_object(LocalFile(str(path), path.name), sink, dead_letter, Options(),
                            deadline=time.monotonic() - 1)

    assert report.status == "failed"
    assert "time ran out" in report.error and "Lambda" not in report.error
    assert opensearch.requests == []


def test_rejected_lines_go_to_the_dead_letter_and_the_counts_add_up(tmp_path, opensearch, sink, dead_letter):
    lines = s3_access_lines(8)
    lines[1] = UNPARSABLE_LINE
    path = tmp_path / S3_ACCESS_KEY.replace("/", "_")
    path.write_bytes(gzipped(text(lines)))
    opensearch.answer_item = lambda doc, attempt: mapping_error(doc) if doc.line_number == 6 else None

    report = process_object(LocalFile(str(path), path.name), sink, dead_letter, Options())

    assert (report.lines_read, report.indexed, report.failed, report.dead_lettered) == (8, 6, 1, 1)
    assert report.accounted_for
    [entry] = [json.loads(line) for line in gzip.decompress(open(report.dead_letter_uri, "rb").read()).splitlines()]
    assert (entry["source"], entry["line_number"], entry["raw"], entry["status"]) == (str(path), 6, lines[5], 400)


def test_empty_lines_are_not_documents_but_keep_the_line_numbers(tmp_path, opensearch, sink, dead_letter):
    lines = s3_access_lines(3)
    path = tmp_path / S3_ACCESS_KEY.replace("/", "_")
    path.write_bytes(text([lines[0], "", lines[1], lines[2]]))

    report = process_object(LocalFile(str(path), path.name), sink, dead_letter, Options())

    assert (report.lines_read, report.indexed) == (3, 3)
    assert [doc.line_number for doc in opensearch.docs] == [1, 3, 4]
