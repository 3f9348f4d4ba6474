"""OpenSearchSink against a scripted cluster on loopback: what goes over the wire and how replies are handled."""
from __future__ import annotations

import pytest

from ingest.shipper import BULK_FILTER_PATH, BulkRequestError, OpenSearchSink, RetriesExhausted
from ingest.sinks import DeadlineExceeded, Rejection

from .conftest import MAPPING_ERROR, QUEUE_FULL, Reply, bulk_reply, make_item


def item_id(n: int) -> str:
    return f"id-{n:04d}"

FAR_AWAY = 1e12  # a deadline that never matters


def sink_for(cluster, fake_time, **options) -> OpenSearchSink:
    options.setdefault("random", lambda: 0.5)
    return OpenSearchSink(cluster.url, None, sleep=fake_time.sleep, clock=fake_time.clock, **options)


# -- what is sent --------------------------------------------------------------------------------

def test_sends_the_items_bodies_unchanged_as_one_gzip_ndjson_bulk_request(cluster, fake_time):
    items = [make_item(n) for n in range(1, 4)]

    rejections = sink_for(cluster, fake_time).send(items, FAR_AWAY)

    assert rejections == []
    [request] = cluster.received
    assert (request.method, request.path) == ("POST", "/_bulk")
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.headers["content-encoding"] == "gzip"
    assert request.raw_body[:2] == b"\x1f\x8b"  # really gzip on the wire
    assert request.body == b"".join(item.body for item in items)
    assert request.query["filter_path"] == [BULK_FILTER_PATH]
    assert request.headers["accept-encoding"] == "gzip"  # the answer may come compressed too
    assert "authorization" not in request.headers


def test_splits_requests_so_no_body_exceeds_max_bytes(cluster, fake_time):
    items = [make_item(n, padding=100) for n in range(1, 8)]
    size = len(items[0].body)
    assert all(len(item.body) == size for item in items)

    sink_for(cluster, fake_time, max_bytes=3 * size + 1).send(items, FAR_AWAY)

    assert [len(r.ids) for r in cluster.received] == [3, 3, 1]
    assert all(len(r.body) <= 3 * size + 1 for r in cluster.received)
    assert b"".join(r.body for r in cluster.received) == b"".join(item.body for item in items)


def test_a_request_is_filled_up_to_exactly_max_bytes(cluster, fake_time):
    items = [make_item(n, padding=100) for n in range(1, 8)]

    sink_for(cluster, fake_time, max_bytes=3 * len(items[0].body)).send(items, FAR_AWAY)

    assert [len(r.ids) for r in cluster.received] == [3, 3, 1]


def test_splits_requests_so_none_holds_more_than_max_docs(cluster, fake_time):
    items = [make_item(n) for n in range(1, 6)]

    sink_for(cluster, fake_time, max_docs=2).send(items, FAR_AWAY)

    assert [r.ids for r in cluster.received] == [["id-0001", "id-0002"], ["id-0003", "id-0004"], ["id-0005"]]


def test_an_item_bigger_than_max_bytes_is_sent_in_a_request_of_its_own(cluster, fake_time):
    small, big, small2 = make_item(1), make_item(2, padding=5000), make_item(3)

    sink_for(cluster, fake_time, max_bytes=1000).send([small, big, small2], FAR_AWAY)

    assert [r.ids for r in cluster.received] == [["id-0001"], ["id-0002"], ["id-0003"]]


def test_sends_nothing_for_no_items(cluster, fake_time):
    assert sink_for(cluster, fake_time).send([], FAR_AWAY) == []
    assert cluster.received == []


# -- per-item results ----------------------------------------------------------------------------

def test_resends_only_the_items_throttled_with_429_and_rejects_mapping_errors_with_their_reason(cluster, fake_time):
    items = [make_item(n) for n in range(1, 6)]
    cluster.then(lambda request: bulk_reply(request, {"id-0002": QUEUE_FULL, "id-0004": MAPPING_ERROR}))

    rejections = sink_for(cluster, fake_time).send(items, FAR_AWAY)

    assert [r.ids for r in cluster.received] == [["id-0001", "id-0002", "id-0003", "id-0004", "id-0005"],
                                                  ["id-0002"]]
    assert cluster.received[1].body == items[1].body
    assert rejections == [Rejection(
        items[3], 400,
        "mapper_parsing_exception: failed to parse field [source.ip] of type [ip] in document with id 'id-0004'. "
        "Preview of field's value: 'not-an-ip' (caused by illegal_argument_exception: "
        "'not-an-ip' is not an IP string literal.)")]
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize("failure", [
    dict(status=429, error_type="circuit_breaking_exception",
         reason="[parent] Data too large, data for [<transport_request>] would be [1031803624/984mb], "
                "which is larger than the limit of [1020054732/972.7mb]"),
    dict(status=503, error_type="unavailable_shards_exception", reason="[alb-logs-2026.11.25][0] primary shard is not active"),
    dict(status=403, error_type="cluster_block_exception",
         reason="index [alb-logs-2026.11.25] blocked by: [FORBIDDEN/8/index write (api)];"),
], ids=["429-circuit-breaker", "5xx", "403-cluster-block"])
def test_resends_items_that_failed_for_a_passing_reason(cluster, fake_time, failure):
    items = [make_item(1), make_item(2)]
    cluster.then(lambda request: bulk_reply(request, {"id-0001": failure}))

    assert sink_for(cluster, fake_time).send(items, FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001", "id-0002"], ["id-0001"]]


def test_a_version_conflict_is_permanent(cluster, fake_time):
    conflict = dict(status=409, error_type="version_conflict_engine_exception",
                    reason="[id-0001]: version conflict, document already exists (current version [1])")
    cluster.then(lambda request: bulk_reply(request, {"id-0001": conflict}))

    [rejection] = sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert rejection.status == 409
    assert rejection.reason.startswith("version_conflict_engine_exception: [id-0001]: version conflict")
    assert len(cluster.received) == 1


def test_backs_off_exponentially_with_full_jitter_up_to_the_cap(cluster, fake_time):
    throttle_everything = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})  # noqa: E731
    cluster.then(*[throttle_everything] * 6)
    draws = iter([1.0, 1.0, 1.0, 1.0, 1.0, 0.25])

    sink = sink_for(cluster, fake_time, backoff_base=0.5, backoff_cap=4.0, random=lambda: next(draws))
    assert sink.send([make_item(1)], FAR_AWAY) == []

    # random() scales the whole window (full jitter); the window doubles each attempt and stops at the cap
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 1.0]
    assert len(cluster.received) == 7


