"""Log formats: one module per format behind the `LogFormat` interface, and detection.

Adding a format: write `ingest/formats/<name>.py` with an object implementing `LogFormat` that
declares its `fields` (ingest/formats/fields.py), add it to FORMATS below (at the end: the order
sets template priorities), run `python opensearch/templates/build.py` (its component and index
templates, retention policy and docs/documents.md table), add its AWS documentation examples as
tests/formats/data/<name>_doc_examples.log, its dashboard to opensearch/dashboards/build.py, and
give it tests. The settings, command-line flags and bootstrap pick it up from FORMATS.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .alb import ALB
from .alb_connection import ALB_CONNECTION
from .alb_health_check import ALB_HEALTH_CHECK
from .base import LogFormat, ParseError, SkipLine, possible_time
from .clb import CLB
from .cloudfront import CLOUDFRONT
from .nlb import NLB
from .s3access import S3_ACCESS

FORMATS: dict[str, LogFormat] = {
    f.name: f for f in (ALB, S3_ACCESS, NLB, CLB, ALB_CONNECTION, ALB_HEALTH_CHECK, CLOUDFRONT)}

__all__ = ["FORMATS", "LogFormat", "ParseError", "SkipLine", "Unsupported", "detect", "KeyInfo", "key_info"]


class Unsupported(ValueError):
    """An object we recognise but do not parse (e.g. an ALB connection log), or cannot recognise."""


# Other log types AWS writes into the same `AWSLogs/<account>/elasticloadbalancing/` tree: they
# must not be mistaken for ALB access logs.
_ELB_SIBLINGS: list[tuple[re.Pattern[str], str]] = []  # every ELB log type is a format now
_LINE_SIBLINGS: list[tuple[re.Pattern[str], str]] = []


# Log objects we recognise by their key and do not read as lines.
_NOT_LINES = [
    (re.compile(r"(?:^|/)E[0-9A-Z]{5,20}\.\d{4}-\d\d-\d\d-\d\d\.[^/]*\.parquet(?:\.gz)?\Z"),
     "CloudFront standard logging (v2) in Parquet: columnar, not lines; choose JSON or W3C output"),
]


def detect(key: str, first_line: str | None = None) -> LogFormat:
    """The format of an object, from its key (AWS's naming), else from its first line.

    Raises Unsupported, naming what the object is when we know."""
    for pattern, what in _NOT_LINES:
        if pattern.search(key):
            raise Unsupported(f"{what}: not supported")
    for fmt in FORMATS.values():
        if fmt.key_matches(key):
            return fmt
    for pattern, what in _ELB_SIBLINGS:
        if pattern.search(key):
            raise Unsupported(f"{what} (not an ALB access log): not supported")
    if first_line:
        for fmt in FORMATS.values():
            if fmt.line_matches(first_line):
                return fmt
        for pattern, what in _LINE_SIBLINGS:
            if pattern.match(first_line):
                raise Unsupported(f"the first line looks like {what}: not supported")
    raise Unsupported("neither the key nor the first line look like an ALB access log or an S3 server access log")


@dataclass(frozen=True)
class KeyInfo:
    """What AWS's object naming tells: account, region, and a time for records that have none."""

    account: str | None = None
    region: str | None = None
    time: str | None = None  # ISO 8601 UTC


_ALB_KEY = re.compile(
    r"AWSLogs/(\d{12})/elasticloadbalancing/([^/]+)/\d{4}/\d\d/\d\d/[^/]*_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)Z_[^/]*\Z")
_S3_PARTITIONED_KEY = re.compile(r"(?:^|/)(\d{12})/([a-z]{2}(?:-[a-z]+)+-\d+)/[^/]+/\d{4}/\d\d/\d\d/[^/]*\Z")
_S3_KEY_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-[0-9A-Za-z]+\Z")


_AWSLOGS_ACCOUNT = re.compile(r"(?:^|/)AWSLogs/(?:aws-account-id=)?(\d{12})/")


def key_info(key: str) -> KeyInfo:
    m = _ALB_KEY.search(key)
    if m:
        account, region, y, mo, d, h, mi = m.groups()
        return KeyInfo(account, region, _possible(f"{y}-{mo}-{d}T{h}:{mi}:00Z"))
    cloudfront_time = CLOUDFRONT.key_time(key)
    if cloudfront_time is not None:  # CloudFront is global: no region; v2's AWSLogs/ paths name the account
        m = _AWSLOGS_ACCOUNT.search(key)
        return KeyInfo(m.group(1) if m else None, None, _possible(cloudfront_time))
    account = region = time = None
    m = _S3_PARTITIONED_KEY.search(key)
    if m:
        account, region = m.groups()
    m = _S3_KEY_TIME.search(key)
    if m:
        y, mo, d, h, mi, s = m.groups()
        time = _possible(f"{y}-{mo}-{d}T{h}:{mi}:{s}Z")
    return KeyInfo(account, region, time)


def _possible(time: str) -> str | None:
    """The key's time, or None when it names no real instant (it would make an index like …2026.13.45)."""
    return time if possible_time(time) else None
