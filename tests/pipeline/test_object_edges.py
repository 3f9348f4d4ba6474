"""`process_object` at the edges: where an object is read from (an S3 key's other reading, a version, a
replaced object), what its report says when the dead letter cannot be written or the time has just run out,
which day its dead letter is filed under, and the resume point's form in a continuation message."""
from __future__ import annotations

import base64
import gzip
import json
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ingest.deadletter import LocalDeadLetterWriter
from ingest.pipeline import LocalFile, Options, Resume, S3Object, decode_lines, encode_lines, process_object
from ingest.reader import READ_SIZE
from ingest.sinks import DeadlineExceeded, Rejection

from .conftest import (ALB_KEY, LOG_BUCKET, S3_ACCESS_KEY, UNPARSABLE_LINE, Everything, FakeTime, StopAfter, alb_lines,
                       s3_access_lines, text)


class Dated:
    """A dead letter that records the day each letter is filed under (and writes nothing)."""

    def __init__(self):
        self.days = []

    def store(self, letter, day):
        self.days.append(day)
        return None


def local(tmp_path, name: str, body: bytes) -> LocalFile:
    path = tmp_path / name.replace("/", "_")
    path.write_bytes(body)
    return LocalFile(str(path), name)


# -- the resume point in a continuation message ----------------------------------------------------

def test_lines_done_after_the_resume_point_travel_as_a_zlib_bitmap_one_bit_per_line_from_the_next():
    # bit i of the bitmap is line 10 + 1 + i: lines 11 and 18 fill the first byte's ends, 19 starts the second
    assert encode_lines(10, {3, 10, 11, 18, 19}) == base64.b64encode(zlib.compress(bytes([0x81, 0x01]), 9)).decode()
    assert decode_lines(10, encode_lines(10, {3, 10, 11, 18, 19})) == {11, 18, 19}


@pytest.mark.parametrize("lines", [set(), {5}, {2, 5}])
def test_no_lines_after_the_resume_point_travel_as_nothing(lines):
    assert encode_lines(5, lines) is None
    assert decode_lines(5, None) == decode_lines(5, "") == set()


def test_a_resume_point_as_a_message_leaves_out_what_it_does_not_know():
    assert Resume(line=7).as_dict() == {"line": 7, "part": 1}
    assert Resume(line=7, etag='"abc"', part=2).as_dict() == {"line": 7, "etag": '"abc"', "part": 2}


# -- where the object is read from ----------------------------------------------------------------

def test_an_s3_key_that_is_not_there_is_read_under_its_other_reading(aws, tmp_path):
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(3)))
    obj = S3Object(aws.s3, LOG_BUCKET, "s3-logs/not-this-one", fallback_key=S3_ACCESS_KEY)
    sink = Everything()

    report = process_object(obj, sink, LocalDeadLetterWriter(tmp_path), Options())

    assert (report.status, report.indexed) == ("ok", 3)
    assert [item.raw for item in sink.sent] == [line.encode() for line in s3_access_lines(3)]


def test_the_report_of_an_object_read_under_its_keys_other_reading_names_the_key_read(aws, tmp_path):
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(3)))
    obj = S3Object(aws.s3, LOG_BUCKET, "s3-logs/not-this-one", fallback_key=S3_ACCESS_KEY)

    report = process_object(obj, Everything(), LocalDeadLetterWriter(tmp_path), Options())

    assert report.uri == f"s3://{LOG_BUCKET}/{S3_ACCESS_KEY}"


def test_an_s3_key_that_is_not_there_under_either_reading_fails_the_object(aws, tmp_path):
    obj = S3Object(aws.s3, LOG_BUCKET, "s3-logs/not-this-one", fallback_key="s3-logs/nor-this-one")

    report = process_object(obj, Everything(), LocalDeadLetterWriter(tmp_path), Options())

    assert report.status == "failed" and report.error.startswith("NoSuchKey: ")
    assert report.bytes_read == 0


