"""The run report counts every line exactly once, whatever way the lines are cut into bulk requests;
and requests are filled up to their bound instead of trailing one-item requests."""
from __future__ import annotations

import random

import pytest

from ingest.deadletter import LocalDeadLetterWriter
from ingest.pipeline import LocalFile, Options, process_object

from .conftest import S3_ACCESS_KEY, UNPARSABLE_LINE, alb_lines, mapping_error, s3_access_lines, text


def _file(tmp_path, lines):
    path = tmp_path / S3_ACCESS_KEY.replace("/", "_")
    path.write_bytes(text(lines))
    return LocalFile(str(path), path.name)


def _five_bad_of_ten():
    lines = s3_access_lines(10)
    for n in (1, 3, 5, 7, 9):
        lines[n] = UNPARSABLE_LINE + f" {n}"
    return lines


@pytest.mark.parametrize("max_docs", [1, 2, 3, 4, 7, 10, 5000])
def test_failure_records_are_counted_exactly_when_a_request_fills_up_mid_batch(tmp_path, opensearch, sink,
                                                                               dead_letter, max_docs):
    report = process_object(_file(tmp_path, _five_bad_of_ten()), sink, dead_letter, Options(bulk_max_docs=max_docs))

    assert (report.lines_read, report.indexed, report.failed, report.dead_lettered) == (10, 5, 5, 0)
    assert sum(1 for doc in opensearch.docs if doc.source.get("tags") == ["parse_failure"]) == 5


@pytest.mark.parametrize("max_docs", [1, 3, 5000])
def test_failure_records_the_cluster_rejects_are_dead_lettered_not_counted_as_failure_records(
        tmp_path, opensearch, sink, dead_letter, max_docs):
    opensearch.answer_item = lambda doc, attempt: mapping_error(doc) if "tags" in doc.source else None

    report = process_object(_file(tmp_path, _five_bad_of_ten()), sink, dead_letter, Options(bulk_max_docs=max_docs))

    assert (report.lines_read, report.indexed, report.failed, report.dead_lettered) == (10, 5, 0, 5)
    assert report.accounted_for


def test_counts_are_exact_on_thousands_of_mixed_lines_cut_at_every_kind_of_bound(tmp_path, opensearch, sink,
                                                                                 dead_letter):
    rng = random.Random(7)
    lines = s3_access_lines(3000)
    bad = set(rng.sample(range(3000), 1400))
    lines = [UNPARSABLE_LINE + f" {n}" if n in bad else line for n, line in enumerate(lines)]
    rejected = set(rng.sample(range(1, 3001), 300))
    opensearch.answer_item = lambda doc, attempt: mapping_error(doc) if doc.line_number in rejected else None

    report = process_object(_file(tmp_path, lines), sink, dead_letter,
                            Options(bulk_max_docs=37, bulk_max_bytes=9000))

    rejected_failures = sum(1 for n in rejected if n - 1 in bad)
    assert report.lines_read == 3000
    assert report.failed == 1400 - rejected_failures
    assert report.indexed == 1600 - (300 - rejected_failures)
    assert report.dead_lettered == 300


def test_requests_are_filled_up_to_the_byte_bound_with_no_one_item_tails(tmp_path, opensearch, sink, dead_letter):
    lines = alb_lines(2000)
    path = tmp_path / "alb.log"
    path.write_bytes(text(lines))

    report = process_object(LocalFile(str(path), "alb.log"), sink, dead_letter, Options(bulk_max_bytes=64 * 1024))

    sizes = [len(request.body) for request in opensearch.requests]
    largest_item = max(len(line) for line in lines) * 3  # a generous bound on one item's body
    assert report.indexed == 2000
    assert all(size <= 64 * 1024 for size in sizes)
    assert all(size > 64 * 1024 - largest_item for size in sizes[:-1]), sizes
    assert sum(1 for request in opensearch.requests if len(request.docs) == 1) == 0


class _Requests:
    """Takes every request; keeps each request's items."""

    def __init__(self):
        self.requests = []

    def send(self, items, deadline):
        self.requests.append(list(items))
        return []

    def close(self):
        pass


def test_a_request_takes_items_up_to_exactly_the_byte_bound(tmp_path):
    # The same line nine times: lines 1-9 make items of one length, so three of them fill the bound exactly.
    lines = s3_access_lines(1) * 9
    probe, sink = _Requests(), _Requests()
    process_object(_file(tmp_path, lines), probe, LocalDeadLetterWriter(tmp_path / "a"), Options())
    lengths = {len(item.body) for item in probe.requests[0]}
    assert len(lengths) == 1

    process_object(_file(tmp_path, lines), sink, LocalDeadLetterWriter(tmp_path / "b"),
                   Options(bulk_max_bytes=3 * lengths.pop()))

    assert [[item.line_number for item in request] for request in sink.requests] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