# -- whole-request failures ----------------------------------------------------------------------

@pytest.mark.parametrize("reply", [
    Reply(503, {"error": {"type": "cluster_manager_not_discovered_exception", "reason": None}, "status": 503}),
    Reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    Reply(429, "429 Too Many Requests /_bulk"),
    Reply(403, "403 Request throttled due to too many requests /_bulk"),
], ids=["503", "502", "429", "403-throttled"])
def test_resends_the_whole_request_after_a_passing_request_failure(cluster, fake_time, reply):
    items = [make_item(1), make_item(2)]
    cluster.then(reply)

    assert sink_for(cluster, fake_time).send(items, FAR_AWAY) == []

    assert len(cluster.received) == 2
    assert cluster.received[0].body == cluster.received[1].body == items[0].body + items[1].body
    assert len(fake_time.sleeps) == 1


def test_a_request_that_times_out_is_resent(cluster, fake_time):
    items = [make_item(1), make_item(2)]
    cluster.then(Reply(200, None, hang=True))

    assert sink_for(cluster, fake_time, timeout=1.0).send(items, FAR_AWAY) == []

    assert [r.ids for r in cluster.received] == [["id-0001", "id-0002"]] * 2


def test_a_refused_connection_is_retried_until_the_deadline_then_everything_is_pending(fake_time):
    import socket
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = OpenSearchSink(f"http://127.0.0.1:{port}", None, sleep=fake_time.sleep, clock=fake_time.clock,
                          random=lambda: 1.0, backoff_base=1.0, backoff_cap=8.0)

    deadline = fake_time.now + 10
    with pytest.raises(DeadlineExceeded) as raised:
        sink.send([make_item(n) for n in range(1, 4)], deadline)

    assert raised.value.pending == 3
    # the next 8 s wait would end past the deadline: a shorter one leaves time for a last attempt
    assert fake_time.sleeps == [1.0, 2.0, 4.0, pytest.approx(3.0 - 0.05)]
    assert fake_time.now < deadline


def test_413_splits_the_request_in_halves_until_it_fits(cluster, fake_time):
    items = [make_item(n) for n in range(1, 5)]
    too_large = Reply(413, {"error": {"type": "content_too_long_exception",
                                      "reason": "Request size exceeded 10485760 bytes"}, "status": 413})
    cluster.then(too_large, too_large)
    sink = sink_for(cluster, fake_time)

    assert sink.send(items, FAR_AWAY) == []

    assert [r.ids for r in cluster.received] == [
        ["id-0001", "id-0002", "id-0003", "id-0004"],
        ["id-0001", "id-0002"],  # still too large
        ["id-0001"], ["id-0002"], ["id-0003", "id-0004"],
    ]
    assert fake_time.sleeps == []  # splitting is not throttling: no wait
    assert sink.stats.split_requests == 2


def test_a_single_item_still_too_large_is_rejected_with_413_and_the_rest_is_sent(cluster, fake_time):
    items = [make_item(1), make_item(2)]
    too_large = Reply(413, "Request size exceeded 10485760 bytes")
    cluster.then(too_large, too_large)

    rejections = sink_for(cluster, fake_time).send(items, FAR_AWAY)

    assert [(r.item, r.status) for r in rejections] == [(items[0], 413)]
    assert "request_too_large" in rejections[0].reason
    assert [r.ids for r in cluster.received] == [["id-0001", "id-0002"], ["id-0001"], ["id-0002"]]


@pytest.mark.parametrize("reply, status", [
    (Reply(401, "Unauthorized"), 401),
    (Reply(403, {"error": {"root_cause": [{"type": "security_exception", "reason": "no permissions for "
                 "[indices:data/write/bulk] and User [name=arn:aws:iam::123456789012:role/shipper]"}],
                 "type": "security_exception", "reason": "no permissions for [indices:data/write/bulk] and User "
                 "[name=arn:aws:iam::123456789012:role/shipper]"}, "status": 403}), 403),
    (Reply(400, {"error": {"type": "illegal_argument_exception",
                           "reason": "The bulk request must be terminated by a newline [\\n]"}, "status": 400}), 400),
], ids=["401", "403-forbidden", "400"])
def test_a_request_refused_for_good_raises_an_error_naming_url_and_status_without_retrying(
        cluster, fake_time, reply, status):
    cluster.then(reply)

    with pytest.raises(BulkRequestError) as raised:
        sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert raised.value.status == status
    assert f"{cluster.url}/_bulk" in str(raised.value) and f"HTTP {status}" in str(raised.value)
    assert len(cluster.received) == 1 and fake_time.sleeps == []


def test_a_403_that_is_not_throttling_names_the_missing_permission(cluster, fake_time):
    cluster.then(Reply(403, {"error": {"type": "security_exception",
                                       "reason": "no permissions for [indices:data/write/bulk]"}, "status": 403}))

    with pytest.raises(BulkRequestError, match=r"security_exception: no permissions for \[indices:data/write/bulk\]"):
        sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)


# -- time budget ---------------------------------------------------------------------------------

def test_when_no_wait_leaves_time_for_another_request_it_raises_with_every_unsent_item_counted(cluster, fake_time):
    items = [make_item(n) for n in range(1, 7)]  # three requests of two
    cluster.then(lambda request: bulk_reply(request, {"id-0002": QUEUE_FULL}))
    deadline = fake_time.now + 0.04  # less than the time kept for a last request

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, max_docs=2, backoff_base=1.0, random=lambda: 0.5).send(items, deadline)

    assert raised.value.pending == 1 + 4  # the throttled item and the two requests not yet sent
    assert "5 items still unsent" in str(raised.value)
    assert fake_time.sleeps == [] and len(cluster.received) == 1


def test_nothing_is_sent_once_the_deadline_has_passed(cluster, fake_time):
    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time).send([make_item(1), make_item(2)], deadline=fake_time.now)

    assert raised.value.pending == 2
    assert cluster.received == []