def test_a_resumed_part_reads_the_version_the_earlier_part_read_even_after_an_overwrite(aws, tmp_path):
    aws.s3.put_bucket_versioning(Bucket=LOG_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(10)))
    first = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), StopAfter(1), LocalDeadLetterWriter(tmp_path),
                           Options(bulk_max_docs=4))
    assert first.continuation["version_id"] and first.continuation["line"] == 4
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(12, seed=2)))  # a new version: the part still reads its own
    rest = Everything()

    second = process_object(S3Object(aws.s3, LOG_BUCKET, S3_ACCESS_KEY), rest, LocalDeadLetterWriter(tmp_path),
                            Options(bulk_max_docs=4), resume=Resume(**first.continuation))

    assert (second.status, second.warning, second.lines_read) == ("ok", None, 6)
    assert [item.raw for item in rest.sent] == [line.encode() for line in s3_access_lines(10)[4:]]


class Precondition:
    """An S3 client whose GetObject answers a failed If-Match precondition with `code` (GetObject says
    PreconditionFailed; a HEAD answer has no body, so its code is the bare status, 412)."""

    class exceptions:
        class NoSuchKey(Exception):
            pass

    def __init__(self, code: str):
        self.code = code

    def get_object(self, **request):
        if "IfMatch" in request:
            raise ClientError({"Error": {"Code": self.code, "Message": "At least one of the pre-conditions you "
                                         "specified did not hold"}}, "GetObject")
        raise AssertionError("read again from line 1 without If-Match: stop here")


@pytest.mark.parametrize("code", ["PreconditionFailed", "412"])
def test_a_failed_etag_precondition_is_taken_as_the_object_replaced(tmp_path, code):
    obj = S3Object(Precondition(code), LOG_BUCKET, S3_ACCESS_KEY)

    report = process_object(obj, Everything(), LocalDeadLetterWriter(tmp_path), Options(),
                            resume=Resume(line=4, etag='"d41d8cd98f00b204e9800998ecf8427e"'))

    assert report.warning.startswith('the object\'s ETag is no longer "d41d8cd98f00b204e9800998ecf8427e": '
                                     "the object was replaced since line 4; read again from line 1")
    assert (report.start_line, report.part) == (0, 1)


def test_another_s3_error_fails_the_object_naming_it(tmp_path):
    obj = S3Object(Precondition("AccessDenied"), LOG_BUCKET, S3_ACCESS_KEY)

    report = process_object(obj, Everything(), LocalDeadLetterWriter(tmp_path), Options(), resume=Resume(line=4, etag='"e"'))

    assert report.status == "failed" and report.error.startswith("ClientError: An error occurred (AccessDenied)")
    assert report.warning is None


# -- the report -----------------------------------------------------------------------------------

def test_a_dead_letter_that_cannot_be_written_fails_the_object_and_drops_its_continuation(tmp_path):
    class Unwritable:
        def store(self, letter, day):
            raise PermissionError("dead-letter bucket: AccessDenied")

    obj = local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(6)))

    report = process_object(obj, StopAfter(1, reject=frozenset({2})), Unwritable(), Options(bulk_max_docs=3))

    assert report.status == "failed" and report.continuation is None
    assert report.error == ("3 items still unsent when the time ran out: items throttled (429) for 4 min; "
                            "dead letter not written: PermissionError: dead-letter bucket: AccessDenied")


def test_a_dead_letter_that_cannot_be_written_is_the_whole_error_of_an_object_otherwise_ok(tmp_path):
    class Unwritable:
        def store(self, letter, day):
            raise OSError("disk full")

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(3))), Everything(reject=frozenset({1})),
                            Unwritable(), Options())

    assert (report.status, report.error) == ("failed", "dead letter not written: OSError: disk full")


