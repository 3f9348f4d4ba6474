"""Turn a Lambda invocation event into the S3 objects to ingest.

Accepted shapes (see the project notes log-formats.md §5):
  * S3 event notification invoked directly: ``{"Records": [{"eventSource": "aws:s3", ...}]}``
  * SQS batch (``eventSource: "aws:sqs"``) whose bodies are, each, one of:
      - the S3 notification JSON (possibly several records), or the ``s3:TestEvent``;
      - an SNS envelope (``Type: "Notification"``) whose ``Message`` is that JSON (SNS -> SQS
        without raw delivery; with raw delivery the body is the S3 JSON itself);
      - an EventBridge ``Object Created`` event (EventBridge rule -> SQS target).
  * SNS invoking the function directly: ``Records[].Sns.Message`` holds the S3 JSON.
  * EventBridge invoking the function directly.
  * A continuation, ``{"continue": {"bucket", "key", "line", "etag"/"version_id", …}}``, which the
    handler sends to its queue when an object runs out of time: the rest of that object, after `line`.

An SQS message that cannot be understood gets ``error`` set: the handler reports it in
``batchItemFailures``, so after the queue's maxReceiveCount it lands in the queue's DLQ (kept, never
dropped). A directly invoked event that cannot be understood raises ``ValueError``: Lambda retries the
async invoke and then hands it to the function's on-failure destination / DLQ.

Key encoding: S3 notification keys are form-URL-encoded ("red flower+1.jpg" arrives as
"red+flower%2B1.jpg") and are decoded with ``unquote_plus`` exactly once. For EventBridge the S3 docs
do not say; AWS's own consumers (Powertools ``S3EventBridgeNotificationObject.key`` and OpenSearch Data
Prepper's ``S3EventBridgeNotification.getUrlDecodedKey``) form-decode it too, so we do the same and keep
the raw key as ``fallback_key`` for the reader to try on NoSuchKey (moto, for one, sends it raw).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["ObjectRef", "EventMessage", "parse_event", "is_sqs_batch", "continuation_body"]

# Key suffix of the object an ALB writes when access logging is switched on (to test the bucket policy).
ELB_TEST_FILE = "ELBAccessLogTestFile"
S3_TEST_EVENT = "s3:TestEvent"
SUPPORTED_S3_EVENT_MAJOR_VERSION = "2"
CONTINUE = "continue"  # the key of a continuation message (the rest of an object that ran out of time)


@dataclass(frozen=True)
class ObjectRef:
    bucket: str
    key: str  # decoded key (S3 notifications: urllib.parse.unquote_plus, exactly once)
    size: int | None = None
    version_id: str | None = None
    fallback_key: str | None = None  # the other reading of an ambiguous key (EventBridge), tried on NoSuchKey
    # A continuation: where an earlier invocation stopped (pipeline.Resume's fields: line, etag, …).
    resume: dict | None = field(default=None, compare=False, hash=False)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass
class EventMessage:
    message_id: str | None  # SQS messageId, used for batchItemFailures; None when not from SQS
    objects: list[ObjectRef] = field(default_factory=list)
    # Human-readable reasons, e.g. "s3:TestEvent", "folder key s3://b/logs/", "zero-size object s3://…"
    skipped: list[str] = field(default_factory=list)
    # Set when (part of) the message could not be understood; the message then counts as failed.
    # `objects` still lists what was understood: processing it is safe (indexing is idempotent).
    error: str | None = None
    queue_arn: str | None = field(default=None, compare=False)  # the SQS queue it came from (eventSourceARN)

    @property
    def failed(self) -> bool:
        return self.error is not None


class _BadShape(ValueError):
    """A payload that is not a recognised S3 event; the message says why."""


def is_sqs_batch(event: dict) -> bool:
    """True when Lambda was invoked by an SQS event source mapping (the answer then carries
    ``batchItemFailures``)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and len(records) > 0
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def parse_event(event: dict) -> list[EventMessage]:
    """One EventMessage per SQS message (batch), or a single one (message_id None) otherwise.

    Raises ValueError for a directly invoked event of unknown shape."""
    if not isinstance(event, dict):
        raise ValueError(f"unrecognised Lambda event: expected a JSON object, got {type(event).__name__}")
    if is_sqs_batch(event):
        return [_parse_sqs_record(record) for record in event["Records"]]
    records = event.get("Records")
    if isinstance(records, list) and records and all(_is_sns_record(r) for r in records):
        return [_parse_direct(r["Sns"], f"SNS message {r['Sns'].get('MessageId')}", sns=True) for r in records]
    return [_parse_direct(event, "Lambda event")]


