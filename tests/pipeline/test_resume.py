"""An object that runs out of time is resumed where it stopped, never from line 1: the parts write the
same `_id`s into the same indices as a full read, date failure records the same way, keep each part's
dead letter, and their counts add up to the object's."""
from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from ingest.deadletter import LocalDeadLetterWriter
from ingest.pipeline import LocalFile, Options, Resume, S3Object, process_object
from ingest.shipper import OpenSearchSink
from ingest.sinks import DeadlineExceeded

from .conftest import (LOG_BUCKET, S3_ACCESS_KEY, UNPARSABLE_LINE, Everything, FakeTime, StopAfter, generate_logs,
                       queue_full, s3_access_lines, text, throttled_or_timed_out)


def throttle_share(share: float):
    """An answer that throttles `share` of the items, the same ones for the same (_id, attempt)."""
    def answer(doc, attempt):
        return queue_full(doc) if random.Random(f"{doc.id}/{attempt}").random() < share else None
    return answer


def local(tmp_path, name: str, lines: list[str]) -> LocalFile:
    path = tmp_path / name
    path.write_bytes(text(lines))
    return LocalFile(str(path), name)


def s3_lines_at(times: list[datetime]) -> list[str]:
    rng = random.Random(3)
    return [generate_logs.s3_line(rng, moment) for moment in times]


def test_an_object_that_keeps_running_out_of_time_is_finished_part_by_part(tmp_path, opensearch):
    opensearch.answer_item = throttle_share(0.7)
    fake_time = FakeTime()
    sink = OpenSearchSink(opensearch.url, None, max_docs=100, sleep=fake_time.sleep, clock=fake_time.clock,
                          random=random.Random(5).random)
    obj = local(tmp_path, S3_ACCESS_KEY.replace("/", "_"), s3_access_lines(1500))
    dead_letter = LocalDeadLetterWriter(tmp_path / "dead-letter")

    reports, resume = [], None
    while len(reports) < 30:
        report = process_object(obj, sink, dead_letter, Options(bulk_max_docs=500), fake_time.now + 4,
                                resume=resume, clock=fake_time.clock)
        reports.append(report)
        if report.status == "ok":
            break
        assert report.continuation is not None, report.error
        assert report.continuation["line"] > report.start_line  # every part advances
        resume = Resume(**report.continuation)

    assert len(reports) > 2 and reports[-1].status == "ok"
    assert [r.start_line for r in reports[1:]] == [r.done_line for r in reports[:-1]]
    assert sum(r.lines_read for r in reports) == sum(r.indexed for r in reports) == 1500
    assert all(r.accounted_for for r in reports)
    assert all(throttled_or_timed_out(r.error) for r in reports[:-1])
    indices = {}
    for doc in opensearch.docs:
        indices.setdefault(doc.id, set()).add(doc.index)
    assert len(indices) == 1500 and all(len(found) == 1 for found in indices.values())
    assert {doc.line_number for doc in opensearch.docs} == set(range(1, 1501))
    assert sum(r.throttled for r in reports) > 1500 and sum(r.backoff_seconds for r in reports) > 0


def test_a_resumed_part_dates_a_failure_record_by_the_last_document_before_it_as_a_full_read_does(tmp_path):
    # No time in the name: a failure record takes the time of the document before it, here line 3, the
    # last second of a day; the next document is on the next day.
    day_end = datetime(2026, 11, 25, 23, 59, 57, tzinfo=timezone.utc)
    lines = s3_lines_at([day_end, day_end + timedelta(seconds=1), day_end + timedelta(seconds=2)])
    lines += [UNPARSABLE_LINE] + s3_lines_at([day_end + timedelta(seconds=4 + n) for n in range(4)])
    obj = local(tmp_path, "exported.log", lines)
    options = Options(bulk_max_docs=3)
    full = Everything()
    process_object(obj, full, LocalDeadLetterWriter(tmp_path / "a"), options)

    first = process_object(obj, StopAfter(1), LocalDeadLetterWriter(tmp_path / "b"), options)
    rest = Everything()
    second = process_object(obj, rest, LocalDeadLetterWriter(tmp_path / "b"), options,
                            resume=Resume(**first.continuation))

    assert first.continuation["line"] == 3 and second.status == "ok"
    assert [item.body for item in rest.sent] == [item.body for item in full.sent if item.line_number > 3]
    failure = next(item for item in rest.sent if item.failure)
    assert b'"_index":"s3-access-logs-2026.11.25"' in failure.body


def test_items_leave_in_line_order_even_when_failure_records_wait_for_the_first_document(tmp_path):
    lines = [UNPARSABLE_LINE + " 1", UNPARSABLE_LINE + " 2"] + s3_access_lines(4)
    sink = Everything()

    process_object(local(tmp_path, "exported.log", lines), sink, LocalDeadLetterWriter(tmp_path / "d"),
                   Options(log_format="s3-access"))

    assert [item.line_number for item in sink.sent] == [1, 2, 3, 4, 5, 6]


def test_a_part_counts_only_its_own_lines_and_stops_at_the_first_line_not_sent(tmp_path):
    obj = local(tmp_path, S3_ACCESS_KEY.replace("/", "_"), s3_access_lines(10))

    report = process_object(obj, StopAfter(2), LocalDeadLetterWriter(tmp_path / "d"), Options(bulk_max_docs=4))

    assert report.status == "failed"
    assert report.continuation["line"] == 8
    assert (report.lines_read, report.indexed) == (8, 8)
    assert report.error == "2 items still unsent when the time ran out: items throttled (429) for 4 min"


