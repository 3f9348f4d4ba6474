"""Fixtures for the pipeline, handler and CLI tests.

- AWS is moto: S3 buckets, and S3 event notifications delivered the way moto delivers them (to SQS,
  to SNS → SQS, to EventBridge → SQS), so the Lambda events are built from real messages.
- OpenSearch is a recording `_bulk` endpoint on 127.0.0.1: it keeps the exact (decompressed) bodies
  and answers each item in the shape OpenSearch uses, cut down by the request's `filter_path`. Tests
  choose per item whether it is created, rejected (400) or throttled (429). It stores nothing: there
  is no search engine here.
- Log lines come from scripts/generate_logs.py, which writes what AWS writes.
"""
from __future__ import annotations

import gzip
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from fakes import load_script
from fakes import FakeTime  # noqa: F401  one fake clock for the suite; the tests import it from here

from ingest.sinks import DeadlineExceeded, Rejection

REPO = Path(__file__).resolve().parents[2]
EVENT_FIXTURES = REPO / "tests" / "events"


generate_logs = load_script("generate_logs", "pipeline_tests_generate_logs")
bulk_endpoint = load_script("bulk_endpoint", "pipeline_tests_bulk_endpoint")

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOG_BUCKET = "example-access-logs"
DEAD_LETTER_BUCKET = "example-dead-letter"
FIRST_LINE_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
# Keys named the way AWS names the objects it delivers.
ALB_KEY = (f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/11/25/{ACCOUNT}_elasticloadbalancing_{REGION}_"
           "app.demo-alb.50dc6c495c0c9188_20261125T1205Z_10.0.1.23_2a3b4c5d.log.gz")
ALB_CONNECTION_LOG_KEY = (f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/11/25/conn_log_{ACCOUNT}_"
                          f"elasticloadbalancing_{REGION}_app.demo-alb.50dc6c495c0c9188_20261125T1205Z_"
                          "10.0.1.23_2a3b4c5d.log.gz")
S3_ACCESS_KEY = "s3-logs/2026-11-25-12-05-00-0123456789ABCDEF"
UNPARSABLE_LINE = "this line is not an access log record"


