"""Sinks for bulk items: OpenSearch `_bulk` (with retries) and NDJSON files (for `curl --data-binary`).

OpenSearchSink retry rules, bounded by time, never by a count of attempts:
- item status 429 / 5xx, `es_rejected_execution_exception`, and 403 cluster blocks or throttling:
  the item is resent (without the items that succeeded), at the head of the next request;
- other item errors (400 mapper_parsing_exception, 409, …): permanent, returned as Rejections;
- whole request 429 / 5xx / 403 "Request throttled" / timeout / connection error, or a 200 whose body is
  not a bulk response (an HTML page from a proxy or load balancer): the request is resent, which is safe
  because every item has a deterministic `_id` and the action is `index`;
- whole request 413: the request is split in halves; a single item still too big is a 413 Rejection;
- any other whole-request error (401, a 403 that is not throttling, 400, 404, TLS failure): BulkRequestError.

Waits and request sizes follow what gets through. A request that indexed some items is no stall, even if
most were throttled (at 95% throttling a full-size request still indexes ~5%: shrinking it or backing off
exponentially would only slow the object down): a short jittered pause follows, up to `backoff_base` for a
full-size request and proportionally less for a smaller one (down to 15%), and the requests grow back
by an eighth of the full size. A request that indexed nothing is a stall when it failed as a whole, or when
nothing getting through was unlikely (1%) at the share of items the cluster has been taking, over
the items sent since something was last indexed (so a single item at 95% gets ~90 tries at short pauses).
Each stall in a row doubles the backoff window (full jitter, `backoff_base` up to `backoff_cap`) and halves
the requests (down to `min_request_share` of `max_docs`/`max_bytes`): under sustained "nothing got through"
the cluster sees fewer and smaller requests. That share and the request size are kept across `send`
calls; the stall count starts afresh with each (each object). A wait is never less than a `Retry-After`
the cluster sends; a wait that would pass the deadline is shortened to leave time for a last request,
if that still fits.

Retries go on until the caller's deadline (a `time.monotonic()` value: DeadlineExceeded, with the unsent
items and the cause) or, with `retry_for`, until nothing at all has been indexed for that long
(RetriesExhausted, a DeadlineExceeded). Either way the caller knows which items were not sent, and why.
"""
from __future__ import annotations

import gzip
import logging
import math
import random as _random
import re
import time
from collections import deque
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import SerializationError, SSLError, TransportError

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
DEFAULT_MIN_REQUEST_SHARE = 0.25  # the smallest request under throttling, as a share of max_docs/max_bytes
REQUEST_SHARE_STEP = 0.125  # what each request that indexed something adds back
# A request that indexed nothing is a stall when, at the share of items the cluster has been taking, that
# had at most a 1% chance (e^-4.6) over the items sent since something was last indexed. (At 95% throttling
# an object's last item needs up to ~90 tries; an object whose part settles nothing is not handed on.)
STALL_EVIDENCE = 4.6
MIN_PAUSE_SHARE = 0.15  # of backoff_base: the pause window after a small request that was no stall (~35 ms on average)
MIN_LAST_REQUEST_SECONDS = 0.05  # kept for a last request before the deadline (or twice the last one's time)


class BulkRequestError(Exception):
    """A `_bulk` request failed in a way retrying will not fix (auth, bad request, wrong URL, TLS)."""

    def __init__(self, url: str, status: int | str, detail: str):
        super().__init__(f"POST {url}/_bulk failed: HTTP {status}: {detail}")
        self.url = url
        self.status = status
        self.detail = detail


class RetriesExhausted(DeadlineExceeded):
    """Nothing could be indexed for `retry_for` seconds; the rest of the object must be sent later.
    `unreachable`: the last failure was a connection failure (nothing answered)."""

    def __init__(self, pending: int, last_failure: str, attempts: int = 0, unreachable: bool = False,
                 seconds: float = 0.0, unsent: Sequence[BulkItem] | None = None, rejected: Sequence[Rejection] = ()):
        super().__init__(pending, last_failure, unsent, rejected)
        self.args = (f"{pending} items still unsent after {attempts} attempts in {duration(seconds)}: {last_failure}",)
        self.last_failure = last_failure
        self.attempts = attempts
        self.unreachable = unreachable
        self.seconds = seconds


class _NotBulkResponse(Exception):
    """A 2xx answer that is not a bulk response: a proxy's or load balancer's page, most likely."""