def test_retries_stop_when_nothing_has_been_indexed_for_retry_for_seconds(cluster, fake_time):
    cluster.default = lambda request: Reply(503, "503 Service Unavailable")

    with pytest.raises(RetriesExhausted) as raised:
        sink_for(cluster, fake_time, retry_for=30, backoff_base=1.0, backoff_cap=8.0,
                 random=lambda: 1.0).send([make_item(1), make_item(2)], FAR_AWAY)

    assert isinstance(raised.value, DeadlineExceeded)  # callers resume the object later either way
    assert raised.value.pending == 2
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]  # waiting 8 s more would pass 30 s without progress
    assert str(raised.value) == "2 items still unsent after 6 attempts in 23 s: HTTP 503: 503 Service Unavailable"
    assert [item.line_number for item in raised.value.unsent] == [1, 2]


def test_throttling_that_lets_some_items_through_is_retried_past_any_count_of_attempts(cluster, fake_time):
    # One item throttled 40 times in a row while the others go through: it is still indexed, whatever
    # the count, because the cluster keeps indexing (10 attempts used to fail its whole object).
    stubborn = iter(range(40))
    cluster.default = lambda request: bulk_reply(
        request, {"id-0001": QUEUE_FULL} if next(stubborn, None) is not None else {})
    items = [make_item(n) for n in range(1, 1000)]

    rejections = sink_for(cluster, fake_time, retry_for=5, max_docs=16).send(items, FAR_AWAY)

    assert rejections == []
    assert all(r.ids[0] == "id-0001" for r in cluster.received[:41])  # it rides at the head of each request
    assert {i for r in cluster.received for i in r.ids} == {item_id(n) for n in range(1, 1000)}
    assert max(fake_time.sleeps) <= 0.5  # each round indexed something: short pauses, no exponential growth


def test_a_stretch_of_total_throttling_backs_off_exponentially_until_retry_for_then_gives_up(cluster, fake_time):
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})

    with pytest.raises(RetriesExhausted) as raised:
        sink_for(cluster, fake_time, retry_for=240, backoff_base=0.5, backoff_cap=20.0, random=lambda: 1.0
                 ).send([make_item(1)], FAR_AWAY)

    assert fake_time.sleeps[:7] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0]
    assert 220 < sum(fake_time.sleeps) <= 240
    assert raised.value.last_failure == "items throttled (429)"
    assert "after 17 attempts in 3 min 52 s: items throttled (429)" in str(raised.value)
    assert not raised.value.unreachable  # the cluster answered every time


def test_when_time_runs_out_the_error_says_why_and_for_how_long(cluster, fake_time):
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, random=lambda: 1.0).send([make_item(1)], fake_time.now + 250)

    # waits of 0.5, 1, … 20 s, then a shorter one for a last attempt just before the deadline
    assert raised.value.cause == "items throttled (429) for 4 min 10 s"
    assert str(raised.value) == "1 items still unsent when the time ran out: items throttled (429) for 4 min 10 s"


@pytest.mark.parametrize("reply, cause", [
    (Reply(500, {"error": {"type": "exception", "reason": "boom"}, "status": 500}), "HTTP 500: exception: boom"),
    (Reply(429, "429 Too Many Requests /_bulk"), "HTTP 429: 429 Too Many Requests /_bulk"),
], ids=["500", "429"])
def test_a_request_error_that_outlasts_the_time_is_named_with_its_status(cluster, fake_time, reply, cause):
    cluster.default = lambda request: reply

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, random=lambda: 1.0).send([make_item(1)], fake_time.now + 10)

    assert raised.value.cause == f"{cause} for 10 s"  # 1, 2 and 4 s, then a last attempt at 9.95 s


def test_the_unsent_items_come_back_in_line_order_with_the_rejections_so_far(cluster, fake_time):
    items = [make_item(n) for n in range(1, 7)]
    cluster.then(lambda request: bulk_reply(request, {"id-0002": QUEUE_FULL, "id-0003": MAPPING_ERROR}))
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, max_docs=4, random=lambda: 1.0).send(items, fake_time.now + 3)

    assert [item.line_number for item in raised.value.unsent] == [2, 5, 6]
    assert [(r.item.line_number, r.status) for r in raised.value.rejected] == [(3, 400)]


def test_retry_after_from_the_cluster_is_waited_at_least(cluster, fake_time):
    cluster.then(Reply(429, "429 Too Many Requests", headers={"Retry-After": "7"}))

    assert sink_for(cluster, fake_time, random=lambda: 0.5).send([make_item(1)], FAR_AWAY) == []

    assert fake_time.sleeps == [7.0]
    assert len(cluster.received) == 2


def test_a_retry_after_of_0_leaves_the_jittered_wait_as_it_is(cluster, fake_time):
    cluster.then(Reply(429, "429 Too Many Requests", headers={"Retry-After": "0"}))

    assert sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 0.5).send([make_item(1)], FAR_AWAY) == []

    assert fake_time.sleeps == [0.5]


def test_a_retry_after_given_as_an_http_date_is_waited_until_that_moment(cluster, fake_time, monkeypatch):
    # RFC 9110, 10.2.3: Retry-After = HTTP-date / delay-seconds, e.g. "Retry-After: Fri, 31 Dec 1999 23:59:59 GMT"
    from types import SimpleNamespace

    from ingest import shipper

    monkeypatch.setattr(shipper, "time", SimpleNamespace(time=lambda: 946684799.0 - 120))  # 2 min before it
    cluster.then(Reply(429, "429 Too Many Requests", headers={"Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT"}))

    assert sink_for(cluster, fake_time, random=lambda: 0.5).send([make_item(1)], fake_time.now + 600) == []

    assert fake_time.sleeps == [120.0] and len(cluster.received) == 2


def test_a_retry_after_date_already_past_asks_for_no_wait(cluster, fake_time):
    cluster.then(Reply(429, "429 Too Many Requests", headers={"Retry-After": "Fri, 31 Dec 1999 23:59:59 GMT"}))

    assert sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 0.5).send([make_item(1)], FAR_AWAY) == []

    assert fake_time.sleeps == [0.5]  # the jittered wait alone


@pytest.mark.parametrize("value", ["soon", "Fri, 32 Dec 1999 25:61:61 GMT", ""], ids=["word", "bad-date", "empty"])
def test_a_retry_after_that_is_neither_seconds_nor_a_date_is_ignored(cluster, fake_time, value):
    cluster.then(Reply(429, "429 Too Many Requests", headers={"Retry-After": value}))

    assert sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 0.5).send([make_item(1)], FAR_AWAY) == []

    assert fake_time.sleeps == [0.5]


def test_a_200_with_an_html_page_is_retried_not_taken_as_a_failed_request(cluster, fake_time):
    html = "<html><head><title>Service Unavailable</title></head><body>try later</body></html>"
    cluster.then(Reply(200, html, content_type="text/html"), Reply(200, "maintenance", content_type="text/plain"))

    assert sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY) == []

    assert len(cluster.received) == 3 and len(fake_time.sleeps) == 2


