"""Dead letter: one gzip NDJSON object per source object, at a name a retry overwrites."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ingest.deadletter import (
    DeadLetterEntry,
    DeadLetterWriter,
    LocalDeadLetterWriter,
    dead_letter_name,
    entries_from_rejections,
)
from ingest.sinks import Rejection

from .conftest import make_item

SOURCE = "s3://alb-logs-bucket/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/25/file.log.gz"
DAY = datetime(2026, 11, 25, 23, 59, tzinfo=timezone.utc)


@pytest.fixture
def s3(aws_env):
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="dead-letters", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def entries():
    return [
        DeadLetterEntry(SOURCE, 7, 'h2 2026-11-25T10:00:00Z app/x "broken', "mapper_parsing_exception: failed to parse "
                        "field [source.ip]", 400),
        DeadLetterEntry(SOURCE, 9, "ünïcode line", "request_too_large: a single item of 20971520 bytes is over "
                        "the cluster's HTTP payload limit", 413),
    ]


def read_ndjson_gz(data: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]


def test_writes_one_gzip_ndjson_object_named_after_the_source(s3):
    writer = DeadLetterWriter(s3, "dead-letters", "dead-letter/", now=lambda: DAY)

    uri = writer.write(SOURCE, entries())

    key = ("dead-letter/2026/11/25/alb-logs-bucket/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/"
           "2026/11/25/file.log.gz.")
    assert uri.startswith(f"s3://dead-letters/{key}") and uri.endswith(".ndjson.gz")
    digest = uri[len(f"s3://dead-letters/{key}"):-len(".ndjson.gz")]
    assert len(digest) == 12 and int(digest, 16) >= 0
    [listed] = s3.list_objects_v2(Bucket="dead-letters")["Contents"]
    stored = s3.get_object(Bucket="dead-letters", Key=listed["Key"])
    assert f"s3://dead-letters/{listed['Key']}" == uri
    assert read_ndjson_gz(stored["Body"].read()) == [
        {"source": SOURCE, "line_number": 7, "status": 400,
         "reason": "mapper_parsing_exception: failed to parse field [source.ip]",
         "raw": 'h2 2026-11-25T10:00:00Z app/x "broken'},
        {"source": SOURCE, "line_number": 9, "status": 413,
         "reason": "request_too_large: a single item of 20971520 bytes is over the cluster's HTTP payload limit",
         "raw": "ünïcode line"},
    ]


def test_a_retried_object_overwrites_its_dead_letter_instead_of_adding_one(s3):
    writer = DeadLetterWriter(s3, "dead-letters", "dead-letter/", now=lambda: DAY)

    first = writer.write(SOURCE, entries())
    second = writer.write(SOURCE, entries()[:1])

    assert first == second
    [only] = s3.list_objects_v2(Bucket="dead-letters")["Contents"]
    assert len(read_ndjson_gz(s3.get_object(Bucket="dead-letters", Key=only["Key"])["Body"].read())) == 1


def test_the_event_time_pins_the_day_so_a_retry_after_midnight_lands_on_the_same_object(s3):
    after_midnight = datetime(2026, 11, 26, 0, 5, tzinfo=timezone.utc)
    writer = DeadLetterWriter(s3, "dead-letters", "dead-letter/", now=lambda: after_midnight)

    assert writer.write(SOURCE, entries(), day=DAY) == DeadLetterWriter(
        s3, "dead-letters", "dead-letter/", now=lambda: DAY).write(SOURCE, entries())
    assert "/2026/11/25/" in writer.write(SOURCE, entries(), day=DAY)


def test_different_sources_get_different_objects(s3):
    writer = DeadLetterWriter(s3, "dead-letters", "dl/", now=lambda: DAY)
    assert writer.write(SOURCE, entries()) != writer.write(SOURCE + ".2", entries())


def test_writes_nothing_when_there_are_no_entries(s3):
    assert DeadLetterWriter(s3, "dead-letters", "dead-letter/").write(SOURCE, []) is None
    assert "Contents" not in s3.list_objects_v2(Bucket="dead-letters")


def test_a_very_long_source_key_is_shortened_to_fit_the_s3_key_limit_and_stays_unique(s3):
    long_a = "s3://b/" + "é" * 600 + "a"
    long_b = "s3://b/" + "é" * 600 + "b"
    writer = DeadLetterWriter(s3, "dead-letters", "dead-letter/", now=lambda: DAY)

    uri_a, uri_b = writer.write(long_a, entries()), writer.write(long_b, entries())

    keys = [uri[len("s3://dead-letters/"):] for uri in (uri_a, uri_b)]
    assert all(len(key.encode()) <= 1024 for key in keys)
    assert keys[0] != keys[1]
    assert len(s3.list_objects_v2(Bucket="dead-letters")["Contents"]) == 2


def test_entries_from_rejections_keep_line_number_raw_line_reason_and_status():
    item = make_item(12)
    [entry] = entries_from_rejections(SOURCE, [Rejection(item, 400, "mapper_parsing_exception: x")])
    assert entry == DeadLetterEntry(SOURCE, 12, "raw line 12", "mapper_parsing_exception: x", 400)


def test_the_local_writer_writes_the_same_bytes_under_a_directory(tmp_path, s3):
    local = LocalDeadLetterWriter(tmp_path, now=lambda: DAY)

    path = local.write("/var/logs/in/file.log", entries())

    assert path == str(tmp_path / dead_letter_name("/var/logs/in/file.log", date(2026, 11, 25)))
    assert "/2026/11/25/local/var/logs/in/file.log." in path
    uri = DeadLetterWriter(s3, "dead-letters", "", now=lambda: DAY).write("/var/logs/in/file.log", entries())
    key = uri[len("s3://dead-letters/"):]
    assert open(path, "rb").read() == s3.get_object(Bucket="dead-letters", Key=key)["Body"].read()


def test_the_local_writer_never_writes_outside_its_directory(tmp_path):
    path = LocalDeadLetterWriter(tmp_path / "dl", now=lambda: DAY).write("s3://bucket/../../../etc/passwd", entries())
    assert (tmp_path / "dl") in Path(path).parents


def test_the_local_writer_writes_nothing_for_no_entries(tmp_path):
    assert LocalDeadLetterWriter(tmp_path, now=lambda: DAY).write(SOURCE, []) is None
    assert list(tmp_path.iterdir()) == []
