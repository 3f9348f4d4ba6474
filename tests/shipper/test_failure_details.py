"""What a person reads when items or requests fail: how long, why, and the fields callers act on."""
from __future__ import annotations

import json
import socket
import threading

import pytest

from ingest.shipper import BulkRequestError, OpenSearchSink, RetriesExhausted, duration
from ingest.sinks import DeadlineExceeded, Rejection

from .conftest import QUEUE_FULL, Reply, bulk_reply, make_item

FAR_AWAY = 1e12  # a deadline that never matters


def sink_for(cluster, fake_time, **options) -> OpenSearchSink:
    options.setdefault("random", lambda: 0.5)
    return OpenSearchSink(cluster.url, None, sleep=fake_time.sleep, clock=fake_time.clock, **options)


def item_reply(*outcomes: dict) -> Reply:
    """A 200 bulk reply with these item outcomes, in request order (as the filter_path keeps them)."""
    return Reply(200, {"took": 3, "errors": True, "items": [{"index": outcome} for outcome in outcomes]})


# -- durations -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (-3, "0 s"), (0.4, "0 s"), (59.4, "59 s"), (60, "1 min"), (250, "4 min 10 s"), (3599, "59 min 59 s"),
    (3600, "1 h"), (3900, "1 h 5 min"), (7230, "2 h"),
])
def test_a_duration_reads_in_the_largest_units_that_fit_dropping_zero_parts(seconds, text):
    assert duration(seconds) == text


# -- the errors' fields --------------------------------------------------------------------------

def test_a_request_refused_for_good_keeps_the_url_status_and_the_clusters_words(cluster, fake_time):
    cluster.then(Reply(401, "Unauthorized"))

    with pytest.raises(BulkRequestError) as raised:
        sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert (raised.value.url, raised.value.status, raised.value.detail) == (cluster.url, 401, "Unauthorized")


def test_retries_exhausted_says_how_many_attempts_over_how_long_and_keeps_the_rejections_so_far(cluster, fake_time):
    mapping = {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [n]"}}
    cluster.then(item_reply(mapping, {"status": 503}))
    cluster.default = lambda request: Reply(503, "503 Service Unavailable")

    with pytest.raises(RetriesExhausted) as raised:
        sink_for(cluster, fake_time, retry_for=5, backoff_base=1.0, random=lambda: 1.0
                 ).send([make_item(1), make_item(2)], FAR_AWAY)

    error = raised.value
    assert (error.attempts, error.seconds, error.unreachable) == (3, pytest.approx(3.15), False)  # 0.15 s pause, then 1 and 2 s
    assert error.cause == error.last_failure == "HTTP 503: 503 Service Unavailable"
    assert error.rejected == [Rejection(make_item(1), 400, "mapper_parsing_exception: failed to parse field [n]")]
    assert [item.line_number for item in error.unsent] == [2]


def test_retries_exhausted_made_with_only_a_count_and_a_cause_reads_as_no_attempt_in_no_time():
    error = RetriesExhausted(2, "HTTP 503: busy")

    assert str(error) == "2 items still unsent after 0 attempts in 0 s: HTTP 503: busy"
    assert (error.attempts, error.seconds, error.unreachable, error.unsent, error.rejected) == (0, 0.0, False, None, [])


# -- what the cluster said -----------------------------------------------------------------------

def test_an_aws_style_message_body_is_the_errors_detail(cluster, fake_time):
    # API Gateway and other AWS front ends answer {"message": ...}
    cluster.then(Reply(403, {"message": "Missing Authentication Token"}))

    with pytest.raises(BulkRequestError) as raised:
        sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert raised.value.detail == "Missing Authentication Token"


def test_a_json_error_body_of_another_shape_is_shown_whole(cluster, fake_time):
    # Amazon OpenSearch Service's answer when the domain's access policy does not allow the caller
    denied = {"Message": "User: anonymous is not authorized to perform: es:ESHttpPost because no resource-based "
                         "policy allows the es:ESHttpPost action"}
    cluster.then(Reply(403, denied))

    with pytest.raises(BulkRequestError) as raised:
        sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert denied["Message"] in raised.value.detail


def test_a_long_error_page_is_cut_to_500_characters(cluster, fake_time):
    cluster.then(Reply(400, "x" * 2000))

    with pytest.raises(BulkRequestError) as raised:
        sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert raised.value.detail == "x" * 500


@pytest.mark.parametrize("error, reason", [
    ({"reason": "no type given"}, "error: no type given"),
    ({"type": "illegal_argument_exception"}, "illegal_argument_exception: "),
    ({"type": "mapper_parsing_exception", "reason": "failed to parse",
      "caused_by": {"reason": "'x' is not an IP string literal."}},
     "mapper_parsing_exception: failed to parse (caused by error: 'x' is not an IP string literal.)"),
    ({"type": "mapper_parsing_exception", "reason": "failed to parse", "caused_by": {"type": "illegal_argument_exception"}},
     "mapper_parsing_exception: failed to parse"),
    ("document contains at least one immense term", "document contains at least one immense term"),
], ids=["no-type", "no-reason", "cause-without-type", "cause-without-reason", "plain-text"])
def test_a_rejected_items_reason_says_what_the_cluster_gave_in_whatever_shape(cluster, fake_time, error, reason):
    cluster.then(item_reply({"status": 400, "error": error}))

    [rejection] = sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY)

    assert (rejection.status, rejection.reason) == (400, reason)


def test_an_item_refused_without_an_error_is_rejected_with_its_status(cluster, fake_time):
    cluster.then(item_reply({"status": 404}))

    assert sink_for(cluster, fake_time).send([make_item(1)], FAR_AWAY) == [Rejection(make_item(1), 404, "HTTP 404")]