def test_the_time_running_out_exactly_at_a_request_stops_before_it(tmp_path):
    clock = FakeTime()
    sink = Everything()

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(3))), sink, LocalDeadLetterWriter(tmp_path),
                            Options(), deadline=clock.now, clock=clock.clock)

    assert sink.sent == [] and report.status == "failed"
    assert report.error == "3 items still unsent when the time ran out"  # no cause: this sink does not say


def test_the_time_running_out_before_a_request_names_the_cause_the_sink_gives(tmp_path):
    class Troubled(Everything):
        def cause(self):
            return "items throttled (429) for 2 min"

    clock = FakeTime()
    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(3))), Troubled(),
                            LocalDeadLetterWriter(tmp_path), Options(), deadline=clock.now, clock=clock.clock)

    assert report.error == "3 items still unsent when the time ran out: items throttled (429) for 2 min"


def test_the_report_counts_the_seconds_the_object_took_and_only_its_own_throttling(tmp_path):
    class Stats:
        throttled_items = 40  # from objects sent before
        backoff_seconds = 12.5

    clock = FakeTime()

    class Throttled(Everything):
        stats = Stats()

        def send(self, items, deadline):
            self.stats.throttled_items += 3
            self.stats.backoff_seconds += 1.25
            clock.advance(2.0004)
            return super().send(items, deadline)

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(4))), Throttled(),
                            LocalDeadLetterWriter(tmp_path), Options(bulk_max_docs=2), clock=clock.clock)

    assert (report.throttled, report.backoff_seconds, report.seconds) == (6, 2.5, 4.001)


def test_exactly_half_the_lines_failing_to_parse_does_not_flag_the_object(tmp_path):
    lines = s3_access_lines(4)
    lines[0], lines[2] = UNPARSABLE_LINE + " 1", UNPARSABLE_LINE + " 3"

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(lines)), Everything(), LocalDeadLetterWriter(tmp_path),
                            Options())

    assert (report.failed, report.lines_read, report.warning) == (2, 4, None)


def test_an_object_with_no_lines_is_ok_and_not_flagged(tmp_path):
    report = process_object(local(tmp_path, S3_ACCESS_KEY, b""), Everything(), LocalDeadLetterWriter(tmp_path), Options())

    assert (report.status, report.lines_read, report.warning, report.bytes_read) == ("ok", 0, None, 0)


# -- which day the dead letter is filed under ------------------------------------------------------

@pytest.mark.parametrize("key, lines, day", [
    (ALB_KEY, alb_lines(2), datetime(2026, 11, 25, 12, 5, tzinfo=timezone.utc)),  # the key's time
    ("exported.log", s3_access_lines(2), datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)),  # the first line's
    ("exported.log", [UNPARSABLE_LINE], None),  # no time anywhere: undated
])
def test_the_dead_letter_is_filed_under_the_objects_own_time_never_today(tmp_path, key, lines, day):
    dead_letter = Dated()

    process_object(local(tmp_path, key, text(lines)), Everything(), dead_letter, Options())

    assert dead_letter.days == [day]


# -- the format, from the first line ---------------------------------------------------------------

def test_the_format_comes_from_the_first_line_that_is_not_empty(tmp_path):
    report = process_object(local(tmp_path, "exported.txt", b"\n\n" + text(alb_lines(2))), Everything(),
                            LocalDeadLetterWriter(tmp_path), Options())

    assert (report.status, report.format, report.indexed) == ("ok", "alb", 2)


def test_the_format_comes_from_the_start_of_a_first_line_over_the_length_limit(tmp_path):
    first = alb_lines(1)[0] + ' "' + "x" * 5000 + '"'

    report = process_object(local(tmp_path, "exported.txt", text([first] + alb_lines(2)[1:])), Everything(),
                            LocalDeadLetterWriter(tmp_path), Options(max_line_bytes=2048))

    assert (report.status, report.format, report.overlong, report.lines_read) == ("ok", "alb", 1, 2)


def test_an_empty_object_whose_key_says_nothing_is_skipped(tmp_path):
    report = process_object(local(tmp_path, "exported.txt", b""), Everything(), LocalDeadLetterWriter(tmp_path), Options())

    assert report.status == "skipped"


