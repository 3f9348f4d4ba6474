"""The Lambda handler end to end: moto S3 (and the notifications moto delivers through SQS, SNS and
EventBridge) → `lambda_handler` → the `_bulk` bodies that reach a recording endpoint on 127.0.0.1."""
from __future__ import annotations

import gzip
import json
import zlib
from urllib.parse import unquote_plus

from .conftest import (generate_logs, ALB_CONNECTION_LOG_KEY, ALB_KEY, DEAD_LETTER_BUCKET, LOG_BUCKET, S3_ACCESS_KEY,
                       UNPARSABLE_LINE, alb_lines, gzipped, mapping_error, queue_full, s3_access_lines,
                       s3_notification, text)


def failed_ids(result: dict) -> set[str]:
    return {failure["itemIdentifier"] for failure in result["batchItemFailures"]}


def skipped_reasons(invocation) -> list[str]:
    return [line["reason"] for line in invocation.logs("skipped")]


# -- event shapes --------------------------------------------------------------------------------------


def test_direct_s3_notification_indexes_every_line_into_its_daily_index(aws, opensearch, invoke):
    lines = alb_lines(40)
    body = gzipped(text(lines))
    aws.put(ALB_KEY, body)

    run = invoke(s3_notification(ALB_KEY, len(body)))

    assert run.error is None and run.result is None
    docs = opensearch.docs
    assert [doc.line_number for doc in docs] == list(range(1, 41))
    assert {doc.action for doc in docs} == {"index"}
    assert {doc.index for doc in docs} == {"alb-logs-2026.11.25"}
    assert len({doc.id for doc in docs}) == 40
    assert {doc.path for doc in docs} == {f"s3://{LOG_BUCKET}/{ALB_KEY}"}
    assert all("parse_failure" not in doc.source.get("tags", []) for doc in docs)


def test_sqs_batch_of_s3_notifications_indexes_each_object_and_acknowledges_the_test_event(aws, opensearch, invoke):
    queue = aws.notify_sqs()  # saving the configuration sends s3:TestEvent first
    aws.put(ALB_KEY, gzipped(text(alb_lines(30))))
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(20)))
    event = aws.sqs_event(queue)
    assert len(event["Records"]) == 3

    run = invoke(event)

    assert run.result == {"batchItemFailures": []}
    assert skipped_reasons(run) == ["s3:TestEvent"]
    by_path = {}
    for doc in opensearch.docs:
        by_path.setdefault(doc.path, []).append(doc)
    assert len(by_path[f"s3://{LOG_BUCKET}/{ALB_KEY}"]) == 30
    assert len(by_path[f"s3://{LOG_BUCKET}/{S3_ACCESS_KEY}"]) == 20
    assert {doc.index for doc in by_path[f"s3://{LOG_BUCKET}/{S3_ACCESS_KEY}"]} == {"s3-access-logs-2026.11.25"}


def test_sns_notifications_delivered_through_sqs_are_unwrapped_twice(aws, opensearch, invoke):
    queue = aws.notify_sns_sqs()
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(25)))
    event = aws.sqs_event(queue)
    assert {json.loads(r["body"])["Type"] for r in event["Records"]} == {"Notification"}

    run = invoke(event)

    assert run.result == {"batchItemFailures": []}
    assert skipped_reasons(run) == ["s3:TestEvent"]
    assert len(opensearch.docs) == 25


def test_eventbridge_object_created_works_invoked_directly_and_through_sqs(aws, opensearch, invoke):
    # moto puts the key in EventBridge events as is; the handler decodes it and falls back to the raw key.
    key = "exported logs/team+ops/2026-11-25-12-05-00-0123456789ABCDEF"
    queue = aws.notify_eventbridge_sqs()
    aws.put(key, text(s3_access_lines(15)))
    event = aws.sqs_event(queue)
    assert [json.loads(r["body"])["detail-type"] for r in event["Records"]] == ["Object Created"]

    through_sqs = invoke(event)
    first = opensearch.docs
    opensearch.forget()
    direct = invoke(json.loads(event["Records"][0]["body"]))

    assert through_sqs.result == {"batchItemFailures": []}
    assert direct.error is None and direct.result is None
    assert len(first) == 15
    assert {doc.path for doc in first} == {f"s3://{LOG_BUCKET}/{key}"}
    assert [doc.id for doc in opensearch.docs] == [doc.id for doc in first]