@dataclass
class ShipperStats:
    requests: int = 0  # HTTP requests sent, retries included
    retried_requests: int = 0  # whole requests resent after 429/5xx/timeout/connection errors
    retried_items: int = 0  # items resent after an item-level 429/5xx
    throttled_items: int = 0  # items answered 429 (or throttled with 403), alone or with their whole request
    backoff_seconds: float = 0.0  # time spent waiting before retries
    split_requests: int = 0  # 413s answered by splitting
    bytes_uncompressed: int = 0
    bytes_sent: int = 0  # gzip-compressed bytes on the wire (bodies only)


def duration(seconds: float) -> str:
    """'12 s', '4 min', '4 min 10 s', '1 h 5 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


class OpenSearchSink:
    """Index bulk items into OpenSearch over `_bulk`, gzip-compressed, retrying what can be retried.

    `url` is the endpoint (https://… for AWS; no credentials in it), `auth` what ingest.auth.build_auth returns.
    `max_bytes`/`max_docs` bound each request's uncompressed body and item count (under throttling the sink
    sends smaller requests, down to `min_request_share` of them). `retry_for`: give up (RetriesExhausted) when
    nothing has been indexed for that many seconds; None: retry until the deadline passed to `send`.
    TLS certificates are verified against the system bundle, or `ca_certs`; note that `requests` lets
    REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override `ca_certs` when set. `sleep`, `random` and `clock` are
    injectable for tests. `stats` counts requests, retries, throttled items, waits and bytes for metrics.
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
        retry_for: float | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        min_request_share: float = DEFAULT_MIN_REQUEST_SHARE,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = _check_url(url)
        if max_bytes < 1 or max_docs < 1:
            raise ValueError("max_bytes and max_docs must be at least 1")
        if retry_for is not None and retry_for < 0:
            raise ValueError("retry_for must be at least 0 seconds")
        if not 0 < min_request_share <= 1:
            raise ValueError("min_request_share must be above 0 and at most 1")
        if not 0 <= compress_level <= 9:
            raise ValueError(f"compress_level must be 0-3 (igzip) or 4-9 (zlib), got {compress_level}")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_docs = max_docs
        self.retry_for = retry_for
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.min_request_share = min_request_share
        self.compress_level = compress_level
        self._sleep, self._random, self._clock = sleep, random, clock
        self.stats = ShipperStats()
        self._stalls = 0  # stalls in a row (see _judge) in this send
        self._blind = 0  # items sent in this send since the last request that settled any
        self._taken = (0.0, 0.0)  # (items settled, items sent), decaying, across sends: the share the cluster takes
        self._request_seconds = 0.0  # how long the last request took
        self._joined: tuple[list[BulkItem], bytes] | None = None  # (the batch _take took whole, its body)
        self._cut_short = False  # the last request's timeout was shortened to end at the deadline
        self.request_share = 1.0  # the size of the next request, as a share of max_docs/max_bytes (AIMD)
        self._trouble: tuple[str, float] | None = None  # (last failure, since when) until a request goes through
        self._retry_after: float | None = None  # from the last response's Retry-After header
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
        for connection in getattr(self._client.transport.connection_pool, "connections", []):
            session = getattr(connection, "session", None)
            if session is not None:
                session.hooks["response"].append(self._remember_retry_after)

    # -- Sink -------------------------------------------------------------------------------------

    def send(self, items: Sequence[BulkItem], deadline: float) -> list[Rejection]:
        """Index `items`; return the rejected ones. Requests take the earliest items still to send
        (throttled items go back to the head), so what is left unsent is always the latest part."""
        rejections: list[Rejection] = []
        pending: deque[BulkItem] = deque(items)
        halves: list[list[BulkItem]] = []  # after a 413: requests sent exactly as split (a stack)
        attempts = 0  # requests since something was last indexed
        # Each object starts the backoff afresh (the share the cluster takes is remembered): carried over,
        # one object's unlucky tail put the next ones straight into long waits, and at 95% throttling an
        # object with a few items left then got two or three tries in its share of the invocation.
        self._stalls = self._blind = 0
        progress_at = self._clock()  # when an item was last indexed or rejected for good (or the start)
        while halves or pending:
            batch = halves.pop() if halves else self._take(pending)
            if self._clock() >= deadline:
                unsent = [*batch, *(item for half in reversed(halves) for item in half), *pending]
                raise DeadlineExceeded(len(unsent), self.cause(), unsent, rejections)
            attempts += 1
            started = self._clock()
            retry, settled, answered, unreachable = self._attempt(batch, rejections, halves, deadline)
            self._request_seconds = max(0.0, self._clock() - started)
            if settled:
                progress_at, attempts = self._clock(), 0
            if retry is None:  # answered in full, or split after a 413
                if settled:
                    self._judge(len(batch), settled, answered=True)
                continue
            pending.extendleft(reversed(retry))
            stalled = self._judge(len(batch), settled, answered)
            self._wait(batch, stalled, deadline, progress_at, attempts, unreachable,
                       lambda: [*(item for half in reversed(halves) for item in half), *pending], rejections)
        return rejections

    def cause(self) -> str | None:
        """Why items are not getting through, e.g. "items throttled (429) for 4 min"; None when the last
        request went through."""
        if self._trouble is None:
            return None
        failure, since = self._trouble
        return f"{failure} for {duration(self._clock() - since)}"

    def close(self) -> None:
        self._client.close()

    # -- one request ------------------------------------------------------------------------------

    def _take(self, pending: deque[BulkItem]) -> list[BulkItem]:
        """The next request: the first pending items, up to the current request size."""
        max_docs = max(1, int(self.max_docs * self.request_share))
        max_bytes = max(1, int(self.max_bytes * self.request_share))
        if len(pending) <= max_docs:
            # The usual case: the pipeline hands over one request's worth. One join, kept for _post, instead
            # of a walk item by item (the background sender holds the GIL for it while the parse waits).
            body = b"".join([item.body for item in pending])
            if len(body) <= max_bytes:
                batch = list(pending)
                pending.clear()
                self._joined = (batch, body)
                return batch
        item = pending.popleft()
        batch, size = [item], len(item.body)
        while pending and len(batch) < max_docs and size + len(pending[0].body) <= max_bytes:
            item = pending.popleft()
            batch.append(item)
            size += len(item.body)
        return batch

    def _attempt(self, batch: list[BulkItem], rejections: list[Rejection], halves: list[list[BulkItem]],
                 deadline: float) -> tuple[list[BulkItem] | None, int, bool, bool]:
        """Send `batch` once: (items to retry or None, items settled, answered item by item?, unreachable?)."""
        self._retry_after = None
        try:
            response = self._post(batch, deadline)
            retry, rejected = _read_items(batch, response, self.url)
        except TransportError as error:
            status = error.status_code
            if status == 413:
                too_large = self._split_too_large(batch, halves)
                rejections.extend(too_large)
                return None, len(too_large), True, False
            if not _request_error_is_retryable(error):
                raise BulkRequestError(self.url, status, _error_detail(error, self.url)) from None
            unreachable = isinstance(error, TransportConnectionError)
            if unreachable:
                failure = _error_detail(error, self.url)
            else:
                failure = f"HTTP {status}: {_error_detail(error, self.url)}"
            throttled = status == 429 or (status == 403 and "throttl" in failure.lower())
            self.stats.retried_requests += 1
            self.stats.throttled_items += len(batch) if throttled else 0
            if not (unreachable and self._cut_short and self._trouble is not None):
                self._troubled(failure)  # (a last request cut short by the deadline keeps the cause before it)
            return batch, 0, False, unreachable
        except (SerializationError, _NotBulkResponse) as error:
            self.stats.retried_requests += 1
            self._troubled(f"HTTP 200 with a body that is not a bulk response ({_not_bulk_detail(error)}); "
                           "a proxy or load balancer page?")
            return batch, 0, False, False
        rejections.extend(rejected)
        settled = len(batch) - len(retry)
        if not retry:
            self._trouble = None
            return None, settled, True, False
        statuses = sorted({status for _, status in retry})
        throttled = sum(1 for _, status in retry if status == 429 or status == 403)
        self.stats.throttled_items += throttled
        self.stats.retried_items += len(retry)
        self._troubled("items throttled (429)" if statuses == [429] else f"items answered HTTP {statuses}")
        return [item for item, _ in retry], settled, True, False

    def _troubled(self, failure: str) -> None:
        since = self._trouble[1] if self._trouble is not None else self._clock()
        self._trouble = (failure, since)

    def _judge(self, sent: int, settled: int, answered: bool) -> bool:
        """Take in a request's outcome; True when it counts as a stall: the backoff window doubles and the
        requests shrink (AIMD) only then. A request that settled something grows the requests back.

        A request answered item by item that indexed nothing is a stall only when that is unlikely at the
        share of items the cluster has been taking (kept across objects, updated when something goes
        through): at 95% throttling a request of 1,250 items always gets some through, one of a single
        item mostly does not and says nothing new; ~90 such items in a row without one indexed do (within one
        send: each object starts afresh). A
        request that failed as a whole (429, 5xx, timeout, not a bulk response) is always a stall."""
        if settled:
            items = self._blind + sent
            keep = 0.5 ** (items / self.max_docs)  # the estimate remembers about one full request's worth
            self._taken = (self._taken[0] * keep + settled, self._taken[1] * keep + items)
            self._blind = self._stalls = 0
            self.request_share = min(1.0, self.request_share + REQUEST_SHARE_STEP)
            return False
        self._blind += sent
        share = self._taken[0] / self._taken[1] if self._taken[1] else 1.0
        if answered and share < 1.0 and self._blind * -math.log1p(-share) < STALL_EVIDENCE:
            return False  # bad luck with a small request, most likely: pause as after a partial success
        self._stalls += 1
        self.request_share = max(self.min_request_share, self.request_share / 2)
        return True

    def _wait(self, batch: list[BulkItem], stalled: bool, deadline: float, progress_at: float, attempts: int,
              unreachable: bool, unsent: Callable[[], list[BulkItem]], rejections: list[Rejection]) -> None:
        """Wait before the next request, or raise when even a shortened wait would leave no time for one more
        request before the deadline, or the wait would pass `retry_for`."""
        # Full jitter: a random wait in [0, window), so throttled clients spread out. After a stall the window
        # doubles with each stall in a row; otherwise it is `backoff_base` for a full-size request and less
        # for a smaller one (down to MIN_PAUSE_SHARE of it), so the items offered per second stay about the same.
        if stalled:
            window = min(self.backoff_cap, self.backoff_base * 2 ** max(0, self._stalls - 1))
        else:
            window = self.backoff_base * max(MIN_PAUSE_SHARE, self._size_share(batch))
        delay = self._random() * window
        if self._retry_after is not None:
            delay = max(delay, self._retry_after)
        now = self._clock()
        failure = self._trouble[0] if self._trouble else "?"
        if self.retry_for is not None and now + delay - progress_at > self.retry_for and now + delay < deadline:
            items = unsent()
            raise RetriesExhausted(len(items), failure, attempts, unreachable, now - progress_at, items, rejections)
        if now + delay >= deadline:
            # The last attempt before the deadline instead of giving up early: wait what leaves time for one
            # more request (never less than a Retry-After the cluster asked for).
            last = deadline - now - max(MIN_LAST_REQUEST_SECONDS, 2 * self._request_seconds)
            if last <= 0 or (self._retry_after is not None and last < self._retry_after):
                items = unsent()
                raise DeadlineExceeded(len(items), self.cause(), items, rejections)
            delay = last
        log.warning("retrying %d items in %.1f s (%s): %s", len(unsent()), delay,
                    f"attempt {attempts + 1}" + (f", nothing indexed for {duration(now - progress_at)}"
                                                  if attempts > 1 else ""), failure)
        self.stats.backoff_seconds += delay
        self._sleep(delay)

    def _size_share(self, batch: list[BulkItem]) -> float:
        """How much of a full-size request `batch` was."""
        return min(1.0, max(len(batch) / self.max_docs, sum(len(item.body) for item in batch) / self.max_bytes))

    def _split_too_large(self, pending: list[BulkItem], halves: list[list[BulkItem]]) -> list[Rejection]:
        if len(pending) == 1:
            size = len(pending[0].body)
            return [Rejection(pending[0], 413, f"request_too_large: a single item of {size} bytes is over "
                                               f"the cluster's HTTP payload limit")]
        self.stats.split_requests += 1
        middle = len(pending) // 2
        halves.extend([pending[middle:], pending[:middle]])
        return []

    def _remember_retry_after(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._retry_after = _retry_after_seconds(response.headers.get("Retry-After"))

    def _post(self, pending: list[BulkItem], deadline: float) -> Any:
        joined, self._joined = self._joined, None
        body = joined[1] if joined is not None and joined[0] is pending else b"".join([item.body for item in pending])
        compressed = compress_body(body, self.compress_level)
        self.stats.requests += 1
        self.stats.bytes_uncompressed += len(body)
        self.stats.bytes_sent += len(compressed)
        # Never wait on a response past the deadline; a timed-out request is retried or reported as pending.
        timeout = max(0.001, min(self.timeout, deadline - self._clock()))
        self._cut_short = timeout < self.timeout
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


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _not_bulk_detail(error: Exception) -> str:
    text = str(error.args[0] if isinstance(error, SerializationError) and error.args else error)
    return text[:200]


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
    # Connected and no answer first: the plain "timed out" of a connect timeout matches both.
    ("Read timed out", "no answer from {url} in time; is the cluster overloaded?"),
    ("timed out", "no answer from {url} in time; is the cluster overloaded or the network blocked?"),
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
    if not isinstance(response, dict) or not ("errors" in response or "items" in response):
        raise _NotBulkResponse(f"unexpected answer: {str(response)[:120]!r}")
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
