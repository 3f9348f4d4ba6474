"""The Lambda entry point: `ingest.handler.lambda_handler`.

Event → objects → pipeline → report. From SQS, failed messages are returned as
`batchItemFailures` (partial batch response) so only they are retried; invoked directly (S3, SNS,
EventBridge), a failure raises so that Lambda retries the event. Ids make every retry safe.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from .config import ConfigError, Settings
from .events import is_sqs_batch, parse_event
from .pipeline import Options, S3Object, process_object
from .report import emf_lines, log, log_object, set_log_level

_runtime: "_Runtime | None" = None


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
        self.sink = OpenSearchSink(settings.opensearch_url, auth, timeout=settings.timeout_seconds,
                                   max_bytes=settings.bulk_max_bytes, max_docs=settings.bulk_max_docs,
                                   compress_level=settings.bulk_compress_level)
        self.dead_letter = DeadLetterWriter(self.s3, settings.dead_letter_bucket, settings.dead_letter_prefix)
        self.options = Options(
            log_format=settings.log_format.value,
            index_prefixes={"alb": settings.alb_index_prefix, "s3-access": settings.s3_access_index_prefix},
            include_raw=settings.include_raw_line,
            bulk_max_bytes=settings.bulk_max_bytes,
            bulk_max_docs=settings.bulk_max_docs,
            max_line_bytes=settings.max_line_bytes,
            max_failure_share=settings.max_failure_share,
        )


def _get_runtime() -> _Runtime:
    global _runtime
    if _runtime is None:
        try:
            _runtime = _Runtime()
        except ConfigError as e:
            log("ERROR", "invalid configuration", error=str(e))
            raise
    return _runtime


def lambda_handler(event: dict, context: Any) -> dict | None:
    runtime = _get_runtime()
    settings = runtime.settings
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else 900
    deadline = time.monotonic() + remaining - settings.time_margin_seconds
    sqs = is_sqs_batch(event)
    messages = parse_event(event)  # a direct event of unknown shape raises: nothing to retry it into

    failed_messages: list[str] = []
    reports = []
    for message in messages:
        ok = message.error is None
        if message.error:
            log("ERROR", "message not understood", message_id=message.message_id, error=message.error)
        for reason in message.skipped:
            log("INFO", "skipped", reason=reason, message_id=message.message_id)
        for ref in message.objects:
            if time.monotonic() >= deadline:
                log("WARNING", "not started before the Lambda timeout; will be retried", uri=ref.uri)
                ok = False
                continue
            report = process_object(S3Object(runtime.s3, ref.bucket, ref.key, ref.fallback_key),
                                    runtime.sink, runtime.dead_letter, runtime.options, deadline)
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