def test_when_nothing_gets_through_requests_shrink_and_grow_back_when_the_cluster_recovers(cluster, fake_time):
    throttled_rounds = iter(range(3))
    cluster.default = lambda request: bulk_reply(
        request, {i: QUEUE_FULL for i in request.ids} if next(throttled_rounds, None) is not None else {})
    items = [make_item(n) for n in range(1, 200)]

    sink_for(cluster, fake_time, max_docs=16, min_request_share=0.25).send(items, FAR_AWAY)

    sizes = [len(r.ids) for r in cluster.received]
    # halved with each request that got nothing through, not below a quarter; then an eighth of the full
    # size back with each request that indexed something
    assert sizes[:10] == [16, 8, 4, 4, 6, 8, 10, 12, 14, 16]
    assert sizes[10:12] == [16, 16]


def test_a_server_error_is_not_counted_as_throttling_even_when_its_page_mentions_it(cluster, fake_time):
    cluster.then(Reply(503, "503 Service Unavailable: the upstream is throttled"))
    sink = sink_for(cluster, fake_time)

    assert sink.send([make_item(1), make_item(2)], FAR_AWAY) == []

    assert (sink.stats.retried_requests, sink.stats.throttled_items) == (1, 0)


def test_counts_throttled_items_and_seconds_spent_backing_off(cluster, fake_time):
    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL, "id-0002": QUEUE_FULL}),
                 Reply(429, "429 Too Many Requests"))
    sink = sink_for(cluster, fake_time, random=lambda: 0.5, backoff_base=1.0)

    sink.send([make_item(n) for n in range(1, 4)], FAR_AWAY)

    assert sink.stats.throttled_items == 2 + 2
    assert sink.stats.backoff_seconds == pytest.approx(sum(fake_time.sleeps)) and sink.stats.backoff_seconds > 0


# -- sustained throttling: what gets through sets the pace ---------------------------------------

def one_in(every: int):
    """A cluster taking one item in `every` it is sent (counted across requests), the rest answered 429."""
    sent = iter(range(1, 10**9))
    return lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids if next(sent) % every})


def test_at_95_percent_throttling_requests_stay_full_size_with_short_pauses(cluster, fake_time):
    # Each request still indexes ~5% of its items: that is no reason to shrink it or to back off
    # exponentially; halving it would only halve what gets through per request.
    cluster.default = one_in(20)
    items = [make_item(n) for n in range(1, 401)]

    assert sink_for(cluster, fake_time, max_docs=100, backoff_base=1.0, random=lambda: 1.0).send(items, FAR_AWAY) == []

    sizes = [len(r.ids) for r in cluster.received]
    assert sizes[:40] == [100] * 40
    assert all(pause <= 1.0 for pause in fake_time.sleeps)  # never past backoff_base
    # the pause follows the request's size: fewer items offered, a shorter pause (down to 15%)
    assert fake_time.sleeps[0] == 1.0 and min(fake_time.sleeps) == 0.15


def test_few_items_left_at_95_percent_get_short_pauses_until_nothing_getting_through_is_unlikely(cluster, fake_time):
    sink = sink_for(cluster, fake_time, max_docs=20, backoff_base=1.0, backoff_cap=8.0, random=lambda: 1.0)
    cluster.default = one_in(20)
    sink.send([make_item(n) for n in range(1, 41)], FAR_AWAY)  # the cluster takes 1 item in 20
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})
    fake_time.sleeps.clear()

    with pytest.raises(DeadlineExceeded):
        sink.send([make_item(99)], fake_time.now + 100)

    # a single item not getting through 60 times in a row is likely enough at 5% (5%): no stall, short pauses
    assert fake_time.sleeps[:60] == [0.15] * 60
    # some 90 times in a row is not (1%): from there the backoff doubles up to the cap
    grown = fake_time.sleeps.index(1.0)
    assert 70 <= grown <= 120 and fake_time.sleeps[grown:grown + 5] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_under_total_throttling_the_cluster_sees_fewer_and_smaller_requests(cluster, fake_time):
    cluster.default = one_in(20)
    sink = sink_for(cluster, fake_time, max_docs=100, backoff_base=0.5, backoff_cap=20.0, min_request_share=0.25,
                    random=lambda: 1.0)
    sink.send([make_item(n) for n in range(1, 201)], FAR_AWAY)
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})
    cluster.received.clear()
    start = fake_time.now

    with pytest.raises(DeadlineExceeded):
        sink.send([make_item(n) for n in range(1001, 1401)], start + 120)

    sizes = [len(r.ids) for r in cluster.received]
    assert sizes[:4] == [100, 50, 25, 25]  # halved with each request that got nothing through
    assert len(sizes) <= 12  # in two minutes: the waits double up to 20 s


def test_each_send_starts_the_backoff_afresh_but_remembers_the_share_the_cluster_takes(cluster, fake_time):
    sink = sink_for(cluster, fake_time, max_docs=20, backoff_base=1.0, backoff_cap=100.0, random=lambda: 1.0)
    cluster.default = one_in(20)
    sink.send([make_item(n) for n in range(1, 41)], FAR_AWAY)  # the cluster takes 1 item in 20
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})
    with pytest.raises(DeadlineExceeded):
        sink.send([make_item(98)], fake_time.now + 200)  # ends deep in stalls: waits of 32 s and more
    assert max(fake_time.sleeps) >= 32
    fake_time.sleeps.clear()

    with pytest.raises(DeadlineExceeded):
        sink.send([make_item(99)], fake_time.now + 10)

    # the next object's item is not put straight into long waits: at 5% taken, a few misses are no stall
    assert fake_time.sleeps[:20] == [0.15] * 20


def test_the_share_the_cluster_takes_fades_by_half_with_each_full_requests_worth_of_items(cluster, fake_time):
    sink = sink_for(cluster, fake_time, max_docs=20, backoff_base=1.0, random=lambda: 1.0)
    sink.send([make_item(n) for n in range(1, 11)], FAR_AWAY)  # all 10 taken
    cluster.then(lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids[1:]}))  # then 1 in 4
    cluster.default = lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})  # then none

    with pytest.raises(DeadlineExceeded):
        sink.send([make_item(n) for n in range(11, 15)], fake_time.now + 10)

    # 4 items are a fifth of a full request: the 10 taken before count for (1/2)^(1/5) = 0.87 each, so the
    # share is (8.7 + 1) / (8.7 + 4) = 76%. At 76%, 3 items all missing once is no stall (a short pause of
    # 0.15 s), twice in a row is (under 1%): the backoff starts. (Remembered longer, one miss would be a
    # stall; shorter, more short pauses.)
    assert fake_time.sleeps[:4] == [0.2, 0.15, 1.0, 2.0]