def alb_lines(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [generate_logs.alb_line(rng, FIRST_LINE_TIME + timedelta(seconds=i)) for i in range(count)]


def s3_access_lines(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [generate_logs.s3_line(rng, FIRST_LINE_TIME + timedelta(seconds=i)) for i in range(count)]


def text(lines: list[str], newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# -- the recording _bulk endpoint --------------------------------------------------------------------


@dataclass
class Doc:
    action: str  # "index", "create", …
    meta: dict  # _index, _id
    source: dict

    @property
    def index(self) -> str:
        return self.meta["_index"]

    @property
    def id(self) -> str:
        return self.meta["_id"]

    @property
    def line_number(self) -> int:
        return self.source["log"]["file"]["line_number"]

    @property
    def path(self) -> str:
        return self.source["log"]["file"]["path"]


@dataclass
class BulkRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes  # decompressed

    @property
    def docs(self) -> list[Doc]:
        lines = self.body.splitlines()
        docs = []
        for action_line, source_line in zip(lines[0::2], lines[1::2]):
            action, meta = next(iter(json.loads(action_line).items()))
            docs.append(Doc(action, meta, json.loads(source_line)))
        return docs


# An item answer: None (created) or (status, error object as OpenSearch writes it).
ItemAnswer = Callable[[Doc, int], "tuple[int, dict] | None"]


def mapping_error(doc: Doc) -> tuple[int, dict]:
    return 400, {"type": "mapper_parsing_exception",
                 "reason": f"failed to parse field [source.ip] of type [ip] in document with id '{doc.id}'. "
                           "Preview of field's value: 'not-an-ip'",
                 "index": doc.index, "shard": "0", "index_uuid": "UZdzhOjDQvGihxfS-m_UFA",
                 "caused_by": {"type": "illegal_argument_exception", "reason": "'not-an-ip' is not an IP string literal."}}


def queue_full(doc: Doc) -> tuple[int, dict]:
    return 429, {"type": "es_rejected_execution_exception",
                 "reason": "rejected execution of primary operation [coordinating_and_primary_bytes=0, "
                           "replica_bytes=0, all_bytes=0, primary_operation_bytes=1024, "
                           "max_coordinating_and_primary_bytes=0]",
                 "index": doc.index, "shard": "0", "index_uuid": "UZdzhOjDQvGihxfS-m_UFA"}


class BulkRecorder:
    """Records every request; answers `_bulk` item by item through `answer_item(doc, attempt)`, where
    `attempt` counts how many times this `_id` arrived before (0 the first time)."""

    def __init__(self) -> None:
        self.requests: list[BulkRequest] = []
        self.answer_item: ItemAnswer = lambda doc, attempt: None
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # TCP_NODELAY, as a real cluster: no 40 ms delayed-ACK stall per request

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
                request = BulkRequest(self.command, parts.path, parse_qs(parts.query), headers, body)
                with recorder._lock:
                    recorder.requests.append(request)
                    status, payload = recorder._answer(request)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _answer(self, request: BulkRequest) -> tuple[int, Any]:
        if request.path != "/_bulk":
            return 404, {"error": {"type": "index_not_found_exception", "reason": "no such index"}, "status": 404}
        items = []
        for doc in request.docs:
            attempt = self._seen[doc.id]
            self._seen[doc.id] += 1
            outcome = self.answer_item(doc, attempt)
            if outcome is None:
                items.append({doc.action: {
                    "_index": doc.index, "_id": doc.id, "_version": attempt + 1,
                    "result": "created" if attempt == 0 else "updated",
                    "_shards": {"total": 2, "successful": 1, "failed": 0},
                    "_seq_no": len(items), "_primary_term": 1, "status": 201 if attempt == 0 else 200}})
            else:
                status, error = outcome
                items.append({doc.action: {"_index": doc.index, "_id": doc.id, "status": status, "error": error}})
        payload: Any = {"took": 12, "errors": any("error" in next(iter(i.values())) for i in items), "items": items}
        filter_path = request.query.get("filter_path")
        if filter_path:  # as the cluster does: keep only the asked-for members
            payload = bulk_endpoint.filter_response(payload, [p.split(".") for p in filter_path[0].split(",")]) or {}
        return 200, payload

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def docs(self) -> list[Doc]:
        """Every document received, in order, retries included."""
        return [doc for request in self.requests for doc in request.docs]

    def forget(self) -> None:
        self.requests.clear()


@pytest.fixture
def sink(opensearch):
    """The real OpenSearchSink, sending to the recording stand-in."""
    from ingest.shipper import OpenSearchSink

    shipper = OpenSearchSink(opensearch.url, None)
    yield shipper
    shipper.close()


@pytest.fixture
def dead_letter(tmp_path):
    """The command line's dead letter, under tmp_path/dead-letter."""
    from ingest.deadletter import LocalDeadLetterWriter

    return LocalDeadLetterWriter(tmp_path / "dead-letter")


@pytest.fixture
def opensearch():
    recorder = BulkRecorder()
    recorder.thread.start()
    yield recorder
    recorder.server.shutdown()
    recorder.server.server_close()


# -- sinks that stand in for the shipper -----------------------------------------------------------


class StopAfter:
    """A sink that takes `requests` requests, rejecting the lines in `reject` with 400, then runs out of time."""

    def __init__(self, requests: int, reject: frozenset[int] = frozenset()):
        self.left = requests
        self.reject = reject
        self.sent = []

    def send(self, items, deadline):
        if self.left == 0:
            raise DeadlineExceeded(len(items), "items throttled (429) for 4 min", items)
        self.left -= 1
        self.sent += items
        return [Rejection(item, 400, "mapper_parsing_exception: bad") for item in items
                if item.line_number in self.reject]

    def close(self):
        pass


class Everything(StopAfter):
    """A sink that takes every request (rejecting the lines in `reject`)."""

    def __init__(self, reject: frozenset[int] = frozenset()):
        super().__init__(10**9, reject)


# -- AWS (moto) --------------------------------------------------------------------------------------


@dataclass
class Aws:
    s3: Any
    sqs: Any
    sns: Any
    events: Any
    queues: list[str] = field(default_factory=list)

    def put(self, key: str, body: bytes, bucket: str = LOG_BUCKET) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def _queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queues.append(url)
        return url, arn

    def notify_sqs(self) -> str:
        """S3 → SQS notifications for the log bucket; returns the queue URL."""
        url, arn = self._queue("s3-notifications")
        self.s3.put_bucket_notification_configuration(Bucket=LOG_BUCKET, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        return url

    def notify_sns_sqs(self) -> str:
        """S3 → SNS → SQS (no raw message delivery); returns the queue URL."""
        url, arn = self._queue("s3-via-sns")
        topic = self.sns.create_topic(Name="s3-notifications")["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        self.s3.put_bucket_notification_configuration(Bucket=LOG_BUCKET, NotificationConfiguration={
            "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})
        return url

    def notify_eventbridge_sqs(self) -> str:
        """S3 → EventBridge → rule → SQS; returns the queue URL."""
        url, arn = self._queue("s3-via-eventbridge")
        self.events.put_rule(Name="s3-object-created", EventPattern=json.dumps(
            {"source": ["aws.s3"], "detail-type": ["Object Created"]}))
        self.events.put_targets(Rule="s3-object-created", Targets=[{"Id": "queue", "Arn": arn}])
        self.s3.put_bucket_notification_configuration(Bucket=LOG_BUCKET, NotificationConfiguration={
            "EventBridgeConfiguration": {}})
        return url

    def sqs_event(self, queue_url: str) -> dict:
        """Drain the queue into the event the SQS event source mapping would hand the function."""
        arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        records = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                AttributeNames=["All"]).get("Messages", [])
            if not messages:
                break
            for message in messages:
                records.append({
                    "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"], "attributes": message.get("Attributes", {}), "messageAttributes": {},
                    "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
                    "awsRegion": REGION})
        return {"Records": records}

    def dead_letters(self) -> list[dict]:
        """Every entry of every dead-letter object."""
        entries = []
        for entry in self.s3.list_objects_v2(Bucket=DEAD_LETTER_BUCKET).get("Contents", []):
            body = self.s3.get_object(Bucket=DEAD_LETTER_BUCKET, Key=entry["Key"])["Body"].read()
            entries += [json.loads(line) for line in gzip.decompress(body).splitlines()]
        return entries


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials and region, so nothing here can reach a real AWS account."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def aws(aws_credentials):
    import boto3
    from moto import mock_aws

    with mock_aws():
        world = Aws(boto3.client("s3"), boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
        world.s3.create_bucket(Bucket=LOG_BUCKET)
        world.s3.create_bucket(Bucket=DEAD_LETTER_BUCKET)
        yield world


# -- the Lambda --------------------------------------------------------------------------------------


class LambdaContext:
    function_name = "access-logs-to-opensearch"

    def __init__(self, remaining_ms: int = 300_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Invocation:
    result: Any
    error: BaseException | None
    stdout_lines: list[dict]

    @property
    def object_logs(self) -> list[dict]:
        return [line for line in self.stdout_lines if str(line.get("message", "")).startswith("object ")]

    @property
    def emf(self) -> list[dict]:
        return [line for line in self.stdout_lines if "_aws" in line]

    def logs(self, message: str) -> list[dict]:
        return [line for line in self.stdout_lines if line.get("message") == message]


@pytest.fixture
def lambda_env(aws, opensearch, monkeypatch):
    """The function's settings as the template sets them, pointing at the local `_bulk` endpoint."""
    import ingest.handler

    monkeypatch.setenv("OPENSEARCH_URL", opensearch.url)
    monkeypatch.setenv("OPENSEARCH_AUTH", "none")
    monkeypatch.setenv("DEAD_LETTER_BUCKET", DEAD_LETTER_BUCKET)
    monkeypatch.setenv("METRICS_NAMESPACE", "PipelineTests")
    for name in ("LOG_FORMAT", "TIME_MARGIN_SECONDS", "INCLUDE_RAW_LINE", "LOG_LEVEL", "BULK_MAX_DOCS",
                 "BULK_MAX_BYTES", "ALB_INDEX_PREFIX", "S3_ACCESS_INDEX_PREFIX", "DEAD_LETTER_PREFIX",
                 "GEOIP_CITY_DB", "GEOIP_ASN_DB", "USER_AGENT_PARSING"):
        monkeypatch.delenv(name, raising=False)
    ingest.handler._runtime = None  # settings are read at cold start: every test starts cold
    yield monkeypatch
    ingest.handler._runtime = None


@pytest.fixture
def invoke(lambda_env, capsys):
    """Call `lambda_handler` and collect what it returned or raised and the JSON lines it printed."""
    from ingest.handler import lambda_handler

    def call(event: dict, remaining_ms: int = 300_000) -> Invocation:
        capsys.readouterr()
        result = error = None
        try:
            result = lambda_handler(event, LambdaContext(remaining_ms))
        except Exception as e:  # noqa: BLE001 - the tests assert on it
            error = e
        out = capsys.readouterr().out
        return Invocation(result, error, [json.loads(line) for line in out.splitlines() if line.strip()])

    return call


def s3_notification(key: str, size: int, bucket: str = LOG_BUCKET) -> dict:
    """The documented ObjectCreated:Put notification (tests/events) for one object, key form-encoded as S3 does."""
    event = json.loads((EVENT_FIXTURES / "s3_object_created_put.json").read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = quote_plus(key)
    record["s3"]["object"]["size"] = size
    return event


@pytest.fixture(autouse=True, params=[1, 0], ids=["background-sender", "sending-in-line"])
def send_threads(request, monkeypatch):
    """Every pipeline, handler and CLI test runs both ways: sending on the background thread (the default)
    and in the parsing thread (BULK_SEND_THREADS=0); whatever a test checks must hold for both."""
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "DEFAULT_SEND_THREADS", request.param)
    return request.param


def throttled_or_timed_out(error: str) -> bool:
    """Whether a part that stopped names throttling as its cause. The cause is the last failure, and
    with the fake clock a last request's socket timeout is capped at the (fake) time left while the
    stand-in answers on a real socket: on a loaded machine that request can time out instead."""
    return "items throttled (429) for" in error or "no answer from" in error