def test_keys_with_spaces_and_plus_signs_are_decoded_exactly_once(aws, opensearch, invoke):
    key = "my logs/a+b %2B/2026-11-25-12-05-00-0123456789ABCDEF"  # moto encodes it as S3 does: my+logs%2Fa%2Bb+%252B…
    queue = aws.notify_sqs()
    aws.put(key, text(s3_access_lines(5)))
    event = aws.sqs_event(queue)

    run = invoke(event)

    assert run.result == {"batchItemFailures": []}
    assert [log["key"] for log in run.object_logs] == [key]
    assert {doc.path for doc in opensearch.docs} == {f"s3://{LOG_BUCKET}/{key}"}
    assert len(opensearch.docs) == 5


def test_folder_keys_zero_size_objects_and_the_elb_test_file_are_skipped_with_a_log_line(aws, opensearch, invoke):
    queue = aws.notify_sqs()
    aws.put("AWSLogs/", b"")
    aws.put("s3-logs/2026-11-25-12-10-00-00000000DEADBEEF", b"")
    aws.put("AWSLogs/123456789012/ELBAccessLogTestFile", b"Enable AccessLog for ELB: demo-alb at 2026-11-25T12:00:00.000Z")
    event = aws.sqs_event(queue)

    run = invoke(event)

    assert run.result == {"batchItemFailures": []}
    reasons = skipped_reasons(run)
    assert reasons[0] == "s3:TestEvent"
    assert reasons[1:] == [f"folder key s3://{LOG_BUCKET}/AWSLogs/",
                           f"zero-size object s3://{LOG_BUCKET}/s3-logs/2026-11-25-12-10-00-00000000DEADBEEF",
                           f"ELBAccessLogTestFile s3://{LOG_BUCKET}/AWSLogs/123456789012/ELBAccessLogTestFile"]
    assert run.object_logs == []
    assert opensearch.requests == []