def test_a_wait_never_outlasts_the_deadline_when_a_shorter_one_still_leaves_time_for_a_last_request(
        cluster, fake_time):
    cluster.then(*[lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids})] * 2)
    deadline = fake_time.now + 3

    assert sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 1.0).send([make_item(1)], deadline) == []

    assert fake_time.sleeps == [1.0, pytest.approx(1.95)]  # not 2 s: the last request starts 0.05 s before
    assert len(cluster.received) == 3 and fake_time.now < deadline


def test_a_retry_after_longer_than_the_time_left_ends_the_send_without_waiting(cluster, fake_time):
    cluster.then(Reply(429, "429 Too Many Requests", headers={"Retry-After": "30"}))

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time).send([make_item(1)], fake_time.now + 10)

    assert raised.value.pending == 1 and fake_time.sleeps == [] and len(cluster.received) == 1


def test_a_last_request_cut_short_by_the_deadline_keeps_the_cause_from_before(cluster, fake_time):
    cluster.then(lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids}), Reply(200, None, hang=True))

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 1.0).send([make_item(1)], fake_time.now + 0.5)

    assert fake_time.sleeps == [pytest.approx(0.45)] and len(cluster.received) == 2
    assert raised.value.cause.startswith("items throttled (429) for")  # not "no answer in time"


# -- configuration -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://admin:hunter2@search.example.com", "search.example.com",
                                 "ftp://search.example.com", "https://search.example.com/?x=1"])
def test_refuses_urls_that_are_not_plain_http_endpoints_without_echoing_credentials(url):
    with pytest.raises(ValueError) as raised:
        OpenSearchSink(url, None)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url, complaint", [
    ("search.example.com", "OpenSearch URL must be http(s)://host[:port], got 'search.example.com'"),
    ("https://:9200", "OpenSearch URL must be http(s)://host[:port], got 'https://:9200'"),
    ("https://admin@search.example.com", "OpenSearch URL must not contain credentials; use basic auth from Secrets Manager"),
    ("https://:hunter2@search.example.com", "OpenSearch URL must not contain credentials; use basic auth from Secrets Manager"),
    ("https://search.example.com/?x=1", "OpenSearch URL must not have a query or fragment: 'https://search.example.com/?x=1'"),
    ("https://search.example.com/#top", "OpenSearch URL must not have a query or fragment: 'https://search.example.com/#top'"),
], ids=["no-scheme", "no-host", "user", "password", "query", "fragment"])
def test_a_refused_url_is_named_with_what_is_wrong_with_it(url, complaint):
    with pytest.raises(ValueError) as raised:
        OpenSearchSink(url, None)
    assert str(raised.value) == complaint


def test_the_defaults_are_5_mib_or_5000_items_a_request_30_s_each_and_backoff_from_half_a_second_to_20_s():
    sink = OpenSearchSink("https://search.example.com", None)

    assert (sink.url, sink.max_bytes, sink.max_docs, sink.timeout) == ("https://search.example.com", 5 << 20, 5000, 30)
    assert (sink.retry_for, sink.backoff_base, sink.backoff_cap) == (None, 0.5, 20.0)
    assert (sink.min_request_share, sink.request_share, sink.compress_level) == (0.25, 1.0, 1)
    assert sink.cause() is None  # nothing has gone wrong yet


@pytest.mark.parametrize("prefix", ["", "/proxy", "/search-X"])
def test_trailing_slashes_are_dropped_from_the_url_and_nothing_else(cluster, fake_time, prefix):
    cluster.then(Reply(401, "Unauthorized"))
    sink = OpenSearchSink(cluster.url + prefix + "//", None, sleep=fake_time.sleep, clock=fake_time.clock)

    with pytest.raises(BulkRequestError) as raised:
        sink.send([make_item(1)], FAR_AWAY)

    assert str(raised.value) == f"POST {cluster.url}{prefix}/_bulk failed: HTTP 401: Unauthorized"
    assert cluster.received[0].path == f"{prefix}/_bulk"


def test_a_path_prefix_in_the_url_is_kept(cluster, fake_time):
    sink = OpenSearchSink(cluster.url + "/proxy/", None, sleep=fake_time.sleep, clock=fake_time.clock)
    sink.send([make_item(1)], FAR_AWAY)
    assert cluster.received[0].path == "/proxy/_bulk"


def test_counts_requests_and_bytes(cluster, fake_time):
    items = [make_item(n) for n in range(1, 4)]
    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL}))
    sink = sink_for(cluster, fake_time)

    sink.send(items, FAR_AWAY)

    assert sink.stats.requests == 2
    assert sink.stats.retried_items == 1
    assert sink.stats.bytes_uncompressed == sum(len(i.body) for i in items) + len(items[0].body)
    assert sink.stats.bytes_sent == sum(len(r.raw_body) for r in cluster.received)


def test_a_refused_connection_is_named_as_such_in_every_retry_warning_and_in_the_final_error(fake_time, caplog):
    import logging
    import socket

    from ingest.shipper import RetriesExhausted

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    sink = OpenSearchSink(url, None, sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 1.0,
                          retry_for=2)
    cause = f"connection refused at {url}; is the cluster up, is the URL right?"

    with caplog.at_level(logging.WARNING, logger="ingest.shipper"), pytest.raises(RetriesExhausted) as raised:
        sink.send([make_item(1)], FAR_AWAY)

    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert retries == [f"retrying 1 items in 0.5 s (attempt 2): {cause}",
                       f"retrying 1 items in 1.0 s (attempt 3, nothing indexed for 0 s): {cause}"]
    assert str(raised.value) == f"1 items still unsent after 3 attempts in 2 s: {cause}"
    assert raised.value.unreachable
    assert "Lambda" not in str(raised.value)


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 6, 9])
def test_every_compress_level_writes_gzip_any_cluster_can_read(level):
    import gzip as gzip_module

    from ingest.shipper import compress_body

    body = b"".join(make_item(n).body for n in range(1, 200))
    compressed = compress_body(body, level)
    assert compressed[:2] == b"\x1f\x8b" and gzip_module.decompress(compressed) == body
    assert compress_body(body, level) == compressed  # no timestamp in the header: retries send the same bytes


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_levels_0_to_3_are_igzips(level):
    from isal import igzip

    from ingest.shipper import compress_body

    body = b"".join(make_item(n).body for n in range(1, 200))
    assert compress_body(body, level) == igzip.compress(body, compresslevel=level, mtime=0)