def test_a_resumed_part_writes_its_own_dead_letter_beside_the_earlier_parts(tmp_path):
    obj = local(tmp_path, S3_ACCESS_KEY.replace("/", "_"), s3_access_lines(10))
    dead_letter = LocalDeadLetterWriter(tmp_path / "dead-letter")
    reject = frozenset({2, 9})

    first = process_object(obj, StopAfter(2, reject), dead_letter, Options(bulk_max_docs=4))
    second = process_object(obj, Everything(reject), dead_letter, Options(bulk_max_docs=4),
                            resume=Resume(**first.continuation))

    assert first.dead_letter_uri != second.dead_letter_uri
    assert second.dead_letter_uri.endswith(".from-9.ndjson.gz")
    entries = [[json.loads(line)["line_number"] for line in gzip.decompress(open(uri, "rb").read()).splitlines()]
               for uri in (first.dead_letter_uri, second.dead_letter_uri)]
    assert entries == [[2], [9]]
    assert (first.dead_lettered, second.dead_lettered) == (1, 1)
    assert first.lines_read + second.lines_read == 10


def test_an_object_replaced_since_the_earlier_part_is_read_again_from_line_1_and_says_so(aws, tmp_path):
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(10)))
    first = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), StopAfter(1),
                           LocalDeadLetterWriter(tmp_path / "d"), Options(bulk_max_docs=4))
    assert first.continuation["etag"] and first.continuation["line"] == 4
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(12, seed=2)))
    sink = Everything()

    second = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), sink, LocalDeadLetterWriter(tmp_path / "d"),
                            Options(bulk_max_docs=4), resume=Resume(**first.continuation))

    assert second.status == "ok" and second.start_line == 0 and second.lines_read == 12
    assert "replaced since line 4; read again from line 1" in second.warning
    assert [item.line_number for item in sink.sent] == list(range(1, 13))


def test_an_unchanged_object_is_resumed_after_its_etag_is_checked(aws, tmp_path):
    aws.put(S3_ACCESS_KEY, gzip.compress(text(s3_access_lines(10))))
    first = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), StopAfter(1),
                           LocalDeadLetterWriter(tmp_path / "d"), Options(bulk_max_docs=4))
    sink = Everything()

    second = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), sink, LocalDeadLetterWriter(tmp_path / "d"),
                            Options(bulk_max_docs=4), resume=Resume(**first.continuation))

    assert (second.status, second.start_line, second.part, second.resumed) == ("ok", 4, 2, True)
    assert second.warning is None
    assert [item.line_number for item in sink.sent] == list(range(5, 11))


def test_lines_settled_after_the_resume_point_are_not_sent_again_by_the_next_part(tmp_path):
    class Settles(StopAfter):
        """Indexes every item but line 3 of the first request, then runs out of time."""

        def send(self, items, deadline):
            if self.left == 0:
                unsent = [item for item in items if item.line_number == 3]
                raise DeadlineExceeded(len(unsent), "items throttled (429) for 1 min", unsent)
            return super().send(items, deadline)

    obj = local(tmp_path, S3_ACCESS_KEY.replace("/", "_"), s3_access_lines(8))
    first = process_object(obj, Settles(0), LocalDeadLetterWriter(tmp_path / "d"), Options(bulk_max_docs=8))
    rest = Everything()

    second = process_object(obj, rest, LocalDeadLetterWriter(tmp_path / "d"), Options(bulk_max_docs=8),
                            resume=Resume(**first.continuation))

    assert first.continuation["line"] == 2 and first.lines_read == first.indexed == 7
    assert [item.line_number for item in rest.sent] == [3]
    assert second.status == "ok" and first.lines_read + second.lines_read == 8


def test_a_resumed_part_that_runs_out_of_time_again_hands_on_its_own_part_number(tmp_path):
    obj = local(tmp_path, S3_ACCESS_KEY.replace("/", "_"), s3_access_lines(12))
    dead_letter = LocalDeadLetterWriter(tmp_path / "d")

    first = process_object(obj, StopAfter(1), dead_letter, Options(bulk_max_docs=4))
    second = process_object(obj, StopAfter(1), dead_letter, Options(bulk_max_docs=4), resume=Resume(**first.continuation))

    assert (first.continuation["part"], second.part) == (1, 2)
    assert (second.continuation["line"], second.continuation["part"]) == (8, 2)


def test_a_part_that_runs_out_of_time_counts_its_failure_records_among_the_lines_read(tmp_path):
    lines = s3_access_lines(8)
    lines[1] = UNPARSABLE_LINE  # line 2

    report = process_object(local(tmp_path, "exported.log", lines), StopAfter(1), LocalDeadLetterWriter(tmp_path / "d"),
                            Options(bulk_max_docs=4))

    assert (report.continuation["line"], report.lines_read, report.indexed, report.failed) == (4, 4, 3, 1)


def test_a_resumed_part_files_its_dead_letter_under_the_objects_first_document_not_its_own(tmp_path):
    class Dated:
        def __init__(self):
            self.days = []

        def store(self, letter, day):
            self.days.append(day)

    # No time in the name: the object's day is its first document's; the resumed part's lines are a day later.
    day_end = datetime(2026, 11, 25, 23, 59, 57, tzinfo=timezone.utc)
    lines = s3_lines_at([day_end + timedelta(seconds=n) for n in range(8)])
    obj = local(tmp_path, "exported.log", lines)
    first = process_object(obj, StopAfter(1), Dated(), Options(bulk_max_docs=3))
    dead_letter = Dated()

    second = process_object(obj, Everything(), dead_letter, Options(bulk_max_docs=3), resume=Resume(**first.continuation))

    assert first.continuation["line"] == 3 and second.status == "ok"
    assert dead_letter.days == [day_end]
