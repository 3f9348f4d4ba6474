"""The handler under sustained throttling: an object that runs out of time is handed on to the queue as a
continuation, each invocation advances it, and the last one finishes it; moto SQS redelivers what failed.
The clock is fake: it moves only when the shipper backs off, so the figures do not depend on the machine."""
from __future__ import annotations

import json
import random

import pytest

from .conftest import LOG_BUCKET, FakeTime, queue_full, s3_access_lines, text, throttled_or_timed_out

KEYS = [f"s3-logs/2026-11-25-12-0{n}-00-0123456789ABCDE{n}" for n in range(4)]


def throttle_share(share: float):
    def answer(doc, attempt):
        return queue_full(doc) if random.Random(f"{doc.id}/{attempt}").random() < share else None
    return answer


@pytest.fixture
def fake_time(lambda_env):
    import ingest.handler

    clock = FakeTime()
    lambda_env.setattr(ingest.handler, "CLOCK", clock.clock)
    lambda_env.setattr(ingest.handler, "SLEEP", clock.sleep)
    lambda_env.setattr(ingest.handler, "RANDOM", random.Random(7).random)
    lambda_env.setenv("TIME_MARGIN_SECONDS", "2")
    lambda_env.setenv("BULK_MAX_DOCS", "200")
    return clock


def redeliver(aws, queue: str, event: dict, result: dict) -> None:
    """What the event source mapping does with the answer: delete the messages that succeeded, make the
    failed ones visible again (at once, instead of after the visibility timeout)."""
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    for record in event["Records"]:
        if record["messageId"] in failed:
            aws.sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=record["receiptHandle"],
                                              VisibilityTimeout=0)
        else:
            aws.sqs.delete_message(QueueUrl=queue, ReceiptHandle=record["receiptHandle"])


@pytest.mark.parametrize("share, lines, invocations", [(0.7, 2000, 5), (0.95, 500, 10)], ids=["70%", "95%"])
def test_under_sustained_throttling_each_invocation_advances_every_object_until_all_are_indexed(
        aws, opensearch, invoke, fake_time, share, lines, invocations):
    opensearch.answer_item = throttle_share(share)
    queue = aws.notify_sqs()
    for n, key in enumerate(KEYS):
        aws.put(key, text(s3_access_lines(lines, seed=n)))

    runs = []
    while len(runs) < 15:
        event = aws.sqs_event(queue)
        if not event["Records"]:
            break
        run = invoke(event, remaining_ms=20_000)
        redeliver(aws, queue, event, run.result)
        runs.append(run)

    assert 1 < len(runs) <= invocations
    assert all(run.result == {"batchItemFailures": []} for run in runs)  # nothing goes back: it is handed on
    logs = [log for run in runs for log in run.object_logs]
    assert {log["status"] for log in logs} <= {"ok", "continued"}
    for log in logs:  # every part advances its object: it settles lines (the resume point may stay where
        # it is when the line right after it is still throttled; the lines settled past it travel in done_after)
        assert log["status"] == "ok" or (log["lines"] > 0 and log["done_line"] >= log["start_line"])
        if log["status"] == "continued":
            assert "handed on" in log["error"] and throttled_or_timed_out(log["error"])
    for key in KEYS:
        parts = [log for log in logs if log["key"] == key]
        assert parts[-1]["status"] == "ok"
        assert sum(p["lines"] for p in parts) == sum(p["indexed"] for p in parts) == lines
    indices = {}
    for doc in opensearch.docs:
        indices.setdefault(doc.id, set()).add(doc.index)
    assert len(indices) == 4 * lines and all(len(found) == 1 for found in indices.values())
    emf = [line for run in runs for line in run.emf]
    assert sum(line["ObjectsResumed"] for line in emf) == sum(1 for log in logs if log["start_line"] > 0) > 0
    assert sum(line["ThrottledItems"] for line in emf) > 4 * lines and sum(line["BackoffSeconds"] for line in emf) > 0