@pytest.mark.parametrize("level", [4, 6, 9])
def test_levels_4_to_9_are_zlibs(level):
    import gzip as gzip_module

    from ingest.shipper import compress_body

    body = b"".join(make_item(n).body for n in range(1, 200))
    assert compress_body(body, level) == gzip_module.compress(body, compresslevel=level, mtime=0)


@pytest.mark.parametrize("level, zlib_level", [(0, 1), (1, 1), (3, 3)])
def test_without_isal_zlib_takes_the_same_level_and_at_least_1(monkeypatch, level, zlib_level):
    import gzip as gzip_module

    from ingest import shipper

    monkeypatch.setattr(shipper, "_igzip", None)
    body = b"".join(make_item(n).body for n in range(1, 200))
    assert shipper.compress_body(body, level) == gzip_module.compress(body, compresslevel=zlib_level, mtime=0)


def test_the_default_compression_is_igzip_level_1():
    from ingest import shipper

    assert shipper.DEFAULT_COMPRESS_LEVEL == 1 and shipper._igzip is not None


@pytest.mark.parametrize("level", [-1, 10])
def test_a_compress_level_outside_0_to_9_is_refused(level):
    with pytest.raises(ValueError, match="compress_level"):
        OpenSearchSink("http://127.0.0.1:9200", None, compress_level=level)


# -- which item failures pass ----------------------------------------------------------------------

def items_answered(*outcomes: dict) -> Reply:
    """A 200 bulk reply with these item outcomes, in request order."""
    return Reply(200, {"took": 3, "errors": True, "items": [{"index": outcome} for outcome in outcomes]})


THROTTLED_403 = {"type": "security_exception", "reason": "Request throttled due to too many requests"}


@pytest.mark.parametrize("outcome", [
    {"status": 500, "error": {"type": "exception", "reason": "shard failure"}},
    {"status": 403, "error": THROTTLED_403},
    {"status": 403, "error": "403 Request throttled due to too many requests"},
    {"status": 400, "error": {"type": "rejected_execution_exception", "reason": "rejected execution of bulk"}},
], ids=["500", "403-throttled", "403-throttled-text", "rejected-execution"])
def test_an_item_that_failed_for_a_passing_reason_is_resent(cluster, fake_time, outcome):
    cluster.then(items_answered(outcome))

    assert sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001"], ["id-0001"]]


@pytest.mark.parametrize("error", [
    {"type": "security_exception", "reason": "no permissions for [indices:data/write/bulk[s]]"},
    # "throttl" elsewhere than in the reason (here the index name) is not throttling
    {"type": "security_exception", "reason": "no permissions for [indices:data/write/index]",
     "index": "api-throttling-logs-2026.11.25"},
], ids=["forbidden", "throttl-in-the-index-name"])
def test_an_item_forbidden_for_good_is_rejected_not_resent(cluster, fake_time, error):
    cluster.then(items_answered({"status": 403, "error": error}))

    [rejection] = sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert rejection.status == 403 and rejection.reason.startswith("security_exception: no permissions")
    assert len(cluster.received) == 1


def test_an_item_indexed_over_its_copy_from_an_earlier_try_answered_200_updated_counts_as_indexed(cluster, fake_time):
    # a retried object sends the same _ids again: OpenSearch answers "result": "updated", "status": 200
    updated = {"_index": "alb-logs-2026.11.25", "_id": "id-0001", "_version": 2, "result": "updated",
               "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": 1, "_primary_term": 1, "status": 200}
    cluster.then(Reply(200, {"took": 3, "errors": False, "items": [{"index": updated}]}),
                 items_answered(updated, {"status": 503}))

    sink = sink_for(cluster, fake_time)

    assert sink.send([make_item(1)], FAR_AWAY) == []
    assert sink.send([make_item(1), make_item(2)], FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001"], ["id-0001", "id-0002"], ["id-0002"]]


def test_an_item_answered_300_is_not_taken_as_indexed(cluster, fake_time):
    cluster.then(items_answered({"status": 300}))

    assert sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY) == [Rejection(make_item(1), 300, "HTTP 300")]


def test_items_throttled_with_403_are_counted_as_throttled(cluster, fake_time):
    cluster.then(items_answered({"status": 403, "error": THROTTLED_403}, {"status": 201}),
                 Reply(403, "403 Request throttled due to too many requests /_bulk"))
    sink = sink_for(cluster, fake_time)

    sink.send([make_item(1), make_item(2)], FAR_AWAY)

    assert (sink.stats.throttled_items, sink.stats.retried_items, sink.stats.retried_requests) == (1 + 1, 1, 1)


def test_items_answered_with_server_errors_are_named_by_their_statuses_when_time_runs_out(cluster, fake_time):
    cluster.default = lambda request: items_answered({"status": 503}, {"status": 500})
    sink = sink_for(cluster, fake_time, random=lambda: 1.0)

    with pytest.raises(DeadlineExceeded) as raised:
        sink.send([make_item(1), make_item(2)], fake_time.now + 1)

    assert raised.value.cause == "items answered HTTP [500, 503] for 1 s"
    assert sink.stats.throttled_items == 0 and sink.stats.retried_items == 2 * len(cluster.received)


def test_413_splits_are_counted_and_a_single_item_too_large_is_rejected_naming_its_size(cluster, fake_time):
    items = [make_item(1, padding=300), make_item(2)]
    cluster.then(Reply(413, "Request size exceeded"), Reply(413, "Request size exceeded"))
    sink = sink_for(cluster, fake_time)

    [rejection] = sink.send(items, FAR_AWAY)

    assert rejection.reason == (f"request_too_large: a single item of {len(items[0].body)} bytes is over "
                                "the cluster's HTTP payload limit")
    assert sink.stats.split_requests == 1


# -- waits at the edges --------------------------------------------------------------------------

