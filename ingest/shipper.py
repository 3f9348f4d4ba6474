"""Sinks for bulk items: OpenSearch `_bulk` (with retries) and NDJSON files (for `curl --data-binary`).

OpenSearchSink retry rules, all bounded by the caller's deadline (a `time.monotonic()` value):
- item status 429 / 5xx, `es_rejected_execution_exception`, and 403 cluster blocks or throttling:
  the item is resent alone (without the items that succeeded), exponential backoff with full jitter;
- other item errors (400 mapper_parsing_exception, 409, …): permanent, returned as Rejections;
- whole request 429 / 5xx / 403 "Request throttled" / timeout / connection error: the request is resent,
  which is safe because every item has a deterministic `_id` and the action is `index`;
- whole request 413: the request is split in halves; a single item still too big is a 413 Rejection;
- any other whole-request error (401, a 403 that is not throttling, 400, 404, TLS failure): BulkRequestError.
When the next wait would end past the deadline, DeadlineExceeded(pending) is raised; when `max_attempts` are
used up, RetriesExhausted (a DeadlineExceeded, so the object is retried as a whole either way).
"""
from __future__ import annotations

import gzip
import logging
import random as _random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import SSLError, TransportError

from .connection import opensearch_client
from .sinks import BulkItem, DeadlineExceeded, Rejection

try:
    from isal import igzip as _igzip
except ImportError:  # pragma: no cover - isal is a pinned dependency; zlib at the same level then
    _igzip = None

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DOCS = 5000
# Bulk bodies are gzip (bytes on the wire cost VPC and cross-AZ traffic). Levels 0-3 are ISA-L's igzip
# (python-isal), 4-9 zlib's. Measured on ALB bodies (scripts/benchmark.py --callgrind): zlib 6 costs twice
# the whole parse in instructions; igzip 1 about a tenth of that for 1.2x the bytes.
DEFAULT_COMPRESS_LEVEL = 1
MAX_ISAL_LEVEL = 3
# Keep only what says which items failed and why; items come back in request order, and keeping
# `status` for every item keeps that order (an item with no kept field would vanish from the array).
BULK_FILTER_PATH = "errors,items.*.status,items.*.error"
RETRYABLE_ITEM_ERROR_TYPES = frozenset({"es_rejected_execution_exception", "rejected_execution_exception"})
MAX_DETAIL_CHARS = 500


class BulkRequestError(Exception):
    """A `_bulk` request failed in a way retrying will not fix (auth, bad request, wrong URL, TLS)."""

    def __init__(self, url: str, status: int | str, detail: str):
        super().__init__(f"POST {url}/_bulk failed: HTTP {status}: {detail}")
        self.url = url
        self.status = status
        self.detail = detail


class RetriesExhausted(DeadlineExceeded):
    """Retryable failures persisted through `max_attempts` tries; the object must be retried later.
    `unreachable`: the last failure was a connection failure (nothing answered)."""

    def __init__(self, pending: int, last_failure: str, attempts: int = 0, unreachable: bool = False):
        super().__init__(pending)
        self.args = (f"{pending} items still unsent after {attempts} attempts: {last_failure}",)
        self.last_failure = last_failure
        self.attempts = attempts
        self.unreachable = unreachable


@dataclass
class ShipperStats:
    requests: int = 0  # HTTP requests sent, retries included
    retried_requests: int = 0  # whole requests resent after 429/5xx/timeout/connection errors
    retried_items: int = 0  # items resent alone after an item-level 429/5xx
    split_requests: int = 0  # 413s answered by splitting
    bytes_uncompressed: int = 0
    bytes_sent: int = 0  # gzip-compressed bytes on the wire (bodies only)


