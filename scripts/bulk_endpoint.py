#!/usr/bin/env python3
"""A stand-in `_bulk` endpoint on loopback for benchmarks: accepts every item, counts what it received.

It is not a search engine: it stores nothing and answers every `index`/`create` item with 201, in the shape
OpenSearch uses (honouring `filter_path` the way the shipper uses it). Gzip request bodies
(`Content-Encoding: gzip`) are accepted.

    python scripts/bulk_endpoint.py --port 9200        # Ctrl-C prints the counters
    python scripts/bulk_endpoint.py --discard          # read and throw away, count requests (benchmarks)
    python scripts/bulk_endpoint.py --throttle-share 0.7   # answer 70% of the items 429, as a busy cluster
    python scripts/bulk_endpoint.py --discard --latency 0.2   # answer each request 0.2 s late, as a cluster indexing
    curl -s localhost:9200/_stats                       # counters as JSON while it runs

--discard: the body is read into one reused buffer and thrown away unread (not even gunzipped), and the
answer is `{"took":1,"errors":false}`, what a cluster answers to `filter_path=errors` when every item
succeeded; requests and bytes are counted, items are not. On the benchmark's 2 cores the stand-in shares
the CPUs a real cluster would not have: inflating each body (3.5 MB of ALB documents a request) cost it
14 ms of CPU a request, half of it the kernel's work for fresh buffers, as much as the shipper's own
compress-and-send. Discarded, it costs well under a millisecond, so an end-to-end figure measures the
shipper, not the stand-in (`--latency` adds a cluster's indexing time, without its CPU). Without it each action line is parsed and answered item by item.

In-process use (benchmarks, tests):
    with BulkEndpoint() as endpoint:
        sink = OpenSearchSink(endpoint.url, None)
        ...
        endpoint.stats.items
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Stats:
    requests: int = 0
    items: int = 0
    bytes_received: int = 0  # request bodies as sent (compressed when gzip)
    bytes_uncompressed: int = 0
    gzip_requests: int = 0
    throttled: int = 0  # items answered 429 (--throttle-share)


def filter_response(value: Any, paths: list[list[str]]) -> Any:
    """A small subset of OpenSearch `filter_path`: dotted names with `*` for any key; arrays pass through."""
    if isinstance(value, list):
        kept = [filter_response(element, paths) for element in value]
        return [element for element in kept if element is not None]
    if not isinstance(value, dict):
        return value if any(not path for path in paths) else None
    if any(not path for path in paths):
        return value
    result = {}
    for key, child in value.items():
        rest = [path[1:] for path in paths if path and path[0] in ("*", key)]
        if rest:
            filtered = filter_response(child, rest)
            if filtered is not None and filtered != {}:
                result[key] = filtered
    return result or None


def bulk_response(body: bytes, throttle: "Callable[[], bool] | None" = None,
                  indexed: "dict[str, set[str]] | None" = None) -> tuple[dict, int]:
    """The response OpenSearch gives when every action succeeds, and the number of items; `throttle()`
    True answers an item 429 (es_rejected_execution_exception) instead; `indexed` collects _id → indices."""
    items = []
    errors = False
    lines = iter(body.splitlines())
    for line in lines:
        if not line.strip():
            continue
        action_line = json.loads(line)
        action, meta = next(iter(action_line.items()))
        if action in ("index", "create", "update"):
            next(lines, None)  # the document line
        if throttle is not None and throttle():
            errors = True
            items.append({action: {"_index": meta.get("_index", ""), "_id": meta.get("_id", ""), "status": 429,
                                   "error": {"type": "es_rejected_execution_exception",
                                             "reason": "rejected execution of coordinating operation"}}})
            continue
        if indexed is not None:
            indexed.setdefault(meta.get("_id", ""), set()).add(meta.get("_index", ""))
        items.append({action: {
            "_index": meta.get("_index", ""),
            "_id": meta.get("_id", ""),
            "_version": 1,
            "result": "deleted" if action == "delete" else "created",
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": len(items),
            "_primary_term": 1,
            "status": 200 if action == "delete" else 201,
        }})
    return {"took": 1, "errors": errors, "items": items}, len(items)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"  # keep-alive, as a real cluster does
    # TCP_NODELAY, as a real cluster sets it: without it a reply waits on the client's delayed ACK
    # (Nagle), about 40 ms a request on Linux loopback.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: a benchmark sends thousands of requests
        pass

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/_stats":
            with self.server.lock:
                self._reply(200, asdict(self.server.stats))
        elif path == "/":
            self._reply(200, {"name": "bulk-endpoint", "version": {"distribution": "opensearch", "number": "2.19.0"}})
        else:
            self._reply(404, {"error": {"type": "not_found", "reason": f"no handler for {path}"}, "status": 404})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        raw = self._throw_away(length) if self.server.discard else self.rfile.read(length)
        if not (parts.path == "/_bulk" or parts.path.endswith("/_bulk")):
            self._reply(404, {"error": {"type": "not_found", "reason": f"no handler for {parts.path}"}, "status": 404})
            return
        compressed = self.headers.get("Content-Encoding", "").lower() == "gzip"
        if self.server.discard:
            self._answer(parts, {"took": 1, "errors": False}, length, 0, 0, compressed)
            return
        try:
            body = gzip.decompress(raw) if compressed else raw
            with self.server.lock:
                response, count = bulk_response(body, self.server.throttle, self.server.indexed)
                self.server.stats.throttled += sum(
                    1 for item in response["items"] if next(iter(item.values()))["status"] == 429)
        except (OSError, ValueError, StopIteration, AttributeError) as error:
            self._reply(400, {"error": {"type": "parse_exception", "reason": str(error)}, "status": 400})
            return
        self._answer(parts, response, len(raw), count, len(body), compressed)

    def _throw_away(self, length: int) -> None:
        """--discard: read the body into this connection's one buffer, unread (no allocation a request)."""
        buffer = self.__dict__.setdefault("_buffer", memoryview(bytearray(1 << 20)))
        while length > 0:
            read = self.rfile.readinto(buffer[:min(length, len(buffer))])
            if not read:
                break  # the client went away mid-body; the reply fails quietly (handle_error)
            length -= read

    def _answer(self, parts: Any, response: dict, received: int, items: int, uncompressed: int,
                compressed: bool) -> None:
        if self.server.latency:
            time.sleep(self.server.latency)
        with self.server.lock:
            stats = self.server.stats
            stats.requests += 1
            stats.items += items
            stats.bytes_received += received
            stats.bytes_uncompressed += uncompressed
            stats.gzip_requests += compressed
        filter_path = parse_qs(parts.query).get("filter_path")
        if filter_path:
            paths = [path.split(".") for path in filter_path[0].split(",")]
            response = filter_response(response, paths) or {}
        self._reply(200, response)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a client that gave up
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], discard: bool = False, throttle_share: float = 0.0,
                 seed: int = 1, record: bool = False):
        super().__init__(address, _Handler)
        self.discard = discard
        rng = random.Random(seed)
        self.throttle = (lambda: rng.random() < throttle_share) if throttle_share > 0 else None
        self.indexed: dict[str, set[str]] | None = {} if record else None  # _id → indices it was written to
        self.stats = Stats()
        self.lock = threading.Lock()
        self.latency = 0.0  # seconds each bulk answer waits: a cluster's indexing time, without its CPU