def test_the_pause_after_a_request_of_one_item_larger_than_max_bytes_is_at_most_backoff_base(cluster, fake_time):
    sink = sink_for(cluster, fake_time, max_bytes=1000, backoff_base=1.0, random=lambda: 1.0)
    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL}))
    sink.send([make_item(1), make_item(2)], FAR_AWAY)  # the cluster takes half of what it is sent
    fake_time.sleeps.clear()
    cluster.then(lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids}))

    sink.send([make_item(3, padding=5000)], FAR_AWAY)

    assert fake_time.sleeps == [1.0]  # one miss at 50% is no stall: a full-size pause, not more


def test_a_wait_that_would_end_at_the_deadline_and_past_retry_for_leaves_a_last_request_not_giving_up(
        cluster, fake_time):
    cluster.default = lambda request: Reply(503, "503 Service Unavailable")
    start = fake_time.now

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, retry_for=2.5, backoff_base=1.0, random=lambda: 1.0
                 ).send([make_item(1)], start + 3.0)  # waits of 1 s, then 2 s: the second ends at the deadline

    assert type(raised.value) is DeadlineExceeded  # not RetriesExhausted: the deadline comes first
    assert fake_time.sleeps == [1.0, pytest.approx(1.95)]


# -- configuration at the edges ------------------------------------------------------------------

@pytest.mark.parametrize("options, complaint", [
    (dict(max_bytes=0), "^max_bytes and max_docs must be at least 1$"),
    (dict(max_docs=0), "^max_bytes and max_docs must be at least 1$"),
    (dict(retry_for=-1), "^retry_for must be at least 0 seconds$"),
    (dict(min_request_share=0), "^min_request_share must be above 0 and at most 1$"),
    (dict(min_request_share=1.01), "^min_request_share must be above 0 and at most 1$"),
    (dict(compress_level=10), r"^compress_level must be 0-3 \(igzip\) or 4-9 \(zlib\), got 10$"),
])
def test_settings_out_of_range_are_refused_saying_the_range(options, complaint):
    with pytest.raises(ValueError, match=complaint):
        OpenSearchSink("http://127.0.0.1:9200", None, **options)


def test_the_smallest_settings_in_range_are_taken(cluster, fake_time):
    sink = sink_for(cluster, fake_time, max_bytes=1, max_docs=1, retry_for=0, min_request_share=1, compress_level=0)

    assert sink.send([make_item(1), make_item(2)], FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001"], ["id-0002"]]


# -- order, stalls and the time a request takes ----------------------------------------------------

def test_throttled_items_are_resent_in_line_order_at_the_head_of_the_next_request(cluster, fake_time):
    cluster.then(lambda request: bulk_reply(request, {"id-0002": QUEUE_FULL, "id-0004": QUEUE_FULL}))

    sink_for(cluster, fake_time, max_docs=5).send([make_item(n) for n in range(1, 8)], FAR_AWAY)

    assert [r.ids for r in cluster.received] == [[item_id(n) for n in (1, 2, 3, 4, 5)],
                                                  [item_id(n) for n in (2, 4, 6, 7)]]


def test_when_time_runs_out_after_a_413_split_the_unsent_items_come_back_in_line_order(cluster, fake_time):
    def too_large_and_slow(request):
        fake_time.advance(60)  # the deadline passes while the cluster answers
        return Reply(413, "Request size exceeded")

    cluster.then(too_large_and_slow)

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, max_docs=4).send([make_item(n) for n in range(1, 7)], fake_time.now + 30)

    assert [item.line_number for item in raised.value.unsent] == [1, 2, 3, 4, 5, 6]
    assert len(cluster.received) == 1


@pytest.mark.parametrize("refusal", [Reply(503, "503 Service Unavailable"),
                                     Reply(200, "<html><body>maintenance</body></html>", content_type="text/html")],
                         ids=["503", "proxy-page"])
def test_a_request_refused_whole_is_a_stall_even_when_the_cluster_has_been_taking_items(cluster, fake_time, refusal):
    sink = sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 1.0)
    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL}))
    sink.send([make_item(1), make_item(2)], FAR_AWAY)  # the cluster takes some
    fake_time.sleeps.clear()
    cluster.then(refusal)

    sink.send([make_item(3)], FAR_AWAY)

    assert fake_time.sleeps == [1.0]  # the backoff window, not the short pause after a small request (0.15 s)


def test_the_cause_is_forgotten_once_a_request_goes_through(cluster, fake_time):
    sink = sink_for(cluster, fake_time)
    cluster.then(Reply(429, "429 Too Many Requests"))

    sink.send([make_item(1)], FAR_AWAY)

    assert sink.cause() is None


def test_the_last_wait_before_the_deadline_leaves_twice_the_last_requests_time_for_the_last_request(cluster, fake_time):
    def slow_and_throttled(request):
        fake_time.advance(0.5)  # each request takes half a second
        return bulk_reply(request, {i: QUEUE_FULL for i in request.ids})

    cluster.default = slow_and_throttled
    start = fake_time.now

    with pytest.raises(DeadlineExceeded):
        sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 1.0).send([make_item(1)], start + 8.2)

    # requests at 0, 1.5 and 4 s take half a second each; the 4 s wait after the third would pass the deadline:
    # 2.7 s instead, which leaves 2 x 0.5 s for the last request
    assert fake_time.sleeps == [1.0, 2.0, pytest.approx(2.7)]
    assert len(cluster.received) == 4


def test_a_200_that_is_not_a_bulk_response_counts_as_a_retried_request(cluster, fake_time):
    cluster.then(Reply(200, "maintenance", content_type="text/plain"))
    sink = sink_for(cluster, fake_time)

    sink.send([make_item(1)], FAR_AWAY)

    assert (sink.stats.requests, sink.stats.retried_requests) == (2, 1)


# -- exact boundaries of retry_for, the deadline and Retry-After -----------------------------------

def test_a_wait_that_ends_exactly_when_retry_for_runs_out_is_still_taken(cluster, fake_time):
    # retry_for is how long nothing may be indexed: a wait ending at that moment is within it
    cluster.default = lambda request: Reply(503, "503 Service Unavailable")

    with pytest.raises(RetriesExhausted) as raised:
        sink_for(cluster, fake_time, retry_for=3.0, backoff_base=1.0, random=lambda: 1.0).send([make_item(1)], FAR_AWAY)

    assert fake_time.sleeps == [1.0, 2.0]  # 1 + 2 = 3 s is taken; the next wait (4 s) would pass it
    assert raised.value.attempts == 3 and len(cluster.received) == 3