class OpenSearchSink:
    """Index bulk items into OpenSearch over `_bulk`, gzip-compressed, retrying what can be retried.

    `url` is the endpoint (https://… for AWS; no credentials in it), `auth` what ingest.auth.build_auth returns.
    `max_bytes`/`max_docs` bound each request's uncompressed body and item count. TLS certificates are verified
    against the system bundle, or `ca_certs`; note that `requests` lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
    override `ca_certs` when set. `sleep`, `random` and `clock` are injectable for tests. `stats` counts
    requests, retries and bytes for metrics.
    """

    def __init__(
        self,
        url: str,
        auth: Any = None,
        *,
        timeout: float = 30,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_docs: int = DEFAULT_MAX_DOCS,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        max_attempts: int = 10,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = _check_url(url)
        if max_bytes < 1 or max_docs < 1 or max_attempts < 1:
            raise ValueError("max_bytes, max_docs and max_attempts must be at least 1")
        if not 0 <= compress_level <= 9:
            raise ValueError(f"compress_level must be 0-3 (igzip) or 4-9 (zlib), got {compress_level}")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_docs = max_docs
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.compress_level = compress_level
        self._sleep, self._random, self._clock = sleep, random, clock
        self.stats = ShipperStats()
        # We gzip the body ourselves (http_compress=False): opensearch-py's built-in compression is zlib
        # level 9, many times the CPU of igzip level 1 (compress_body). The body is compressed before the
        # auth hook runs, so SigV4 signs the bytes actually sent either way.
        # max_retries=0: the transport's own retries are immediate (no backoff) and skip 429; we retry here.
        # ca_certs, when given, is pinned: REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE cannot replace it.
        self._client = opensearch_client(
            self.url,
            auth,
            verify_certs=verify_certs,
            ca_bundle=ca_certs,
            http_compress=False,
            max_retries=0,
            retry_on_timeout=False,
            timeout=timeout,
        )

    # -- Sink -------------------------------------------------------------------------------------

    def send(self, items: Sequence[BulkItem], deadline: float) -> list[Rejection]:
        rejections: list[Rejection] = []
        queue = list(_chunks(items, self.max_bytes, self.max_docs))
        queue.reverse()  # used as a stack: pop() takes the next batch, 413 halves are pushed back on top
        unsent = len(items)
        while queue:
            batch = queue.pop()
            rejected, halves = self._deliver(batch, deadline, queued=unsent - len(batch))
            rejections.extend(rejected)
            queue.extend(reversed(halves))
            unsent -= len(batch) - sum(len(half) for half in halves)
        return rejections

    def close(self) -> None:
        self._client.close()

    # -- one batch --------------------------------------------------------------------------------

    def _deliver(
        self, batch: list[BulkItem], deadline: float, queued: int
    ) -> tuple[list[Rejection], list[list[BulkItem]]]:
        """Send `batch` until each item is indexed or rejected for good.

        Returns the rejections and, when the cluster answered 413, the two halves to send instead.
        `queued` is how many items wait behind this batch; they count as pending if time runs out."""
        rejections: list[Rejection] = []
        pending = batch
        attempt = 0
        while True:
            if self._clock() >= deadline:
                raise DeadlineExceeded(len(pending) + queued)
            try:
                response = self._post(pending, deadline)
            except TransportError as error:
                status = error.status_code
                if status == 413:
                    too_large, halves = self._split_too_large(pending)
                    return rejections + too_large, halves
                if not _request_error_is_retryable(error):
                    raise BulkRequestError(self.url, status, _error_detail(error, self.url)) from None
                unreachable = isinstance(error, TransportConnectionError)
                if unreachable:
                    last_failure = _error_detail(error, self.url)
                else:
                    last_failure = f"HTTP {status}: {_error_detail(error, self.url)}"
                self.stats.retried_requests += 1
            else:
                retry, rejected = _read_items(pending, response, self.url)
                rejections.extend(rejected)
                if not retry:
                    return rejections, []
                last_failure = f"item status {sorted({status for _, status in retry})}"
                unreachable = False
                pending = [item for item, _ in retry]
                self.stats.retried_items += len(pending)
            attempt += 1
            if attempt >= self.max_attempts:
                raise RetriesExhausted(len(pending) + queued, last_failure, attempt, unreachable)
            # Full jitter: a random wait in [0, base * 2^attempt), capped, so throttled clients spread out.
            delay = self._random() * min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
            if self._clock() + delay >= deadline:
                raise DeadlineExceeded(len(pending) + queued)
            log.warning("retrying %d items in %.1f s (attempt %d of %d): %s", len(pending), delay, attempt + 1,
                        self.max_attempts, last_failure)
            self._sleep(delay)

    def _split_too_large(self, pending: list[BulkItem]) -> tuple[list[Rejection], list[list[BulkItem]]]:
        if len(pending) == 1:
            size = len(pending[0].body)
            return [Rejection(pending[0], 413, f"request_too_large: a single item of {size} bytes is over "
                                               f"the cluster's HTTP payload limit")], []
        self.stats.split_requests += 1
        middle = len(pending) // 2
        return [], [pending[:middle], pending[middle:]]

    def _post(self, pending: list[BulkItem], deadline: float) -> Any:
        body = b"".join(item.body for item in pending)
        compressed = compress_body(body, self.compress_level)
        self.stats.requests += 1
        self.stats.bytes_uncompressed += len(body)
        self.stats.bytes_sent += len(compressed)
        # Never wait on a response past the deadline; a timed-out request is retried or reported as pending.
        timeout = max(0.001, min(self.timeout, deadline - self._clock()))
        return self._client.transport.perform_request(
            "POST",
            "/_bulk",
            params={"filter_path": BULK_FILTER_PATH},
            body=compressed,
            headers={
                "content-type": "application/x-ndjson",
                "content-encoding": "gzip",
                "accept-encoding": "gzip",
            },
            timeout=timeout,
        )


def compress_body(body: bytes, level: int) -> bytes:
    """The gzip bytes a bulk request carries: igzip for levels 0-3, zlib for 4-9."""
    if level <= MAX_ISAL_LEVEL and _igzip is not None:
        return _igzip.compress(body, compresslevel=level, mtime=0)
    return gzip.compress(body, compresslevel=max(level, 1), mtime=0)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"OpenSearch URL must be http(s)://host[:port], got {url!r}")
    if parts.username or parts.password:
        # Credentials in the URL would end up in logs and exception texts.
        raise ValueError("OpenSearch URL must not contain credentials; use basic auth from Secrets Manager")
    if parts.query or parts.fragment:
        raise ValueError(f"OpenSearch URL must not have a query or fragment: {url!r}")
    return url.rstrip("/")