class BulkEndpoint:
    """Runs the endpoint in a background thread on loopback; `url` and `stats` while it runs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, discard: bool = False, throttle_share: float = 0.0,
                 seed: int = 1, record: bool = False):
        if host not in LOOPBACK:
            raise ValueError(f"bulk endpoint listens on loopback only, not {host!r}")
        self._server = _Server((host, port), discard, throttle_share, seed, record)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bulk-endpoint", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def stats(self) -> Stats:
        with self._server.lock:
            return Stats(**asdict(self._server.stats))

    @property
    def indexed(self) -> dict[str, set[str]]:
        """_id → the indices it was indexed into (with record=True)."""
        with self._server.lock:
            return {doc_id: set(indices) for doc_id, indices in (self._server.indexed or {}).items()}

    def start(self) -> "BulkEndpoint":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "BulkEndpoint":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _stop_on_signal(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK)
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--throttle-share", type=float, default=0.0,
                        help="answer this share of the items 429 (es_rejected_execution_exception), at random")
    parser.add_argument("--discard", action="store_true",
                        help="read each body and throw it away unread (no gunzip), answer errors:false; counts requests and bytes, not items")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="answer each bulk request this late (a cluster's indexing time)")
    args = parser.parse_args()
    server = _Server((args.host, args.port), args.discard, args.throttle_share)
    server.latency = args.latency
    signal.signal(signal.SIGTERM, _stop_on_signal)  # `kill <pid>` prints the counters too
    print(f"accepting POST /_bulk on http://{args.host}:{server.server_address[1]} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print(json.dumps(asdict(server.stats)))


if __name__ == "__main__":
    main()
