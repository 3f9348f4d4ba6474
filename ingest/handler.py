"""The Lambda entry point: `ingest.handler.lambda_handler`.

Event → objects → pipeline → report. From SQS, failed messages are returned as
`batchItemFailures` (partial batch response) so only they are retried; invoked directly (S3, SNS,
EventBridge), a failure raises so that Lambda retries the event. Ids make every retry safe.

Each object gets an equal share of the time left (so every object of a batch advances). An object that
runs out of time after some progress is handed on: a continuation message naming the object, its ETag
(or version) and the lines done goes to CONTINUE_QUEUE_URL, else to the SQS queue the message came from,
and the message is then done (not in `batchItemFailures`); the next invocation resumes the object where
it stopped. Only when the continuation could not be sent, or the part made no progress at all, does the
message fail and come back as it is (so an object that never advances still ends in the queue's DLQ).
Invoked directly without CONTINUE_QUEUE_URL there is nowhere to hand on to: the event fails and Lambda's
own retries start the object again from line 1 (from its own resume point for a continuation event).
"""
from __future__ import annotations

import random as _random
import sys
import time
from typing import Any

from .config import ConfigError, Settings
from .enrich import EnrichError
from .events import EventMessage, ObjectRef, continuation_body, is_sqs_batch, parse_event
from .pipeline import Options, Resume, S3Object, process_object
from .report import emf_lines, log, log_object, set_log_level

_runtime: "_Runtime | None" = None
# The clock and sleep the function runs on (tests replace them with a fake clock before a cold start).
CLOCK = time.monotonic
SLEEP = time.sleep
RANDOM = _random.random  # the backoff's jitter


class _Runtime:
    """What is built once per cold start: settings, clients, sink."""

    def __init__(self) -> None:
        self.settings = settings = Settings.from_env()
        set_log_level(settings.log_level)
        import boto3  # imported here: the package stays importable (and testable) without AWS

        from .auth import build_auth
        from .deadletter import DeadLetterWriter
        from .shipper import OpenSearchSink

        self.s3 = boto3.client("s3")
        auth = build_auth(settings.auth.value, region=settings.region, service=settings.service.value,
                          secret_id=settings.secret_id)
        # No retry_for: retries go on until the object's share of the invocation's time is used up.
        self.sink = OpenSearchSink(settings.opensearch_url, auth, timeout=settings.timeout_seconds,
                                   max_bytes=settings.bulk_max_bytes, max_docs=settings.bulk_max_docs,
                                   compress_level=settings.bulk_compress_level,
                                   clock=CLOCK, sleep=SLEEP, random=RANDOM)
        self._sqs = None
        self.dead_letter = DeadLetterWriter(self.s3, settings.dead_letter_bucket, settings.dead_letter_prefix)
        from .enrich import from_settings  # light; maxminddb and ua-parser only when configured

        # Databases on S3 are fetched here, once per cold start; one that cannot be read fails the start.
        self.enricher = from_settings(settings.geoip_city_db, settings.geoip_asn_db, settings.user_agent_parsing,
                                      s3_client_factory=lambda: self.s3)
        self.options = Options(
            log_format=settings.log_format.value,
            index_prefixes=settings.index_prefixes,
            include_raw=settings.include_raw_line,
            bulk_max_bytes=settings.bulk_max_bytes,
            bulk_max_docs=settings.bulk_max_docs,
            max_line_bytes=settings.max_line_bytes,
            max_failure_share=settings.max_failure_share,
            send_threads=settings.bulk_send_threads,
            enricher=self.enricher,
        )


    @property
    def sqs(self):
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs")
        return self._sqs


def _get_runtime() -> _Runtime:
    global _runtime
    if _runtime is None:
        try:
            _runtime = _Runtime()
        except (ConfigError, EnrichError) as e:
            log("ERROR", "invalid configuration", error=str(e))
            raise
    return _runtime


def lambda_handler(event: dict, context: Any) -> dict | None:
    runtime = _get_runtime()
    settings = runtime.settings
    if runtime.enricher is not None:
        runtime.enricher.new_invocation()
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else 900
    deadline = CLOCK() + remaining - settings.time_margin_seconds
    sqs = is_sqs_batch(event)
    messages = parse_event(event)  # a direct event of unknown shape raises: nothing to retry it into

    failed_messages: list[str] = []
    reports = []
    objects_left = sum(len(message.objects) for message in messages)
    for message in messages:
        ok = message.error is None
        if message.error:
            log("ERROR", "message not understood", message_id=message.message_id, error=message.error)
        for reason in message.skipped:
            log("INFO", "skipped", reason=reason, message_id=message.message_id)
        for ref in message.objects:
            now = CLOCK()
            if now >= deadline:
                log("WARNING", "not started before the Lambda timeout; will be retried", uri=ref.uri)
                ok = False
                objects_left -= 1
                continue
            share = (deadline - now) / max(objects_left, 1)  # every object of the batch gets its turn
            objects_left -= 1
            report = process_object(
                S3Object(runtime.s3, ref.bucket, ref.key, ref.fallback_key),
                runtime.sink, runtime.dead_letter, runtime.options, now + share,
                resume=Resume(**ref.resume) if ref.resume else None, clock=CLOCK)
            # Handed on only when this part advanced the object (settled some lines): a part that did
            # nothing fails its message, which comes back as it is (and, at length, ends in the DLQ).
            if report.status == "failed" and report.continuation and report.lines_read > 0:
                _hand_on(runtime, message, ref, report)
            log_object(report)
            reports.append(report)
            if report.status == "failed":
                ok = False
        if not ok:
            failed_messages.append(message.message_id or "")

    function_name = getattr(context, "function_name", None)
    for line in emf_lines(reports, settings.metrics_namespace, function_name):
        print(line, file=sys.stdout, flush=True)

    if sqs:
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed_messages]}
    if failed_messages:
        raise RuntimeError(f"{len(failed_messages)} of {len(messages)} event(s) had objects that failed; "
                           "Lambda will retry (indexing is idempotent)")
    return None


def _hand_on(runtime: _Runtime, message: EventMessage, ref: ObjectRef, report) -> None:
    """Send the rest of the object on as a continuation message; the report says whether it went."""
    queue_url = runtime.settings.continue_queue_url or _queue_url(message.queue_arn)
    if queue_url is None:
        report.error += "; no queue to hand the rest on to (CONTINUE_QUEUE_URL): the event is retried"
        return
    bucket, key = report.bucket, report.key
    try:
        runtime.sqs.send_message(QueueUrl=queue_url, MessageBody=continuation_body(
            bucket, key, report.continuation, report.error))
    except Exception as e:  # the message then comes back as it is: nothing is lost
        report.error += f"; the rest could not be handed on ({type(e).__name__}: {e}): the message is retried"
        return
    report.status = "continued"
    report.error += f"; lines after {report.done_line:,} handed on to the queue (part {report.part + 1} resumes there)"


def _queue_url(arn: str | None) -> str | None:
    """arn:aws:sqs:<region>:<account>:<name> → https://sqs.<region>.amazonaws.com/<account>/<name>."""
    parts = arn.split(":") if arn else []
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"