def _chunks(items: Iterable[BulkItem], max_bytes: int, max_docs: int) -> Iterator[list[BulkItem]]:
    """Consecutive batches of at most max_docs items and max_bytes body bytes (an oversized item goes alone)."""
    batch: list[BulkItem] = []
    size = 0
    for item in items:
        length = len(item.body)
        if batch and (size + length > max_bytes or len(batch) >= max_docs):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    if batch:
        yield batch


def _request_error_is_retryable(error: TransportError) -> bool:
    if isinstance(error, SSLError):
        return False  # a certificate problem does not fix itself
    if isinstance(error, TransportConnectionError):
        return True  # timeouts and connection failures
    status = error.status_code
    if status == 429 or (isinstance(status, int) and status >= 500):
        return True
    # Amazon OpenSearch Service also throttles with "403 Request throttled due to too many requests".
    return status == 403 and "throttl" in _error_detail(error).lower()


# What a person can act on, for the connection failures urllib3 wraps in long texts.
_CONNECTION_CAUSES = (
    ("Connection refused", "connection refused at {url}; is the cluster up, is the URL right?"),
    ("Failed to resolve", "cannot resolve the host of {url}; is the URL right?"),
    ("Name or service not known", "cannot resolve the host of {url}; is the URL right?"),
    ("timed out", "no answer from {url} in time; is the cluster overloaded or the network blocked?"),
    ("Read timed out", "no answer from {url} in time; is the cluster overloaded?"),
    ("Connection reset", "the connection to {url} was reset"),
    ("Network is unreachable", "network unreachable for {url}; is the network (VPC, proxy) set up?"),
    ("No route to host", "no route to {url}; is the network (VPC, security group) set up?"),
)


def _connection_cause(error: TransportConnectionError, url: str) -> str:
    text = str(error.error)
    for marker, cause in _CONNECTION_CAUSES:
        if marker in text:
            return cause.format(url=url)
    return f"{type(error).__name__}: {text}"