def test_sqs_partial_batch_response_lists_exactly_the_failed_message_ids(aws, opensearch, invoke):
    queue = aws.notify_sqs()
    good_key, missing_key, truncated_key = (f"s3-logs/2026-11-25-12-0{i}-00-0123456789ABCDE{i}" for i in range(3))
    aws.put(good_key, text(s3_access_lines(10)))
    aws.put(missing_key, text(s3_access_lines(10)))
    aws.s3.delete_object(Bucket=LOG_BUCKET, Key=missing_key)  # deleted before the function got to it
    whole = gzipped(text(s3_access_lines(200)))
    aws.put(truncated_key, whole[: len(whole) // 2])
    aws.sqs.send_message(QueueUrl=queue, MessageBody="not json at all")
    event = aws.sqs_event(queue)
    ids = {}
    for record in event["Records"]:
        try:
            body = json.loads(record["body"])
        except ValueError:
            ids["garbage"] = record["messageId"]
            continue
        name = unquote_plus(body["Records"][0]["s3"]["object"]["key"]) if "Records" in body else body["Event"]
        ids[name] = record["messageId"]
    assert len(ids) == 5

    run = invoke(event)

    assert failed_ids(run.result) == {ids[missing_key], ids[truncated_key], ids["garbage"]}
    statuses = {log["key"]: log["status"] for log in run.object_logs}
    assert statuses == {good_key: "ok", missing_key: "failed", truncated_key: "failed"}
    assert "NoSuchKey" in next(log["error"] for log in run.object_logs if log["key"] == missing_key)
    assert [log["message_id"] for log in run.logs("message not understood")] == [ids["garbage"]]


def test_a_direct_invocation_with_a_failing_object_raises_so_lambda_retries_it(aws, opensearch, invoke):
    run = invoke(s3_notification("s3-logs/2026-11-25-12-05-00-0000000000000000", 1234))  # never written

    assert isinstance(run.error, RuntimeError)
    [log] = run.object_logs
    assert log["status"] == "failed" and log["level"] == "ERROR"
    assert "NoSuchKey" in log["error"]


# -- nothing doubled, nothing lost -----------------------------------------------------------------------


def test_replaying_the_same_object_three_times_yields_the_same_ids_and_indices(aws, opensearch, invoke):
    import ingest.handler

    lines = alb_lines(30)
    lines.insert(7, UNPARSABLE_LINE)  # failure records must be as stable as documents
    body = gzipped(text(lines))
    aws.put(ALB_KEY, body)
    event = s3_notification(ALB_KEY, len(body))

    deliveries = []
    for cold_start in (True, False, True):
        if cold_start:
            ingest.handler._runtime = None
        opensearch.forget()
        run = invoke(event)
        assert run.error is None
        deliveries.append(sorted((doc.index, doc.id) for doc in opensearch.docs))

    assert deliveries[0] == deliveries[1] == deliveries[2]
    assert len(set(deliveries[0])) == 31


def test_every_line_is_indexed_a_failure_record_or_dead_lettered(aws, opensearch, invoke):
    lines = alb_lines(50)
    lines[9] = UNPARSABLE_LINE
    lines[19] = UNPARSABLE_LINE + " (again)"
    body = gzipped(text(lines))
    aws.put(ALB_KEY, body)

    def answer(doc, attempt):
        if doc.line_number in (3, 33):
            return mapping_error(doc)
        if doc.line_number == 5 and attempt == 0:
            return queue_full(doc)
        return None

    opensearch.answer_item = answer

    run = invoke(s3_notification(ALB_KEY, len(body)))

    assert run.error is None
    [log] = run.object_logs
    assert (log["lines"], log["indexed"], log["failed"], log["dead_lettered"]) == (50, 46, 2, 2)
    assert log["indexed"] + log["failed"] + log["dead_lettered"] == log["lines"]
    assert log["accounted_for"] is True
    # The throttled item was sent again, alone, and then indexed.
    assert [doc.line_number for doc in opensearch.docs].count(5) == 2
    assert [doc.line_number for doc in opensearch.requests[-1].docs] == [5]
    # Unparsable lines are indexed as failure records carrying the raw line.
    failures = {doc.line_number: doc.source for doc in opensearch.docs if "parse_failure" in doc.source.get("tags", [])}
    assert sorted(failures) == [10, 20]
    assert failures[10]["event"]["original"] == UNPARSABLE_LINE
    assert failures[10]["error"]["type"] == "parse_error"
    # Rejections are in the dead letter with the raw line and the reason.
    assert log["dead_letter_uri"].startswith(f"s3://{DEAD_LETTER_BUCKET}/dead-letter/")
    entries = sorted(aws.dead_letters(), key=lambda e: e["line_number"])
    assert [(e["line_number"], e["raw"], e["status"]) for e in entries] == [(3, lines[2], 400), (33, lines[32], 400)]
    assert {e["source"] for e in entries} == {f"s3://{LOG_BUCKET}/{ALB_KEY}"}
    assert all("mapper_parsing_exception" in e["reason"] for e in entries)


def test_the_dead_letter_object_is_gzip_ndjson(aws, opensearch, invoke):
    lines = s3_access_lines(5)
    aws.put(S3_ACCESS_KEY, text(lines))
    opensearch.answer_item = lambda doc, attempt: mapping_error(doc) if doc.line_number == 2 else None

    run = invoke(s3_notification(S3_ACCESS_KEY, 1))

    key = run.object_logs[0]["dead_letter_uri"].removeprefix(f"s3://{DEAD_LETTER_BUCKET}/")
    raw = aws.s3.get_object(Bucket=DEAD_LETTER_BUCKET, Key=key)["Body"].read()
    assert raw[:2] == b"\x1f\x8b"
    [entry] = [json.loads(line) for line in gzip.decompress(raw).splitlines()]
    assert set(entry) == {"source", "line_number", "status", "reason", "raw"}


# -- reading objects ----------------------------------------------------------------------------------


def test_gzip_is_recognised_by_its_magic_bytes_not_by_the_name(aws, opensearch, invoke):
    queue = aws.notify_sqs()
    aws.put(ALB_KEY, text(alb_lines(12)))  # named .log.gz, stored plain
    aws.put(S3_ACCESS_KEY, gzipped(text(s3_access_lines(8))))  # no extension, gzip inside

    run = invoke(aws.sqs_event(queue))

    assert run.result == {"batchItemFailures": []}
    counts = {log["key"]: (log["lines"], log["indexed"], log["failed"]) for log in run.object_logs}
    assert counts == {ALB_KEY: (12, 12, 0), S3_ACCESS_KEY: (8, 8, 0)}
    assert len(opensearch.docs) == 20


def test_a_truncated_gzip_object_fails_clearly_after_the_lines_before_the_cut_were_sent(aws, opensearch, invoke):
    lines = s3_access_lines(300)
    whole = gzipped(text(lines))
    cut = whole[: len(whole) // 2]
    aws.put(S3_ACCESS_KEY, cut)
    readable = zlib.decompressobj(31).decompress(cut)
    complete_lines = readable.count(b"\n")
    assert 0 < complete_lines < 300

    run = invoke(s3_notification(S3_ACCESS_KEY, len(cut)))

    assert isinstance(run.error, RuntimeError)
    [log] = run.object_logs
    assert log["status"] == "failed"
    assert "truncated" in log["error"]
    assert log["indexed"] + log["failed"] + log["dead_lettered"] == log["lines"] >= complete_lines
    sent = {doc.line_number: doc for doc in opensearch.docs}
    assert set(range(1, complete_lines + 1)) <= set(sent)
    assert all("parse_failure" not in sent[n].source.get("tags", []) for n in range(1, complete_lines + 1))


def test_crlf_line_endings_and_non_utf8_bytes_are_kept(aws, opensearch, invoke):
    lines = s3_access_lines(6)
    agent = next(a for a in [*generate_logs.USER_AGENTS, "aws-cli/2.17.0 Python/3.11"] if f'"{a}"' in lines[2])
    latin1_agent = b"caf\xe9-client " + agent.encode()  # not UTF-8
    data = text(lines, newline="\r\n").replace(lines[2].encode(), lines[2].encode().replace(agent.encode(), latin1_agent))
    aws.put(S3_ACCESS_KEY, data)

    run = invoke(s3_notification(S3_ACCESS_KEY, len(data)))

    [log] = run.object_logs
    assert log["lines"] == 6 and log["indexed"] + log["failed"] == 6
    docs = {doc.line_number: doc for doc in opensearch.docs}
    assert sorted(docs) == [1, 2, 3, 4, 5, 6]
    assert all(b"\r" not in request.body for request in opensearch.requests)
    # The undecodable bytes survive as escapes instead of the line being dropped.
    assert docs[3].source["user_agent"]["original"] == "caf\\xe9-client " + agent


# -- time, unsupported objects, observability ----------------------------------------------------------


def test_objects_are_not_started_when_the_remaining_time_is_below_the_margin(aws, opensearch, invoke):
    queue = aws.notify_sqs()
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(5)))
    aws.put(ALB_KEY, gzipped(text(alb_lines(5))))
    event = aws.sqs_event(queue)
    object_messages = {r["messageId"] for r in event["Records"] if "Records" in json.loads(r["body"])}
    assert len(object_messages) == 2

    run = invoke(event, remaining_ms=15_000)  # the default margin is 20 s

    assert failed_ids(run.result) == object_messages
    assert opensearch.requests == []
    assert len(run.logs("not started before the Lambda timeout; will be retried")) == 2

    direct = invoke(s3_notification(S3_ACCESS_KEY, 1), remaining_ms=15_000)
    assert isinstance(direct.error, RuntimeError)
    assert opensearch.requests == []


def test_an_alb_connection_log_is_indexed_as_one_not_as_alb_access_logs(aws, opensearch, invoke):
    # log-formats.md §1.7, the documented mTLS entry (dated into the key's day), and a line cut short
    body = gzipped(b'2026-11-25T12:00:00.123456Z 203.0.113.1 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 '
                   b'"CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US" '
                   b'NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success '
                   b'TID_3180a73013c8ca4bac2f731159d4b0fe\n2026-11-25T12:00:01.5Z 203.0.113.1 36281 443 TLSv1.2\n')
    aws.put(ALB_CONNECTION_LOG_KEY, body)

    run = invoke(s3_notification(ALB_CONNECTION_LOG_KEY, len(body)))

    assert run.error is None
    [log] = run.object_logs
    assert (log["status"], log["format"], log["lines"], log["indexed"], log["failed"]) == (
        "ok", "alb-connection", 2, 1, 1)
    assert {doc.index for doc in opensearch.docs} == {"alb-connection-logs-2026.11.25"}
    assert opensearch.docs[0].source["event"]["dataset"] == "aws.alb_connection"


def test_one_json_log_line_per_object_and_emf_metrics_are_printed(aws, opensearch, invoke):
    queue = aws.notify_sqs()
    alb_body = gzipped(text(alb_lines(10) + [UNPARSABLE_LINE]))
    aws.put(ALB_KEY, alb_body)
    aws.put(S3_ACCESS_KEY, text(s3_access_lines(4)))

    run = invoke(aws.sqs_event(queue))

    logs = {log["key"]: log for log in run.object_logs}
    assert set(logs) == {ALB_KEY, S3_ACCESS_KEY}
    alb = logs[ALB_KEY]
    assert {"bucket", "key", "format", "lines", "indexed", "failed", "bytes", "seconds"} <= set(alb)
    assert (alb["bucket"], alb["format"], alb["lines"], alb["indexed"], alb["failed"]) == (LOG_BUCKET, "alb", 11, 10, 1)
    assert alb["bytes"] == len(alb_body)
    assert isinstance(alb["seconds"], (int, float))
    emf = {line["Format"]: line for line in run.emf}
    assert set(emf) == {"alb", "s3-access"}
    assert emf["alb"]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PipelineTests"
    assert emf["alb"]["FunctionName"] == "access-logs-to-opensearch"
    assert (emf["alb"]["Lines"], emf["alb"]["Indexed"], emf["alb"]["FailedLines"]) == (11, 10, 1)
    assert emf["s3-access"]["ObjectsOk"] == 1


# -- enrichment (GEOIP_CITY_DB, GEOIP_ASN_DB, USER_AGENT_PARSING) -------------------------------------------


def test_geoip_databases_on_s3_and_user_agent_parsing_enrich_every_document(aws, opensearch, invoke, lambda_env,
                                                                           geoip_databases, tmp_path):
    import ingest.enrich

    city, asn = geoip_databases
    aws.s3.create_bucket(Bucket="geo-data")
    aws.s3.put_object(Bucket="geo-data", Key="GeoLite2-City.mmdb", Body=city.read_bytes())
    aws.s3.put_object(Bucket="geo-data", Key="GeoLite2-ASN.mmdb", Body=asn.read_bytes())
    lambda_env.setenv("GEOIP_CITY_DB", "s3://geo-data/GeoLite2-City.mmdb")
    lambda_env.setenv("GEOIP_ASN_DB", "s3://geo-data/GeoLite2-ASN.mmdb")
    lambda_env.setenv("USER_AGENT_PARSING", "true")
    lambda_env.setattr(ingest.enrich, "DOWNLOAD_DIR", tmp_path / "geoip")
    body = gzipped(text(alb_lines(200)))
    aws.put(ALB_KEY, body)

    run = invoke(s3_notification(ALB_KEY, len(body)))

    assert run.error is None
    docs = opensearch.docs
    assert len(docs) == 200
    placed = [doc.source["source"] for doc in docs if "geo" in doc.source["source"]]
    assert len(placed) > 150  # the generator's clients are nearly all in the test databases' networks
    assert all(-90 <= s["geo"]["location"]["lat"] <= 90 and s["as"]["number"] > 0 for s in placed if "as" in s)
    assert any(doc.source.get("user_agent", {}).get("name") == "Chrome" for doc in docs)
    assert (tmp_path / "geoip" / "geo-data" / "GeoLite2-City.mmdb").is_file()


def test_a_geoip_database_that_cannot_be_read_stops_the_cold_start_with_one_log_line(aws, opensearch, invoke,
                                                                                     lambda_env, tmp_path):
    import ingest.enrich

    lambda_env.setenv("GEOIP_CITY_DB", "s3://" + LOG_BUCKET + "/no/such/GeoLite2-City.mmdb")
    lambda_env.setattr(ingest.enrich, "DOWNLOAD_DIR", tmp_path)
    aws.put(ALB_KEY, text(alb_lines(3)))

    run = invoke(s3_notification(ALB_KEY, 10))

    assert run.error is not None and opensearch.docs == []
    [line] = run.logs("invalid configuration")
    assert line["error"].startswith(f"GeoIP City database s3://{LOG_BUCKET}/no/such/GeoLite2-City.mmdb could not be downloaded")