def _parse_direct(payload: Any, what: str, *, sns: bool = False) -> EventMessage:
    message = EventMessage(message_id=None)
    try:
        _collect(_sns_message_payload(payload) if sns else payload, message)
    except _BadShape as exc:
        raise ValueError(f"unrecognised {what}: {exc}") from None
    return message


def _parse_sqs_record(record: dict) -> EventMessage:
    message_id = record.get("messageId")
    arn = record.get("eventSourceARN")
    message = EventMessage(message_id=message_id if isinstance(message_id, str) else None,
                           queue_arn=arn if isinstance(arn, str) else None)
    try:
        body = record.get("body")
        if not isinstance(body, str):
            raise _BadShape(f"body is {type(body).__name__}, expected a JSON string")
        payload = _loads(body, "body")
        if isinstance(payload, dict) and payload.get("Type") == "Notification" and "Message" in payload:
            payload = _sns_message_payload(payload)
        _collect(payload, message)
    except _BadShape as exc:
        message.error = f"SQS message {message_id}: {exc}"
    return message


def _is_sns_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("EventSource") == "aws:sns" and isinstance(record.get("Sns"), dict)


def _sns_message_payload(notification: dict) -> Any:
    message = notification.get("Message")
    if not isinstance(message, str):
        raise _BadShape("SNS notification has no Message string")
    return _loads(message, "SNS Message")


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        # The content itself is not echoed: it stays in the queue/DLQ for inspection and may be anything.
        raise _BadShape(f"{what} is not JSON ({exc.msg} at char {exc.pos}; {len(text)} chars)") from None


def _collect(payload: Any, message: EventMessage) -> None:
    """Add the objects/skips described by an S3 notification, test event or EventBridge event."""
    if not isinstance(payload, dict):
        raise _BadShape(f"expected a JSON object, got {type(payload).__name__}")
    if CONTINUE in payload:
        _collect_continuation(payload[CONTINUE], message)
        return
    if payload.get("Event") == S3_TEST_EVENT:
        message.skipped.append(S3_TEST_EVENT)
        return
    if "Records" in payload:
        records = payload["Records"]
        if not isinstance(records, list) or not records:
            raise _BadShape("Records is empty or not a list")
        problems = []
        for index, record in enumerate(records):
            try:
                _collect_s3_record(record, message)
            except _BadShape as exc:
                # Keep going: the other records of the same notification are still good.
                problems.append(f"Records[{index}]: {exc}")
        if problems:
            raise _BadShape("; ".join(problems))
        return
    if payload.get("source") == "aws.s3" and "detail-type" in payload:
        _collect_eventbridge(payload, message)
        return
    keys = ", ".join(sorted(str(k) for k in payload)[:12]) or "none"
    raise _BadShape(
        "not an S3 event notification (Records), s3:TestEvent, SNS notification or EventBridge aws.s3 event; "
        f"top-level keys: {keys}"
    )