def test_the_continuation_names_the_object_its_etag_and_the_lines_done(aws, opensearch, invoke, fake_time):
    opensearch.answer_item = throttle_share(0.7)
    queue = aws.notify_sqs()
    aws.put(KEYS[0], text(s3_access_lines(2000)))
    event = aws.sqs_event(queue)

    run = invoke(event, remaining_ms=8_000)

    redeliver(aws, queue, event, run.result)
    [message] = aws.sqs_event(queue)["Records"]
    body = json.loads(message["body"])
    [log] = run.object_logs
    etag = aws.s3.head_object(Bucket=LOG_BUCKET, Key=KEYS[0])["ETag"]
    assert body["continue"]["bucket"] == LOG_BUCKET and body["continue"]["key"] == KEYS[0]
    assert body["continue"]["etag"] == etag
    assert body["continue"]["line"] == log["done_line"] > 0 and body["continue"]["part"] == 1
    assert log["error"].startswith(body["why"]) and "still unsent when the time ran out: " in body["why"]


def test_a_part_that_indexes_nothing_fails_its_message_so_it_is_redelivered_and_ends_in_the_dlq(
        aws, opensearch, invoke, fake_time):
    opensearch.answer_item = throttle_share(1.0)
    queue = aws.notify_sqs()
    aws.put(KEYS[0], text(s3_access_lines(100)))
    event = aws.sqs_event(queue)
    [record] = [r for r in event["Records"] if "Records" in json.loads(r["body"])]

    run = invoke(event, remaining_ms=20_000)

    assert run.result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [log] = run.object_logs
    assert log["status"] == "failed" and log["done_line"] == 0
    assert throttled_or_timed_out(log["error"])
    redeliver(aws, queue, event, run.result)
    assert [r["body"] for r in aws.sqs_event(queue)["Records"]] == [record["body"]]  # no continuation added


def test_when_the_continuation_cannot_be_sent_the_message_comes_back_as_it_is(aws, opensearch, invoke, fake_time,
                                                                             lambda_env):
    opensearch.answer_item = throttle_share(0.7)
    queue = aws.notify_sqs()
    aws.put(KEYS[0], text(s3_access_lines(2000)))
    event = aws.sqs_event(queue)
    [record] = [r for r in event["Records"] if "Records" in json.loads(r["body"])]
    lambda_env.setenv("CONTINUE_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")

    run = invoke(event, remaining_ms=8_000)

    assert run.result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [log] = run.object_logs
    assert log["status"] == "failed" and log["done_line"] > 0
    assert "the rest could not be handed on" in log["error"] and "the message is retried" in log["error"]


def test_invoked_directly_the_rest_goes_to_the_continue_queue_when_one_is_set(aws, opensearch, invoke, fake_time,
                                                                              lambda_env):
    from .conftest import s3_notification

    opensearch.answer_item = throttle_share(0.7)
    queue = aws.sqs.create_queue(QueueName="continue")["QueueUrl"]
    lambda_env.setenv("CONTINUE_QUEUE_URL", queue)
    body = text(s3_access_lines(2000))
    aws.put(KEYS[0], body)

    run = invoke(s3_notification(KEYS[0], len(body)), remaining_ms=8_000)

    assert run.error is None
    [message] = aws.sqs.receive_message(QueueUrl=queue)["Messages"]
    resumed = invoke(json.loads(message["Body"]), remaining_ms=600_000)  # a continuation invoked directly works too
    assert resumed.error is None
    [first], [second] = run.object_logs, resumed.object_logs
    assert (first["status"], second["status"]) == ("continued", "ok")
    assert second["start_line"] == first["done_line"] and first["lines"] + second["lines"] == 2000


def test_invoked_directly_without_a_queue_the_event_fails_and_says_it_will_be_retried(
        aws, opensearch, invoke, fake_time):
    from .conftest import s3_notification

    opensearch.answer_item = throttle_share(0.7)
    body = text(s3_access_lines(2000))
    aws.put(KEYS[0], body)

    run = invoke(s3_notification(KEYS[0], len(body)), remaining_ms=8_000)

    assert isinstance(run.error, RuntimeError)
    [log] = run.object_logs
    assert log["status"] == "failed" and "no queue to hand the rest on to (CONTINUE_QUEUE_URL)" in log["error"]