@pytest.mark.parametrize("payload, shown", [
    ({"took": 3, "errors": True, "items": []}, "bulk response has 0 items for 2 sent"),
    ({"took": 3, "errors": True}, "bulk response has no items for 2 sent"),
], ids=["too-few", "none"])
def test_a_bulk_response_that_does_not_answer_every_item_is_an_error_not_a_guess(cluster, fake_time, payload, shown):
    cluster.then(Reply(200, payload))

    with pytest.raises(BulkRequestError) as raised:
        sink_for(cluster, fake_time).send([make_item(1), make_item(2)], FAR_AWAY)

    assert (raised.value.url, raised.value.status, raised.value.detail) == (cluster.url, 200, shown)
    assert str(raised.value) == f"POST {cluster.url}/_bulk failed: HTTP 200: {shown}"


def test_a_200_labelled_json_that_is_not_json_is_named_by_the_start_of_its_body(cluster, fake_time):
    page = "<html><body>" + "upstream is being upgraded, " * 20 + "</body></html>"
    cluster.default = lambda request: Reply(200, page, content_type="application/json")

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, random=lambda: 1.0).send([make_item(1)], fake_time.now + 1)

    assert raised.value.cause == (f"HTTP 200 with a body that is not a bulk response ({page[:200]}); "
                                  "a proxy or load balancer page? for 1 s")


# -- connection failures -------------------------------------------------------------------------

@pytest.fixture
def hangs_up():
    """A server that reads each request and closes the connection without a word."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def test_a_connection_failure_with_no_known_cause_is_named_by_its_kind_and_text(hangs_up, fake_time):
    sink = OpenSearchSink(hangs_up, None, sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 1.0,
                          retry_for=0.5)

    with pytest.raises(RetriesExhausted) as raised:
        sink.send([make_item(1)], FAR_AWAY)

    assert raised.value.unreachable
    assert raised.value.last_failure.startswith("ConnectionError: ") and "Connection aborted" in raised.value.last_failure


def test_a_read_timeout_blames_the_cluster_not_the_network(cluster, fake_time):
    cluster.default = lambda request: Reply(200, None, hang=True)
    sink = sink_for(cluster, fake_time, timeout=0.2, retry_for=0.5, random=lambda: 1.0)

    with pytest.raises(RetriesExhausted) as raised:
        sink.send([make_item(1)], FAR_AWAY)

    assert raised.value.last_failure == f"no answer from {cluster.url} in time; is the cluster overloaded?"


def test_a_200_with_json_that_is_not_a_bulk_response_is_named_by_the_start_of_the_answer(cluster, fake_time):
    # e.g. a proxy that sends every path to the cluster's root: its "who am I" answer
    root = {"name": "node-1", "cluster_name": "logs", "cluster_uuid": "kXfEJx0uQSmXMp7cGaJqBg",
            "version": {"distribution": "opensearch", "number": "2.19.0", "build_type": "tar"},
            "tagline": "The OpenSearch Project: https://opensearch.org/"}
    cluster.default = lambda request: Reply(200, json.dumps(root), content_type="application/json")

    with pytest.raises(DeadlineExceeded) as raised:
        sink_for(cluster, fake_time, random=lambda: 1.0).send([make_item(1)], fake_time.now + 1)

    assert raised.value.cause == (f"HTTP 200 with a body that is not a bulk response (unexpected answer: "
                                  f"{str(root)[:120]!r}); a proxy or load balancer page? for 1 s")


def test_a_request_that_times_out_after_its_whole_timeout_becomes_the_cause(cluster, fake_time):
    # (only a last request whose timeout the deadline cut short keeps the cause from before)
    cluster.then(lambda request: bulk_reply(request, {i: QUEUE_FULL for i in request.ids}), Reply(200, None, hang=True))
    sink = sink_for(cluster, fake_time, timeout=1.0, retry_for=2.5, backoff_base=1.0, random=lambda: 1.0)

    with pytest.raises(RetriesExhausted) as raised:
        sink.send([make_item(1)], FAR_AWAY)

    assert raised.value.last_failure.startswith(f"no answer from {cluster.url} in time")
    assert len(cluster.received) == 2


def test_a_bulk_response_without_the_errors_flag_is_read_item_by_item(cluster, fake_time):
    # a proxy or an older cluster may leave out `errors`: the items still say what happened to each
    cluster.then(Reply(200, {"took": 3, "items": [{"index": {"status": 201}},
                                                  {"index": {"status": 400, "error": {"type": "mapper_parsing_exception",
                                                                                      "reason": "failed to parse"}}}]}))

    rejections = sink_for(cluster, fake_time).send([make_item(1), make_item(2)], FAR_AWAY)

    assert rejections == [Rejection(make_item(2), 400, "mapper_parsing_exception: failed to parse")]
    assert len(cluster.received) == 1 and fake_time.sleeps == []


@pytest.mark.parametrize("result", [{}, {"index": {}}, "created"], ids=["empty", "no-status", "not-an-object"])
def test_an_item_answered_without_a_status_is_rejected_as_status_0_keeping_its_line(cluster, fake_time, result):
    # nothing says it was indexed, nor that a retry would help: it goes to the failure records, raw line and all
    # (sent as text: the scripted cluster's filter_path would drop an item that has no status)
    answer = {"errors": True, "items": [result, {"index": {"status": 201}}]}
    cluster.then(Reply(200, json.dumps(answer), content_type="application/json"))

    rejections = sink_for(cluster, fake_time).send([make_item(1), make_item(2)], FAR_AWAY)

    assert rejections == [Rejection(make_item(1), 0, "HTTP 0")]
    assert rejections[0].item.raw == "raw line 1" and len(cluster.received) == 1
