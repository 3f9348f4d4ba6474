"""NdjsonFileSink: bulk files that end at item boundaries, stay under the size bound and can be curl'ed as-is."""
from __future__ import annotations

import json
import urllib.request

import pytest

from ingest.shipper import NdjsonFileSink

from .conftest import bulk_endpoint, bulk_ids, make_item


def test_splits_items_into_numbered_files_under_max_bytes_each_ending_at_an_item_boundary(tmp_path):
    items = [make_item(n, padding=50) for n in range(1, 8)]
    size = len(items[0].body)
    sink = NdjsonFileSink(tmp_path, max_bytes=3 * size)

    assert sink.send(items[:4], deadline=0) == []  # the deadline does not matter for files
    assert sink.send(items[4:], deadline=0) == []
    sink.close()

    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["bulk-000001.ndjson", "bulk-000002.ndjson", "bulk-000003.ndjson"]
    assert [bulk_ids(f.read_bytes()) for f in files] == [
        ["id-0001", "id-0002", "id-0003"], ["id-0004", "id-0005", "id-0006"], ["id-0007"]]
    assert all(f.stat().st_size <= 3 * size and f.read_bytes().endswith(b"\n") for f in files)
    assert b"".join(f.read_bytes() for f in files) == b"".join(item.body for item in items)
    assert sink.files == files and sink.items_written == 7


def test_bounds_the_number_of_documents_per_file(tmp_path):
    sink = NdjsonFileSink(tmp_path, max_docs=2)
    sink.send([make_item(n) for n in range(1, 6)], deadline=0)
    sink.close()
    assert [len(bulk_ids(f.read_bytes())) for f in sorted(tmp_path.iterdir())] == [2, 2, 1]


def test_an_item_bigger_than_max_bytes_gets_a_file_of_its_own(tmp_path):
    sink = NdjsonFileSink(tmp_path, max_bytes=200)
    sink.send([make_item(1), make_item(2, padding=1000), make_item(3)], deadline=0)
    sink.close()
    assert [bulk_ids(f.read_bytes()) for f in sorted(tmp_path.iterdir())] == [["id-0001"], ["id-0002"], ["id-0003"]]


def test_a_rerun_replaces_earlier_bulk_files_and_leaves_other_files_alone(tmp_path):
    first = NdjsonFileSink(tmp_path, max_docs=1)
    first.send([make_item(n) for n in range(1, 4)], deadline=0)
    first.close()
    (tmp_path / "notes.txt").write_text("keep me")

    second = NdjsonFileSink(tmp_path, max_docs=1)
    second.send([make_item(9)], deadline=0)
    second.close()

    assert sorted(f.name for f in tmp_path.iterdir()) == ["bulk-000001.ndjson", "notes.txt"]
    assert bulk_ids((tmp_path / "bulk-000001.ndjson").read_bytes()) == ["id-0009"]


def test_writes_no_file_for_no_items(tmp_path):
    sink = NdjsonFileSink(tmp_path)
    sink.send([], deadline=0)
    sink.close()
    assert list(tmp_path.iterdir()) == []


def test_a_file_posted_as_is_to_a_bulk_endpoint_is_accepted_item_for_item(tmp_path):
    # what `curl -H 'Content-Type: application/x-ndjson' --data-binary @bulk-000001.ndjson URL/_bulk` sends
    items = [make_item(n) for n in range(1, 4)]
    sink = NdjsonFileSink(tmp_path)
    sink.send(items, deadline=0)
    sink.close()
    data = (tmp_path / "bulk-000001.ndjson").read_bytes()

    with bulk_endpoint.BulkEndpoint() as endpoint:
        request = urllib.request.Request(endpoint.url + "/_bulk", data=data, method="POST",
                                         headers={"Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(request) as response:
            reply = json.loads(response.read())
        stats = endpoint.stats

    assert reply["errors"] is False
    assert [item["index"]["_id"] for item in reply["items"]] == ["id-0001", "id-0002", "id-0003"]
    assert stats.items == 3


def test_the_directory_is_made_with_its_missing_parents(tmp_path):
    sink = NdjsonFileSink(tmp_path / "out" / "bulk")
    sink.send([make_item(1)], deadline=0)
    sink.close()
    assert [f.name for f in (tmp_path / "out" / "bulk").iterdir()] == ["bulk-000001.ndjson"]


@pytest.mark.parametrize("bounds", [dict(max_bytes=0), dict(max_docs=0)])
def test_bounds_below_1_are_refused(tmp_path, bounds):
    with pytest.raises(ValueError, match="^max_bytes and max_docs must be at least 1$"):
        NdjsonFileSink(tmp_path, **bounds)


def test_bounds_of_1_byte_and_1_document_put_each_item_in_a_file_of_its_own(tmp_path):
    sink = NdjsonFileSink(tmp_path, max_bytes=1, max_docs=1)
    sink.send([make_item(1), make_item(2)], deadline=0)
    sink.close()
    assert [bulk_ids(f.read_bytes()) for f in sorted(tmp_path.iterdir())] == [["id-0001"], ["id-0002"]]


def test_closing_twice_is_harmless(tmp_path):
    sink = NdjsonFileSink(tmp_path)
    sink.send([make_item(1)], deadline=0)
    sink.close()
    sink.close()
    assert sink.files[0].read_bytes() == make_item(1).body
