"""scripts/bulk_endpoint.py: the loopback stand-in the benchmark sends to."""
from __future__ import annotations

import pytest

from ingest.shipper import BULK_FILTER_PATH, OpenSearchSink

from .conftest import bulk_endpoint, make_item

FAR_AWAY = 1e12


def test_counts_requests_items_and_bytes_of_gzip_bulk_requests_from_the_sink():
    items = [make_item(n) for n in range(1, 6)]
    with bulk_endpoint.BulkEndpoint() as endpoint:
        sink = OpenSearchSink(endpoint.url, None, max_docs=2)
        rejections = sink.send(items, FAR_AWAY)
        stats = endpoint.stats

    assert rejections == []
    assert (stats.requests, stats.items, stats.gzip_requests) == (3, 5, 3)
    assert stats.bytes_uncompressed == sum(len(item.body) for item in items)
    assert stats.bytes_received == sink.stats.bytes_sent


def test_filter_path_keeps_errors_and_item_statuses_in_order():
    response, count = bulk_endpoint.bulk_response(make_item(1).body + make_item(2).body)
    paths = [path.split(".") for path in BULK_FILTER_PATH.split(",")]

    assert count == 2
    assert bulk_endpoint.filter_response(response, paths) == {
        "errors": False, "items": [{"index": {"status": 201}}, {"index": {"status": 201}}]}


def test_refuses_to_listen_beyond_loopback():
    with pytest.raises(ValueError, match="loopback"):
        bulk_endpoint.BulkEndpoint(host="0.0.0.0")