# -- when the sink runs out of time mid-request ------------------------------------------------------

class SettlesPart(Everything):
    """Takes its first request; in the second, rejects `reject`, leaves `unsent` unsent (None: says nothing
    about which) and runs out of time."""

    def __init__(self, unsent: set[int] | None, reject: set[int] = frozenset()):
        super().__init__()
        self.calls = 0
        self.unsent_lines, self.reject_lines = unsent, reject

    def send(self, items, deadline):
        self.calls += 1
        if self.calls == 1:
            return super().send(items, deadline)
        unsent = None if self.unsent_lines is None else [i for i in items if i.line_number in self.unsent_lines]
        rejected = [Rejection(i, 400, "mapper_parsing_exception: bad") for i in items if i.line_number in self.reject_lines]
        raise DeadlineExceeded(len(unsent or items), "items throttled (429) for 1 min", unsent, rejected)


def test_a_sink_that_runs_out_of_time_without_naming_the_unsent_items_sent_none_of_that_request(tmp_path):
    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(8))), SettlesPart(unsent=None),
                            LocalDeadLetterWriter(tmp_path), Options(bulk_max_docs=4))

    assert (report.continuation["line"], report.lines_read, report.indexed) == (4, 4, 4)
    assert "done_after" not in report.continuation


def test_items_rejected_before_the_time_ran_out_are_dead_lettered_and_counted_so(tmp_path):
    lines = s3_access_lines(8)
    lines[5] = UNPARSABLE_LINE  # line 6: a failure record, rejected too
    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(lines)), SettlesPart(unsent={8}, reject={5, 6}),
                            LocalDeadLetterWriter(tmp_path), Options(bulk_max_docs=4))

    assert report.continuation["line"] == 7
    assert (report.lines_read, report.indexed, report.failed, report.dead_lettered) == (7, 5, 0, 2)
    assert report.accounted_for
    entries = [json.loads(line)["line_number"]
               for line in gzip.decompress(open(report.dead_letter_uri, "rb").read()).splitlines()]
    assert entries == [5, 6]


def test_the_resume_point_is_dated_by_the_last_document_up_to_it_not_by_later_ones_settled(tmp_path):
    full = Everything()
    obj = local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(8)))
    process_object(obj, full, LocalDeadLetterWriter(tmp_path / "a"), Options(bulk_max_docs=4))
    time_of = {item.line_number: json.loads(item.body.splitlines()[1])["@timestamp"] for item in full.sent}

    report = process_object(obj, SettlesPart(unsent={6}), LocalDeadLetterWriter(tmp_path / "b"), Options(bulk_max_docs=4))

    assert report.continuation["line"] == 5
    assert (report.continuation["first_time"], report.continuation["last_time"]) == (time_of[1], time_of[5])
    assert decode_lines(5, report.continuation["done_after"]) == {7, 8}


def test_an_overlong_line_after_the_resume_point_is_counted_by_the_part_that_settles_it(tmp_path):
    lines = s3_access_lines(8)
    lines[5] = lines[5] + " " + "x" * 5000  # line 6
    obj = local(tmp_path, S3_ACCESS_KEY, text(lines))
    options = Options(bulk_max_docs=4, max_line_bytes=2048)

    first = process_object(obj, StopAfter(1), LocalDeadLetterWriter(tmp_path / "d"), options)
    second = process_object(obj, Everything(), LocalDeadLetterWriter(tmp_path / "d"), options,
                            resume=Resume(**first.continuation))

    assert (first.continuation["line"], first.overlong, second.overlong) == (4, 0, 1)
    assert (first.lines_read + second.lines_read, second.failed) == (8, 1)


# -- options --------------------------------------------------------------------------------------