def test_when_the_time_left_only_fits_a_last_request_with_no_wait_at_all_the_send_ends(cluster, fake_time):
    # a retry is never sent straight after a failure: with no time to wait, the items go back unsent
    def slow_503(request):
        fake_time.advance(1.0)  # the request takes a second: a last one needs twice that
        return Reply(503, "503 Service Unavailable")

    cluster.default = slow_503

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, backoff_base=2.0, random=lambda: 1.0).send([make_item(1)], fake_time.now + 3.0)

    assert fake_time.sleeps == [] and len(cluster.received) == 1  # 2 s left after it: no time for a wait
    assert raised.value.pending == 1


def test_a_wait_shortened_for_the_deadline_may_come_down_to_the_retry_after_but_not_below(cluster, fake_time):
    def slow_429(request):
        fake_time.advance(1.0)  # a last request needs twice that: 2 s
        return Reply(429, "429 Too Many Requests", headers={"Retry-After": "2"})

    cluster.then(slow_429)
    sink = sink_for(cluster, fake_time, backoff_base=8.0, random=lambda: 1.0)

    # after the 429, 4 s are left: the 8 s backoff becomes 2 s, exactly the Retry-After, and 2 s remain
    assert sink.send([make_item(1)], fake_time.now + 5.0) == []
    assert fake_time.sleeps == [2.0] and len(cluster.received) == 2


def test_a_proxy_page_answering_every_request_indexes_nothing_until_retry_for_gives_up(cluster, fake_time):
    cluster.default = lambda request: Reply(200, "<html><body>maintenance</body></html>", content_type="text/html")
    sink = sink_for(cluster, fake_time, retry_for=5, backoff_base=1.0, random=lambda: 1.0)

    with pytest.raises(RetriesExhausted) as raised:
        sink.send([make_item(1)], fake_time.now + 60)

    assert fake_time.sleeps == [1.0, 2.0]  # each page is a stall; the next 4 s wait would pass retry_for
    assert (raised.value.attempts, raised.value.unreachable) == (3, False)  # something answered: not unreachable
    assert sink.stats.retried_requests == 3


def test_every_round_of_throttled_items_adds_to_the_count(cluster, fake_time):
    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL, "id-0002": QUEUE_FULL}),
                 lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL}))
    sink = sink_for(cluster, fake_time)

    sink.send([make_item(n) for n in range(1, 4)], FAR_AWAY)

    assert (sink.stats.throttled_items, sink.stats.retried_items) == (2 + 1, 2 + 1)


def test_every_request_refused_whole_adds_to_the_retried_requests(cluster, fake_time):
    cluster.then(Reply(503, "503 Service Unavailable"), Reply(502, "502 Bad Gateway"))
    sink = sink_for(cluster, fake_time)

    sink.send([make_item(1)], FAR_AWAY)

    assert (sink.stats.requests, sink.stats.retried_requests) == (3, 2)


@pytest.mark.parametrize("time_left, timeout", [(0.25, 0.25), (10.0, 10.0), (60.0, 30)])
def test_a_request_waits_for_its_answer_no_longer_than_the_time_left_or_the_timeout(fake_time, time_left, timeout):
    sink = OpenSearchSink("http://127.0.0.1:9", None, sleep=fake_time.sleep, clock=fake_time.clock)
    given = []

    def answer(method, path, **options):  # in place of the HTTP transport: what it is told to wait
        given.append(options["timeout"])
        return {"errors": False, "items": [{"index": {"status": 201}}]}

    sink._client.transport.perform_request = answer

    assert sink.send([make_item(1)], fake_time.now + time_left) == []
    assert given == [timeout]


def test_when_time_runs_out_after_a_split_the_error_keeps_the_cause_and_the_rejections_from_before(cluster, fake_time):
    def too_large_and_slow(request):
        fake_time.advance(60)  # the deadline passes while the cluster answers
        return Reply(413, "Request size exceeded")

    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL, "id-0002": QUEUE_FULL,
                                                      "id-0003": MAPPING_ERROR}),
                 too_large_and_slow)

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, random=lambda: 1.0).send([make_item(n) for n in range(1, 5)], fake_time.now + 30)

    assert [item.line_number for item in raised.value.unsent] == [1, 2]
    assert [(r.item.line_number, r.status) for r in raised.value.rejected] == [(3, 400)]
    assert raised.value.cause.startswith("items throttled (429) for 1 min")


def test_max_docs_of_1_sends_each_item_in_a_request_of_its_own(cluster, fake_time):
    sink_for(cluster, fake_time, max_docs=1).send([make_item(n) for n in range(1, 4)], FAR_AWAY)

    assert [r.ids for r in cluster.received] == [["id-0001"], ["id-0002"], ["id-0003"]]


def test_when_nothing_gets_through_requests_bounded_by_bytes_shrink_too(cluster, fake_time):
    throttled_rounds = iter(range(2))
    cluster.default = lambda request: bulk_reply(
        request, {i: QUEUE_FULL for i in request.ids} if next(throttled_rounds, None) is not None else {})
    items = [make_item(n) for n in range(1, 20)]

    sink_for(cluster, fake_time, max_bytes=8 * len(items[0].body), min_request_share=0.25).send(items, FAR_AWAY)

    assert [len(r.ids) for r in cluster.received][:4] == [8, 4, 2, 3]  # halved twice, then an eighth back


def test_compress_level_9_is_taken_and_writes_zlibs_level_9(cluster, fake_time):
    import gzip as gzip_module

    items = [make_item(n) for n in range(1, 50)]

    sink_for(cluster, fake_time, compress_level=9).send(items, FAR_AWAY)

    body = b"".join(item.body for item in items)
    assert cluster.received[0].raw_body == gzip_module.compress(body, compresslevel=9, mtime=0)


def test_a_new_sinks_first_answers_alone_set_the_share_the_cluster_takes(cluster, fake_time):
    sink = sink_for(cluster, fake_time, backoff_base=1.0, random=lambda: 1.0)
    cluster.then(lambda request: bulk_reply(request, {"id-0001": QUEUE_FULL}))
    sink.send([make_item(1), make_item(2)], FAR_AWAY)  # 1 of 2 taken: 50%
    cluster.then(lambda request: bulk_reply(request, {"id-0003": QUEUE_FULL}))

    sink.send([make_item(3)], FAR_AWAY)

    # at 50%, one item missing once is likely: a short pause, no stall (nothing from before counts)
    assert fake_time.sleeps == [0.15, 0.15]
