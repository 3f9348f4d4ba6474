"""A scripted stand-in for an OpenSearch cluster's HTTP interface, on 127.0.0.1.

It answers each request with the next scripted reply and records exactly what arrived (method, path, query,
headers, raw and decompressed body), so tests check the bytes on the wire. Bulk replies are written in the
full shape OpenSearch documents (took/errors/items with _index/_id/_version/result/_shards/status/error)
and cut down by the request's `filter_path` the way the cluster would, so the shipper reads what it would
really get back. It indexes nothing: there is no search engine here.
"""
from __future__ import annotations

import gzip
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from fakes import FakeTime  # one fake clock for the suite
from fakes import load_script

from ingest.sinks import BulkItem



def load_bulk_endpoint_script():
    return load_script("bulk_endpoint", "bulk_endpoint")


bulk_endpoint = load_bulk_endpoint_script()


def make_item(n: int, index: str = "alb-logs-2026.11.25", padding: int = 0) -> BulkItem:
    """A bulk item in the exact form the builder produces: action line + document line, each ending in \\n."""
    doc_id = f"id-{n:04d}"
    action = json.dumps({"index": {"_index": index, "_id": doc_id}}, separators=(",", ":"))
    document = json.dumps({"@timestamp": "2026-11-25T10:00:00.000000Z", "n": n, "pad": "x" * padding},
                          separators=(",", ":"))
    raw = f"raw line {n}"
    return BulkItem(f"{action}\n{document}\n".encode(), line_number=n, raw=raw)


def bulk_ids(body: bytes) -> list[str]:
    """The `_id`s of the actions in a bulk body, in order."""
    lines = body.splitlines()
    return [json.loads(line)["index"]["_id"] for line in lines[0::2]]


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    raw_body: bytes

    @property
    def body(self) -> bytes:
        return gzip.decompress(self.raw_body) if self.headers.get("content-encoding") == "gzip" else self.raw_body

    @property
    def ids(self) -> list[str]:
        return bulk_ids(self.body)


@dataclass
class Reply:
    status: int
    payload: Any  # dict/list -> JSON, str -> text/plain
    hang: bool = False  # never answer (until the test ends): the client's timeout fires
    headers: dict | None = None  # extra response headers, e.g. Retry-After
    content_type: str | None = None  # instead of the default for the payload's kind


def ok_item(doc_id: str, index: str = "alb-logs-2026.11.25") -> dict:
    return {"index": {"_index": index, "_id": doc_id, "_version": 1, "result": "created",
                      "_shards": {"total": 2, "successful": 1, "failed": 0},
                      "_seq_no": 0, "_primary_term": 1, "status": 201}}


def failed_item(doc_id: str, status: int, error_type: str, reason: str, index: str = "alb-logs-2026.11.25",
                caused_by: dict | None = None) -> dict:
    error = {"type": error_type, "reason": reason, "index": index, "shard": "0", "index_uuid": "UZdzhOjDQvGihxfS-m_UFA"}
    if caused_by:
        error["caused_by"] = caused_by
    return {"index": {"_index": index, "_id": doc_id, "status": status, "error": error}}


MAPPING_ERROR = dict(
    status=400,
    error_type="mapper_parsing_exception",
    reason="failed to parse field [source.ip] of type [ip] in document with id 'id-0004'. "
           "Preview of field's value: 'not-an-ip'",
    caused_by={"type": "illegal_argument_exception", "reason": "'not-an-ip' is not an IP string literal."},
)
QUEUE_FULL = dict(
    status=429,
    error_type="es_rejected_execution_exception",
    reason="rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
           "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=0]",
)


def bulk_reply(received: Received, failures: dict[str, dict] | None = None) -> Reply:
    """The 200 reply to a bulk request: every item created, except the ids in `failures` (id -> failed_item kwargs)."""
    failures = failures or {}
    items = [failed_item(i, **failures[i]) if i in failures else ok_item(i) for i in received.ids]
    return Reply(200, {"took": 30, "errors": bool(failures.keys() & set(received.ids)), "items": items})


class ScriptedCluster:
    def __init__(self) -> None:
        self.script: deque[Reply | Callable[[Received], Reply]] = deque()
        self.default: Callable[[Received], Reply] | None = bulk_reply
        self.received: list[Received] = []
        self.release = threading.Event()
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # TCP_NODELAY, as a real cluster: no 40 ms delayed-ACK stall per request

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.handle_any()

            def do_GET(self) -> None:
                self.handle_any()

            def handle_any(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received = Received(self.command, parts.path, parse_qs(parts.query),
                                    {k.lower(): v for k, v in self.headers.items()}, raw)
                cluster.received.append(received)
                step = cluster.script.popleft() if cluster.script else cluster.default
                reply = step(received) if callable(step) else step
                if reply.hang:
                    cluster.release.wait()
                    return
                payload = reply.payload
                if isinstance(payload, str):
                    data, content_type = payload.encode(), "text/plain;charset=ISO-8859-1"
                else:
                    filter_path = received.query.get("filter_path")
                    if filter_path and reply.status == 200:
                        paths = [p.split(".") for p in filter_path[0].split(",")]
                        payload = bulk_endpoint.filter_response(payload, paths) or {}
                    data, content_type = json.dumps(payload).encode(), "application/json; charset=UTF-8"
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type or content_type)
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def then(self, *steps: Reply | Callable[[Received], Reply]) -> "ScriptedCluster":
        self.script.extend(steps)
        return self


@pytest.fixture
def cluster():
    scripted = ScriptedCluster()
    scripted.thread.start()
    yield scripted
    scripted.release.set()
    scripted.server.shutdown()
    scripted.server.server_close()


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials and region, so nothing here can reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "session-token-example",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