def _error_detail(error: TransportError, url: str = "the cluster") -> str:
    info = error.info
    if isinstance(error, TransportConnectionError):
        detail = _connection_cause(error, url)
    elif isinstance(info, dict) and isinstance(info.get("error"), dict):
        detail = _describe_error(info["error"])
    elif isinstance(info, dict) and "message" in info:
        detail = str(info["message"])
    elif info is not None:
        detail = str(info)
    else:
        detail = str(error.error)
    return detail[:MAX_DETAIL_CHARS]


def _describe_error(error: Any) -> str:
    """`type: reason`, plus the cause when there is one (mapper_parsing_exception hides the useful part there)."""
    if not isinstance(error, dict):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    if isinstance(cause, dict) and cause.get("reason"):
        text += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
    return text


def _read_items(
    sent: list[BulkItem], response: Any, url: str
) -> tuple[list[tuple[BulkItem, int]], list[Rejection]]:
    """Split the items of a 2xx bulk response into (to retry, with status) and permanent rejections."""
    if not isinstance(response, dict):
        raise BulkRequestError(url, 200, f"unexpected bulk response: {str(response)[:200]!r}")
    if response.get("errors") is False:
        return [], []
    results = response.get("items")
    if not isinstance(results, list) or len(results) != len(sent):
        got = len(results) if isinstance(results, list) else "no"
        raise BulkRequestError(url, 200, f"bulk response has {got} items for {len(sent)} sent")
    retry: list[tuple[BulkItem, int]] = []
    rejected: list[Rejection] = []
    for item, result in zip(sent, results):
        outcome = next(iter(result.values())) if isinstance(result, dict) and result else {}
        status = outcome.get("status", 0)
        if 200 <= status < 300:
            continue
        error = outcome.get("error")
        if _item_is_retryable(status, error):
            retry.append((item, status))
        else:
            rejected.append(Rejection(item, status, _describe_error(error) if error else f"HTTP {status}"))
    return retry, rejected


def _item_is_retryable(status: int, error: Any) -> bool:
    if status == 429 or status >= 500:
        return True
    error_type = error.get("type", "") if isinstance(error, dict) else ""
    if error_type in RETRYABLE_ITEM_ERROR_TYPES:
        return True
    if status == 403:
        # cluster_block_exception: index read-only because the disk filled up; clears when space is freed.
        reason = str(error.get("reason", "")) if isinstance(error, dict) else str(error)
        return error_type == "cluster_block_exception" or "throttl" in reason.lower()
    return False


class NdjsonFileSink:
    """Write bulk bodies into `bulk-000001.ndjson`, `bulk-000002.ndjson`, … in `directory`.

    Each file is at most `max_bytes` (an item bigger than that gets a file to itself) and ends at an item
    boundary, so it can be sent as-is:
        curl -H 'Content-Type: application/x-ndjson' --data-binary @bulk-000001.ndjson "$URL/_bulk"
    Numbering starts at 1 on every run and leftover `bulk-NNNNNN.ndjson` files from an earlier run are
    removed, so the same input always gives the same files.
    """

    FILE_PATTERN = re.compile(r"bulk-\d{6}\.ndjson")

    def __init__(self, directory: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, max_docs: int = DEFAULT_MAX_DOCS):
        if max_bytes < 1 or max_docs < 1:
            raise ValueError("max_bytes and max_docs must be at least 1")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_docs = max_docs
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.iterdir():
            if self.FILE_PATTERN.fullmatch(old.name) and old.is_file():
                old.unlink()
        self.files: list[Path] = []
        self.items_written = 0
        self._file = None
        self._size = 0
        self._count = 0

    def send(self, items: Sequence[BulkItem], deadline: float) -> list[Rejection]:
        for item in items:
            length = len(item.body)
            if self._file is None or (
                self._count and (self._size + length > self.max_bytes or self._count >= self.max_docs)
            ):
                self._next_file()
            self._file.write(item.body)
            self._size += length
            self._count += 1
            self.items_written += 1
        return []

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _next_file(self) -> None:
        self.close()
        path = self.directory / f"bulk-{len(self.files) + 1:06d}.ndjson"
        self._file = open(path, "wb")
        self.files.append(path)
        self._size = 0
        self._count = 0