def _collect_continuation(body: Any, message: EventMessage) -> None:
    """{"continue": {"bucket", "key", "line", "etag" | "version_id", "first_time", "last_time", "part", "done_after"}},
    what the handler sends when an object ran out of time (lines 1..line are done)."""
    if not isinstance(body, dict):
        raise _BadShape(f"continue is {type(body).__name__}, expected an object")
    bucket, key, line = body.get("bucket"), body.get("key"), body.get("line")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise _BadShape("continue.bucket and continue.key must be non-empty strings")
    if isinstance(line, bool) or not isinstance(line, int) or line < 0:
        raise _BadShape(f"continue.line is {line!r}, expected a non-negative integer")
    part = body.get("part", 1)
    if isinstance(part, bool) or not isinstance(part, int) or part < 1:
        raise _BadShape(f"continue.part is {part!r}, expected a positive integer")
    resume: dict[str, Any] = {"line": line, "part": part}
    for name in ("etag", "version_id", "first_time", "last_time", "done_after"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise _BadShape(f"continue.{name} is {value!r}, expected a string")
        if value:
            resume[name] = value
    message.objects.append(ObjectRef(bucket=bucket, key=key, version_id=resume.get("version_id"), resume=resume))


def continuation_body(bucket: str, key: str, resume: dict, why: str | None = None) -> str:
    """The SQS message body that hands the rest of an object on (see _collect_continuation)."""
    body: dict[str, Any] = {CONTINUE: {"bucket": bucket, "key": key, **resume}}
    if why:
        body["why"] = why  # for people reading the queue; not read back
    return json.dumps(body, separators=(",", ":"))


def _collect_s3_record(record: Any, message: EventMessage) -> None:
    if not isinstance(record, dict):
        raise _BadShape(f"expected an object, got {type(record).__name__}")
    source = record.get("eventSource")
    if source != "aws:s3":
        raise _BadShape(f"eventSource is {source!r}, expected 'aws:s3'")
    version = str(record.get("eventVersion", ""))
    if version.split(".")[0] != SUPPORTED_S3_EVENT_MAJOR_VERSION:
        raise _BadShape(f"unsupported eventVersion {version!r} (expected 2.x)")
    s3 = record.get("s3")
    bucket = _get_str(s3, "bucket", "name", where="s3.bucket.name")
    raw_key = _get_str(s3, "object", "key", where="s3.object.key")
    obj = s3["object"]
    ref = ObjectRef(
        bucket=bucket,
        key=unquote_plus(raw_key),
        size=_optional_size(obj.get("size"), "s3.object.size"),
        version_id=_optional_str(obj.get("versionId")),
    )
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name.startswith("ObjectCreated:"):
        message.skipped.append(f"{event_name} {ref.uri}")
        return
    _add(ref, message)


def _collect_eventbridge(event: dict, message: EventMessage) -> None:
    detail = event.get("detail")
    bucket = _get_str(detail, "bucket", "name", where="detail.bucket.name")
    raw_key = _get_str(detail, "object", "key", where="detail.object.key")
    obj = detail["object"]
    key = unquote_plus(raw_key)
    ref = ObjectRef(
        bucket=bucket,
        key=key,
        size=_optional_size(obj.get("size"), "detail.object.size"),
        version_id=_optional_str(obj.get("version-id")),
        fallback_key=raw_key if raw_key != key else None,
    )
    if event.get("detail-type") != "Object Created":
        message.skipped.append(f"{event.get('detail-type')} {ref.uri}")
        return
    _add(ref, message)


def _add(ref: ObjectRef, message: EventMessage) -> None:
    if ref.key.endswith("/"):
        message.skipped.append(f"folder key {ref.uri}")
    elif ref.key.endswith(ELB_TEST_FILE):
        message.skipped.append(f"{ELB_TEST_FILE} {ref.uri}")
    elif ref.size == 0:
        message.skipped.append(f"zero-size object {ref.uri}")
    else:
        message.objects.append(ref)


def _get_str(container: Any, outer: str, inner: str, *, where: str) -> str:
    section = container.get(outer) if isinstance(container, dict) else None
    value = section.get(inner) if isinstance(section, dict) else None
    if not isinstance(value, str) or not value:
        raise _BadShape(f"{where} is missing or not a non-empty string")
    return value


def _optional_size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _BadShape(f"{where} is {value!r}, expected a non-negative integer")
    return value


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
