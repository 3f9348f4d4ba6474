"""scripts/bulk_endpoint.py: the loopback stand-in the benchmark sends to."""
from __future__ import annotations

import json

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


def test_discard_mode_throws_the_bodies_away_unread_and_the_sink_takes_its_answer_as_success():
    items = [make_item(n) for n in range(1, 8)]
    with bulk_endpoint.BulkEndpoint(discard=True) as endpoint:
        sink = OpenSearchSink(endpoint.url, None, max_docs=3)
        rejections = sink.send(items, FAR_AWAY)
        stats = endpoint.stats

    assert rejections == []
    # Every byte sent is read (the connection stays usable for the next request), none is unpacked.
    assert (stats.requests, stats.gzip_requests, stats.bytes_received) == (3, 3, sink.stats.bytes_sent)
    assert (stats.items, stats.bytes_uncompressed) == (0, 0)


def test_discard_mode_reads_a_body_larger_than_its_buffer_and_answers_the_next_request_on_the_same_connection():
    import http.client

    body = b"x" * ((1 << 20) * 2 + 17)  # over two of the endpoint's 1 MiB reads
    with bulk_endpoint.BulkEndpoint(discard=True) as endpoint:
        connection = http.client.HTTPConnection(*endpoint.url[len("http://"):].split(":"))
        answers = []
        for _ in range(2):
            connection.request("POST", "/_bulk?filter_path=errors", body=body)
            response = connection.getresponse()
            answers.append((response.status, response.read()))
        connection.request("POST", "/nowhere", body=b"{}")
        response = connection.getresponse()
        answers.append((response.status, json.loads(response.read())["status"]))
        stats = endpoint.stats

    assert answers == [(200, b'{"errors":false}'), (200, b'{"errors":false}'), (404, 404)]
    assert (stats.requests, stats.bytes_received) == (2, 2 * len(body))


def test_replies_are_not_held_back_by_nagle_so_small_requests_take_no_delayed_ack_stall(monkeypatch):
    # Without TCP_NODELAY on the server, each reply on loopback waits ~40 ms for the client's delayed ACK.
    import socket

    nodelay = []
    setup = bulk_endpoint._Handler.setup

    def recording_setup(handler):
        setup(handler)
        nodelay.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(bulk_endpoint._Handler, "setup", recording_setup)
    with bulk_endpoint.BulkEndpoint() as endpoint:
        OpenSearchSink(endpoint.url, None).send([make_item(1)], FAR_AWAY)

    assert nodelay and all(nodelay)


def test_throttle_share_answers_that_share_of_items_429_and_records_what_was_indexed():
    import gzip as _gzip
    import urllib.request

    body = b"".join(b'{"index":{"_index":"i","_id":"%d"}}\n{}\n' % n for n in range(2000))
    with bulk_endpoint.BulkEndpoint(throttle_share=0.7, record=True) as endpoint:
        request = urllib.request.Request(endpoint.url + "/_bulk", data=_gzip.compress(body), method="POST",
                                         headers={"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"})
        answer = json.loads(urllib.request.urlopen(request).read())
        throttled = [item for item in answer["items"] if item["index"]["status"] == 429]
        assert answer["errors"] is True and 0.65 < len(throttled) / 2000 < 0.75
        assert endpoint.stats.throttled == len(throttled)
        assert len(endpoint.indexed) == 2000 - len(throttled)