def test_the_index_prefix_set_for_the_objects_format_names_its_daily_indices(tmp_path):
    sink = Everything()
    options = Options(index_prefixes={"s3-access": "s3-logs-prod", "alb": "alb-prod"})

    process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(2))), sink, LocalDeadLetterWriter(tmp_path), options)

    assert {json.loads(item.body.splitlines()[0])["index"]["_index"] for item in sink.sent} == {"s3-logs-prod-2026.11.25"}


def test_include_raw_keeps_each_lines_original_text_in_its_document(tmp_path):
    lines = s3_access_lines(2)
    sink = Everything()

    process_object(local(tmp_path, S3_ACCESS_KEY, text(lines)), sink, LocalDeadLetterWriter(tmp_path),
                   Options(include_raw=True))

    assert [json.loads(item.body.splitlines()[1])["event"]["original"] for item in sink.sent] == lines


# -- pinned by mutation testing (issue 15) -----------------------------------------------------------

def test_the_bitmap_is_as_long_as_its_last_line_needs_with_no_empty_byte_after_it():
    # line 18 is bit 7 of the first byte: a second, empty byte would only lengthen the message
    assert encode_lines(10, {18}) == base64.b64encode(zlib.compress(bytes([0x80]), 9)).decode()


def test_an_object_of_only_empty_lines_whose_key_says_nothing_is_skipped_as_no_known_log(tmp_path):
    report = process_object(local(tmp_path, "exported.txt", b"\n\n\n"), Everything(), LocalDeadLetterWriter(tmp_path),
                            Options())

    assert (report.status, report.error) == (
        "skipped", "neither the key nor the first line look like an ALB access log or an S3 server access log")


def test_the_report_of_an_object_that_cannot_be_opened_names_the_object(tmp_path):
    obj = LocalFile(str(tmp_path / "gone.log"), "gone.log")

    report = process_object(obj, Everything(), LocalDeadLetterWriter(tmp_path), Options())

    assert report.status == "failed" and report.error.startswith("FileNotFoundError: ")
    assert report.uri == str(tmp_path / "gone.log")


def test_an_object_is_read_a_bounded_piece_at_a_time_never_whole(tmp_path):
    body = text(s3_access_lines(20))
    asked = []

    class Recorded:
        uri = key = S3_ACCESS_KEY

        def open(self):
            rest = [body]

            def read(n):
                asked.append(n)
                data, rest[0] = rest[0][:n], rest[0][n:]
                return data
            return read, lambda: None

    report = process_object(Recorded(), Everything(), LocalDeadLetterWriter(tmp_path), Options())

    assert (report.status, report.indexed) == ("ok", 20)
    assert asked and all(isinstance(n, int) and 0 < n <= READ_SIZE for n in asked)


def test_a_sink_that_counts_no_throttling_reports_none_for_the_object(tmp_path):
    class Untallied(Everything):
        stats = object()  # a sink's stats without throttled_items or backoff_seconds

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(2))), Untallied(),
                            LocalDeadLetterWriter(tmp_path), Options())

    assert (report.status, report.throttled, report.backoff_seconds) == ("ok", 0, 0.0)


def test_the_backoff_an_object_waited_is_reported_to_the_millisecond(tmp_path):
    class Stats:
        throttled_items = 0
        backoff_seconds = 12.5

    class Throttled(Everything):
        stats = Stats()

        def send(self, items, deadline):
            self.stats.backoff_seconds += 1.0002
            return super().send(items, deadline)

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(4))), Throttled(),
                            LocalDeadLetterWriter(tmp_path), Options(bulk_max_docs=2))

    assert report.backoff_seconds == 2.0  # 2.0004 s


def test_the_dead_letter_says_why_an_overlong_line_is_in_it(tmp_path):
    lines = s3_access_lines(3)
    lines[1] = lines[1] + " " + "x" * 5000

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(lines)), Everything(), LocalDeadLetterWriter(tmp_path),
                            Options(max_line_bytes=2048))

    entries = [json.loads(line) for line in gzip.decompress(open(report.dead_letter_uri, "rb").read()).splitlines()]
    assert [(e["line_number"], e["reason"]) for e in entries] == [(2, "the line is longer than the 2,048-byte limit")]


