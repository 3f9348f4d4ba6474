"""Per-object run reports, JSON log lines and CloudWatch Embedded Metric Format (EMF) metrics.

Hand-written instead of Powertools (cold start and zip size), with the same behaviour: one JSON
object per stdout line, which CloudWatch Logs stores as one event and, for EMF lines, turns into
metrics (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).

The logger prints exactly the fields it is given. Callers must never pass secrets (passwords,
Authorization headers, secret values); pass names/ids such as the secret id instead.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Literal, TextIO

__all__ = [
    "ObjectReport",
    "log",
    "log_object",
    "set_log_level",
    "emf_lines",
    "emf_line",
    "METRICS",
    "FORMAT_DIMENSION",
]

# continued: the object ran out of time and the rest was handed on (a continuation message)
Status = Literal["ok", "failed", "skipped", "continued"]

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_threshold = _LEVELS["INFO"]


@dataclass
class ObjectReport:
    uri: str  # s3://bucket/key
    format: str | None = None  # "alb", "s3-access"; None when not yet known (e.g. failed before detection)
    status: Status = "ok"
    lines_read: int = 0
    indexed: int = 0  # parsed documents indexed
    failed: int = 0  # failure records (lines that did not parse) indexed
    dead_lettered: int = 0  # anything OpenSearch rejected for good, written to the dead letter
    bytes_read: int = 0  # bytes fetched from S3 (compressed size for .gz)
    seconds: float = 0.0
    error: str | None = None
    dead_letter_uri: str | None = None
    overlong: int = 0  # lines over the length limit: failure records, each whole in the dead letter
    skipped_lines: int = 0  # lines the format says are no records (CloudFront's #Version/#Fields headers)
    warning: str | None = None  # e.g. most lines did not parse: the object is likely not the format taken
    start_line: int = 0  # lines up to it were done by earlier parts (this part resumed after them)
    part: int = 1  # 1 for a read from the start, n for the n-th part of a resumed object
    continuation: dict | None = None  # when time ran out: where the next part resumes (pipeline.Resume fields)
    throttled: int = 0  # items the cluster throttled (429) while this object was sent
    backoff_seconds: float = 0.0  # time spent waiting before retries

    @property
    def resumed(self) -> bool:
        return self.start_line > 0

    @property
    def done_line(self) -> int | None:
        """The last line done when this part stopped early (None when it did not)."""
        return self.continuation["line"] if self.continuation else None

    @property
    def mostly_unparsed(self) -> bool:
        return self.warning is not None

    @property
    def accounted_for(self) -> bool:
        """Every line read ended up indexed, as a failure record, or in the dead letter."""
        return self.indexed + self.failed + self.dead_lettered == self.lines_read

    @property
    def bucket(self) -> str:
        return _split_uri(self.uri)[0]

    @property
    def key(self) -> str:
        return _split_uri(self.uri)[1]


def _split_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):] if uri.startswith("s3://") else uri
    bucket, _, key = rest.partition("/")
    return bucket, key


def set_log_level(level: str) -> None:
    """Drop `log` calls below `level` (one of DEBUG, INFO, WARNING, ERROR, CRITICAL)."""
    global _threshold
    _threshold = _LEVELS[level.upper()]


def log(level: str, message: str, /, stream: TextIO | None = None, **fields: Any) -> None:
    """Print one JSON line: {"level", "message", "timestamp", **fields}.

    Prints only what it is given: never pass secrets. Values that are not JSON types are printed
    with str(); field names that clash with the fixed ones get a "field_" prefix."""
    level = level.upper()
    if _LEVELS.get(level, _LEVELS["INFO"]) < _threshold:
        return
    record: dict[str, Any] = {
        "level": level,
        "message": message,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    for name, value in fields.items():
        record[f"field_{name}" if name in record else name] = value
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    out.flush()


def log_object(report: ObjectReport, stream: TextIO | None = None) -> None:
    """One structured line per object, at ERROR for failures and WARNING when lines are unaccounted for."""
    if report.status == "failed":
        level = "ERROR"
    elif report.status == "continued" or (report.status == "ok" and (not report.accounted_for or report.warning)):
        level = "WARNING"
    else:
        level = "INFO"
    log(
        level,
        f"object {report.status}: {report.uri}",
        stream=stream,
        bucket=report.bucket,
        key=report.key,
        format=report.format,
        lines=report.lines_read,
        indexed=report.indexed,
        failed=report.failed,
        dead_lettered=report.dead_lettered,
        bytes=report.bytes_read,
        seconds=round(report.seconds, 3),
        status=report.status,
        accounted_for=report.accounted_for,
        error=report.error,
        warning=report.warning,
        overlong=report.overlong,
        skipped_lines=report.skipped_lines,
        dead_letter_uri=report.dead_letter_uri,
        start_line=report.start_line,
        done_line=report.done_line,
        part=report.part,
        throttled=report.throttled,
        backoff_seconds=round(report.backoff_seconds, 3),
    )


# Metric name -> CloudWatch unit. All are sums per invocation and log format.
METRICS: dict[str, str] = {
    "Lines": "Count",  # lines read
    "Indexed": "Count",  # parsed documents indexed
    "FailedLines": "Count",  # lines that did not parse, indexed as failure records
    "DeadLettered": "Count",  # items OpenSearch rejected for good, written to the dead letter
    "Bytes": "Bytes",  # bytes fetched from S3
    "ObjectsOk": "Count",
    "ObjectsFailed": "Count",
    "ObjectsSkipped": "Count",
    "ObjectsMostlyUnparsed": "Count",  # objects whose failure share passed MAX_FAILURE_SHARE
    "OverlongLines": "Count",  # lines over MAX_LINE_BYTES (failure records, whole in the dead letter)
    "Seconds": "Seconds",  # time spent on the objects
    "ThrottledItems": "Count",  # items the cluster answered 429 (each time: an item throttled twice counts 2)
    "BackoffSeconds": "Seconds",  # time spent waiting before retries
    "ObjectsResumed": "Count",  # parts of objects that started after the lines an earlier part did
    "ObjectsContinued": "Count",  # objects that ran out of time and whose rest was handed on
}
FORMAT_DIMENSION = "Format"
FUNCTION_DIMENSION = "FunctionName"
UNKNOWN_FORMAT = "unknown"


def emf_lines(
    reports: Iterable[ObjectReport],
    namespace: str,
    function_name: str | None = None,
    *,
    timestamp_ms: int | None = None,
) -> list[str]:
    """One EMF JSON document per log format (an EMF document carries one value per dimension).

    Dimension set: [Format] or, with `function_name`, [FunctionName, Format]. Print each line on
    its own (one log event each). Returns [] when there is nothing to report."""
    totals: dict[str, dict[str, float]] = {}
    for report in reports:
        sums = totals.setdefault(report.format or UNKNOWN_FORMAT, dict.fromkeys(METRICS, 0))
        sums["Lines"] += report.lines_read
        sums["Indexed"] += report.indexed
        sums["FailedLines"] += report.failed
        sums["DeadLettered"] += report.dead_lettered
        sums["Bytes"] += report.bytes_read
        sums["Seconds"] += report.seconds
        sums["ObjectsMostlyUnparsed"] += report.mostly_unparsed
        sums["OverlongLines"] += report.overlong
        sums["ThrottledItems"] += report.throttled
        sums["BackoffSeconds"] += report.backoff_seconds
        sums["ObjectsResumed"] += report.resumed
        sums[{"ok": "ObjectsOk", "failed": "ObjectsFailed", "skipped": "ObjectsSkipped",
              "continued": "ObjectsContinued"}[report.status]] += 1

    if timestamp_ms is None:
        timestamp_ms = int(time.time() * 1000)
    dimensions = [FUNCTION_DIMENSION, FORMAT_DIMENSION] if function_name else [FORMAT_DIMENSION]
    lines = []
    for format_name, sums in sorted(totals.items()):
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [dimensions],
                        "Metrics": [{"Name": name, "Unit": unit} for name, unit in METRICS.items()],
                    }
                ],
            },
            FORMAT_DIMENSION: format_name,
        }
        if function_name:
            document[FUNCTION_DIMENSION] = function_name
        for name, value in sums.items():
            document[name] = round(value, 3) if METRICS[name] == "Seconds" else int(value)
        lines.append(json.dumps(document, separators=(",", ":")))
    return lines


def emf_line(
    reports: Iterable[ObjectReport],
    namespace: str,
    function_name: str | None = None,
    *,
    timestamp_ms: int | None = None,
) -> str:
    """The EMF documents of `emf_lines`, newline-separated (one line per format; "" when none)."""
    return "\n".join(emf_lines(reports, namespace, function_name, timestamp_ms=timestamp_ms))