def test_a_gzip_object_cut_short_fails_after_sending_the_lines_before_the_cut(tmp_path):
    whole = gzip.compress(text(s3_access_lines(400)), mtime=0)
    sink = Everything()

    report = process_object(local(tmp_path, S3_ACCESS_KEY, whole[:len(whole) // 2]), sink,
                            LocalDeadLetterWriter(tmp_path), Options())

    assert report.status == "failed" and report.error.endswith("; the lines before the cut were indexed")
    assert 0 < report.indexed < 400
    assert [item.line_number for item in sink.sent] == list(range(1, report.indexed + 1))


def test_an_enricher_given_in_the_options_enriches_the_documents(tmp_path):
    pytest.importorskip("ua_parser")
    from ingest.enrich import Enricher

    sink = Everything()
    process_object(local(tmp_path, ALB_KEY, text(alb_lines(3))), sink, LocalDeadLetterWriter(tmp_path),
                   Options(enricher=Enricher(user_agents=True)))

    agents = [json.loads(item.body.splitlines()[1])["user_agent"] for item in sink.sent]
    assert len(agents) == 3 and all("name" in agent for agent in agents)


def test_a_part_that_runs_out_of_time_before_any_document_is_settled_carries_no_times(tmp_path):
    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(4))), StopAfter(0),
                            LocalDeadLetterWriter(tmp_path), Options())

    assert report.continuation == {"line": 0, "part": 1}


def test_an_overlong_line_ending_the_last_request_settled_is_counted_by_that_part(tmp_path):
    lines = s3_access_lines(8)
    lines[3] = lines[3] + " " + "x" * 5000  # line 4, the last of the first request

    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(lines)), StopAfter(1), LocalDeadLetterWriter(tmp_path),
                            Options(bulk_max_docs=4, max_line_bytes=2048))

    assert (report.continuation["line"], report.overlong, report.failed) == (4, 1, 1)


def test_a_sink_that_runs_out_of_time_having_settled_its_whole_request_resumes_after_that_request(tmp_path):
    report = process_object(local(tmp_path, S3_ACCESS_KEY, text(s3_access_lines(12))), SettlesPart(unsent=set()),
                            LocalDeadLetterWriter(tmp_path), Options(bulk_max_docs=4))

    assert (report.continuation["line"], report.lines_read, report.indexed) == (8, 8, 8)


# -- header lines (CloudFront's #Version and #Fields): skipped, and counted as such -----------------

CLOUDFRONT_KEY = "E2EXAMPLE1234.2019-12-04-21.a1b2c3d4"


def cloudfront_object(tmp_path, records: int) -> LocalFile:
    """The CloudFront Developer Guide's example log file: its two header lines, then `records` of its records."""
    example = (Path(__file__).parents[1] / "formats" / "data" / "cloudfront_doc_examples.log").read_text().splitlines()
    header = [line for line in example if line.startswith(("#Version", "#Fields"))]
    body = [line for line in example if line and not line.startswith("#")]
    return local(tmp_path, CLOUDFRONT_KEY, text(header + body[:records]))


def test_header_lines_are_reported_as_skipped_lines_not_documents(tmp_path):
    sink = Everything()

    report = process_object(cloudfront_object(tmp_path, 3), sink, LocalDeadLetterWriter(tmp_path), Options())

    assert (report.status, report.format, report.skipped_lines, report.indexed) == ("ok", "cloudfront", 2, 3)
    assert [item.line_number for item in sink.sent] == [3, 4, 5]


def test_header_lines_up_to_the_resume_point_are_counted_by_the_part_that_stops_there(tmp_path):
    report = process_object(cloudfront_object(tmp_path, 3), StopAfter(0), LocalDeadLetterWriter(tmp_path), Options())

    assert (report.continuation["line"], report.skipped_lines, report.lines_read) == (2, 2, 0)
