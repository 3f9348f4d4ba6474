"""Amazon CloudFront standard logs (access logs): legacy, and standard logging (v2) delivered to S3.

W3C files (legacy, and v2's W3C output): tab-separated values, two header lines first
(`#Version: 1.0`, `#Fields: date time x-edge-location …`); the `#Fields` header names the columns,
so the columns of the lines after it follow the header (v2 lets the owner pick a subset of the
fields, in any order). Header and comment lines are no records: to_json raises SkipLine for them
(no document, no failure record; the encoder counts them). Lines before any `#Fields` header, and
files without one, take the documented legacy order of 33 fields. Columns the header names and we do
not know yet (AWS adds fields) are kept in `aws.cloudfront.extra_fields` as `name=value`; values after
the last named column likewise, as they are. A line with fewer values than the header names was cut
short: a failure record.

v2 JSON output: one JSON object per line, the field names as keys (values are strings, numbers are
taken too). It needs no header, so any line starting with `{` is read as JSON.

v2 Parquet output is columnar, not lines: objects named `….parquet` are skipped as unsupported.

Decoding: CloudFront URL-encodes some characters in every field (RFC 1738: space, `"`, `%`, …).
`user_agent.original` and `http.request.referrer` are decoded once (what the viewer sent, as
ECS wants it: `Mozilla/5.0 (Windows …`); `url.path`, `url.query` and the cookie stay as logged (a
query's own encoding is meaningful, and decoding it would merge `a%26b` into `a&b`).
Time: `date` and `time` (UTC, when the response finished) make `@timestamp`; v2's `timestamp(ms)`
(or `timestamp`, epoch seconds), when selected, is preferred for its milliseconds.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

import orjson

from .base import JSON_INT, ParseError, SkipLine, json_escape, possible_time
from .fields import field

# The legacy column order (standard-logs-reference "Log file fields"), used until a #Fields header.
LEGACY_COLUMNS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem", "sc-status",
    "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)", "x-edge-result-type", "x-edge-request-id",
    "x-host-header", "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields", "c-port",
    "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type", "sc-content-len", "sc-range-start",
    "sc-range-end",
)

_INT = re.compile(JSON_INT + r"\Z")
_DECIMAL = re.compile(JSON_INT + r"(?:\.[0-9]+)?\Z")
_STATUS = re.compile(r"[0-9]{3}\Z")  # `000`: the viewer closed the connection before the response
_IP = re.compile(r"[0-9A-Fa-f.:]+\Z")  # the shape only: OpenSearch's ip type has the last word
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)
_CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}\Z", re.ASCII)
_TLS = re.compile(r"(TLS|SSL)v([0-9.]+)\Z")
# What JSON cannot hold between quotes as it is. Every W3C line holds tabs, so the reader's verdict
# (no control character at all) never holds: the line is checked here, without its tabs.
_NOT_JSON_SAFE = re.compile(r'[\x00-\x08\x0a-\x1f"\\]')

# Document members are collected per object, then nested: each group's members go inside its path.
_GROUPS = ("source", "http", "http.request", "http.response", "http.response.body",
           "url", "user_agent", "tls", "aws.cloudfront")
_SOURCE, _HTTP, _REQUEST, _RESPONSE, _BODY, _URL, _UA, _TLS_GROUP, _AWS = range(len(_GROUPS))
_NS = "aws.cloudfront."

# How each value becomes JSON text (None: the value does not fit the field; `safe`: no escaping needed).
def _text(value: str, safe: bool) -> str:
    return '"' + (value if safe else json_escape(value)) + '"'


_DECODED: dict[str, str] = {}  # user agents and referrers repeat: each is decoded once


def _decoded(value: str, safe: bool) -> str:
    text = _DECODED.get(value)
    if text is None:
        if len(_DECODED) >= 4096:  # bounded
            _DECODED.clear()
        text = _DECODED[value] = '"' + json_escape(unquote(value) if "%" in value else value) + '"'
    return text


def _integer(value: str, safe: bool) -> str | None:
    return value if _INT.match(value) else None


def _decimal(value: str, safe: bool) -> str | None:
    return value if _DECIMAL.match(value) else None


def _status(value: str, safe: bool) -> str | None:
    return str(int(value)) if _STATUS.match(value) else None


def _ip(value: str, safe: bool) -> str | None:
    return '"' + value + '"' if _IP.match(value) else None


def _http_version(value: str, safe: bool) -> str:
    return _text(value[5:] if value[:5] == "HTTP/" else value, safe)


def _tls(value: str, safe: bool) -> str:
    m = _TLS.match(value)
    if m is None:  # not TLSvN/SSLvN: kept whole as the version
        return _text(value, safe)
    return '"' + m.group(1).lower() + '","version":"' + m.group(2) + '"'


# AWS field name → (group, member name, conversion, declared type, note). One table drives the parser,
# the declaration below (template, docs table) and, through it, the conformance checks.
_KNOWN: dict[str, tuple[int, str, object, str, str]] = {
    "date": (-1, "@timestamp", None, "date", "with `time`: `@timestamp` (UTC)"),
    "time": (-1, "@timestamp", None, "date", "with `date`: `@timestamp` (UTC, when the response finished)"),
    "x-edge-location": (_AWS, "x_edge_location", _text, "keyword", ""),
    "sc-bytes": (_RESPONSE, "bytes", _integer, "long", ""),
    "c-ip": (_SOURCE, "ip", _ip, "ip", ""),
    "cs-method": (_REQUEST, "method", _text, "keyword", ""),
    "cs(Host)": (_AWS, "cs_host", _text, "keyword", "the distribution's CloudFront domain"),
    "cs-uri-stem": (_URL, "path", _text, "text_keyword", "as logged (URL-encoded)"),
    "sc-status": (_RESPONSE, "status_code", _status, "integer", "`000` (viewer hung up first): 0"),
    "cs(Referer)": (_REQUEST, "referrer", _decoded, "long_keyword", "URL-decoded"),
    "cs(User-Agent)": (_UA, "original", _decoded, "text_keyword", "URL-decoded"),
    "cs-uri-query": (_URL, "query", _text, "url_keyword", "as logged (URL-encoded)"),
    "cs(Cookie)": (_AWS, "cs_cookie", _text, "url_keyword", "as logged"),
    "x-edge-result-type": (_AWS, "x_edge_result_type", _text, "keyword", ""),
    "x-edge-request-id": (_AWS, "x_edge_request_id", _text, "keyword", ""),
    "x-host-header": (_URL, "domain", _text, "keyword", "the Host header the viewer sent"),
    "cs-protocol": (_URL, "scheme", _text, "keyword", "http, https, ws, wss"),
    "cs-bytes": (_REQUEST, "bytes", _integer, "long", ""),
    "time-taken": (_AWS, "time_taken", _decimal, "float", "seconds"),
    "x-forwarded-for": (_AWS, "x_forwarded_for", _text, "long_keyword", ""),
    "ssl-protocol": (_TLS_GROUP, "version_protocol", _tls, "keyword",
                     "`TLSv1.2`: `tls.version_protocol` tls, `tls.version` 1.2 (ECS)"),
    "ssl-cipher": (_TLS_GROUP, "cipher", _text, "keyword", ""),
    "x-edge-response-result-type": (_AWS, "x_edge_response_result_type", _text, "keyword", ""),
    "cs-protocol-version": (_HTTP, "version", _http_version, "keyword", "`HTTP/2.0`: 2.0"),
    "fle-status": (_AWS, "fle_status", _text, "keyword", ""),
    "fle-encrypted-fields": (_AWS, "fle_encrypted_fields", _integer, "long", ""),
    "c-port": (_SOURCE, "port", _integer, "integer", ""),
    "time-to-first-byte": (_AWS, "time_to_first_byte", _decimal, "float", "seconds"),
    "x-edge-detailed-result-type": (_AWS, "x_edge_detailed_result_type", _text, "keyword", ""),
    "sc-content-type": (_RESPONSE, "mime_type", _text, "keyword", ""),
    "sc-content-len": (_BODY, "bytes", _integer, "long", ""),
    "sc-range-start": (_AWS, "sc_range_start", _integer, "long", ""),
    "sc-range-end": (_AWS, "sc_range_end", _integer, "long", ""),
    # Standard logging (v2) adds these real-time log fields to choose from.
    "timestamp(ms)": (_AWS, "timestamp_ms", _integer, "long", "v2; epoch milliseconds, preferred for `@timestamp`"),
    "timestamp": (_AWS, "timestamp", _decimal, "double", "v2; epoch seconds, for `@timestamp` without timestamp(ms)"),
    "origin-fbl": (_AWS, "origin_fbl", _decimal, "float", "v2; seconds"),
    "origin-lbl": (_AWS, "origin_lbl", _decimal, "float", "v2; seconds"),
    # Kept under aws.cloudfront, not source.as/source.geo: GeoIP (ingest/enrich.py) writes those, and
    # a second "as" or "geo" object in `source` would make a duplicate key OpenSearch rejects.
    "asn": (_AWS, "asn", _integer, "long", "v2; the viewer's AS number as CloudFront saw it"),
    "c-country": (_AWS, "c_country", _text, "keyword", "v2; the viewer's country code as CloudFront saw it"),
    "cache-behavior-path-pattern": (_AWS, "cache_behavior_path_pattern", _text, "long_keyword", "v2"),
}


def _doc_path(group: int, member: str) -> str:
    return member if group < 0 else _GROUPS[group] + "." + member


def _declaration():
    out = []
    for aws, (group, member, _, type_name, note) in _KNOWN.items():
        docs = ("tls.version_protocol", "tls.version") if member == "version_protocol" else _doc_path(group, member)
        out.append(field(aws, docs, type_name, note, numbered=aws in LEGACY_COLUMNS))  # v2's have no place
    out.append(field("columns not known yet", _NS + "extra_fields", "long_keyword",
                     "`name=value` (a value past the named columns: as it is)", numbered=False))
    return tuple(out)


class _Columns:
    """What a #Fields header (or the legacy order) means for the lines after it: for each column, its
    (index, group, JSON member prefix, conversion) or, for a column not known yet, its name."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.count = len(names)
        self.plan = []
        self.unknown = []
        self.time_columns = {}
        for i, name in enumerate(names):
            # A column named twice fills its field once (the first); the second would be a duplicate
            # key, which OpenSearch rejects: it is kept as a column not known yet.
            known = _KNOWN.get(name) if name not in names[:i] else None
            if known is None:
                self.unknown.append((i, json_escape(name) + "="))
            elif known[0] < 0:
                self.time_columns[name] = i
            else:
                group, member, convert, _, _ = known
                self.plan.append((i, group, '"' + member + '":', convert, name))
        self.date_index = self.time_columns.get("date")
        self.time_index = self.time_columns.get("time")
        self.ms_index = names.index("timestamp(ms)") if "timestamp(ms)" in names else None
        self.seconds_index = names.index("timestamp") if "timestamp" in names else None


_LEGACY = _Columns(LEGACY_COLUMNS)


def _timestamp(values, columns: _Columns) -> str:
    """`@timestamp` from timestamp(ms), timestamp, or date and time, whichever the line has."""
    for index, scale in ((columns.ms_index, 1000), (columns.seconds_index, 1)):
        if index is not None and index < len(values) and values[index] not in ("-", ""):
            return _epoch(values[index], scale)
    date = values[columns.date_index] if columns.date_index is not None and columns.date_index < len(values) else "-"
    clock = values[columns.time_index] if columns.time_index is not None and columns.time_index < len(values) else "-"
    if date == "-" or clock == "-":
        raise ParseError("no time: the record has neither date and time nor timestamp(ms)")
    if not _DATE.match(date) or not _CLOCK.match(clock):
        raise ParseError(f"date {date[:40]!r} and time {clock[:40]!r} are not YYYY-MM-DD and hh:mm:ss")
    iso = date + "T" + clock
    if not possible_time(iso):
        raise ParseError(f"impossible date and time {date} {clock}")
    return iso + "Z"


def _epoch(value: str, scale: int) -> str:
    from datetime import datetime, timezone  # rare (v2 only): kept off the import path of every invocation

    if not _DECIMAL.match(value):
        raise ParseError(f"timestamp {value[:40]!r} is not a number")
    try:
        moment = datetime.fromtimestamp(float(value) / scale, timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise ParseError(f"timestamp {value[:40]!r} is out of range") from None
    if not 1970 <= moment.year <= 9999:
        raise ParseError(f"timestamp {value[:40]!r} is out of range")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _emit(values: list[str], columns: _Columns, safe: bool) -> tuple[str, str]:
    """The JSON members of one record whose values follow `columns` (at least as many values)."""
    ts = _timestamp(values, columns)
    groups: list[list[str]] = [[] for _ in _GROUPS]
    for i, group, prefix, convert, name in columns.plan:
        value = values[i]
        if value == "-" or not value:
            continue
        if convert is _text and safe:  # the common case, inline: a call per field costs
            groups[group].append(prefix + '"' + value + '"')
            continue
        text = convert(value, safe)
        if text is None:
            raise ParseError(f"{name} {value[:40]!r} is not a {_KNOWN[name][3]}")
        groups[group].append(prefix + text)
    extra = [prefix + json_escape(values[i]) for i, prefix in columns.unknown if values[i] not in ("-", "")]
    extra += [json_escape(v) for v in values[columns.count:] if v not in ("-", "")]
    if extra:
        groups[_AWS].append('"extra_fields":["' + '","'.join(extra) + '"]')
    return ts, '"@timestamp":"' + ts + '"' + _nest(groups)


def _nest(g: list[list[str]]) -> str:
    """The groups' members, nested under their paths (an empty object is left out)."""
    out = ""
    if g[_SOURCE]:
        out += ',"source":{' + ",".join(g[_SOURCE]) + "}"
    response = g[_RESPONSE] + (['"body":{' + ",".join(g[_BODY]) + "}"] if g[_BODY] else [])
    http = g[_HTTP] + (['"request":{' + ",".join(g[_REQUEST]) + "}"] if g[_REQUEST] else []) \
        + (['"response":{' + ",".join(response) + "}"] if response else [])
    if http:
        out += ',"http":{' + ",".join(http) + "}"
    for group, name in ((_URL, "url"), (_UA, "user_agent"), (_TLS_GROUP, "tls")):
        if g[group]:
            out += ',"' + name + '":{' + ",".join(g[group]) + "}"
    if g[_AWS]:
        out += ',"aws":{"cloudfront":{' + ",".join(g[_AWS]) + "}}"
    return out


_JSON_COLUMNS: dict[tuple[str, ...], _Columns] = {}  # the key sets seen: one per object, usually


def _from_json(line: str) -> tuple[str, str]:
    """A v2 JSON record (the line starts with `{`, so what parses is an object): its keys name the columns."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise ParseError(f"not a JSON object: {e}; cut short?") from None
    names, values = [], []
    for name, value in record.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            value = "-" if value is None else orjson.dumps(value).decode()  # kept, never dropped
        names.append(name)
        values.append(value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value))
    names = tuple(names)
    columns = _JSON_COLUMNS.get(names)
    if columns is None:
        if len(_JSON_COLUMNS) > 64:  # bounded: records whose keys vary stay correct, only slower
            _JSON_COLUMNS.clear()
        columns = _JSON_COLUMNS[names] = _Columns(names)
    return _emit(values, columns, False)


class CloudFrontFormat:
    name = "cloudfront"
    title = "CloudFront standard logs"
    dataset = "aws.cloudfront"
    index_prefix = "cloudfront-logs"
    fields = _declaration()

    # <prefix>/<distribution ID>.YYYY-MM-DD-HH.<unique ID>.gz (legacy; v2 keeps the file name under
    # its own partitioned paths, and may add `.log`/`.json` before `.gz`). Parquet is no line format.
    _KEY = re.compile(r"(?:^|/)E[0-9A-Z]{5,20}\.(\d{4})-(\d\d)-(\d\d)-(\d\d)\.[0-9A-Za-z_-]+(?:\.(?:log|json|txt|w3c))?(?:\.gz)?\Z")
    # A bare `#Version: 1.0` is any W3C log (IIS writes it too): not enough to go by.
    _LINE = re.compile(
        r"#Fields: date time x-edge-location|\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\t[A-Z]{3}\d|\{.*\"x-edge-")

    def key_matches(self, key: str) -> bool:
        return self._KEY.search(key) is not None

    def line_matches(self, line: str) -> bool:
        return self._LINE.match(line) is not None

    def key_time(self, key: str) -> str | None:
        """The hour the object's name says its requests occurred in (ISO 8601 UTC)."""
        m = self._KEY.search(key)
        return None if m is None else "{}-{}-{}T{}:00:00Z".format(*m.groups())

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        """A record in the legacy column order, or a v2 JSON record. Header lines raise SkipLine;
        their columns only apply through for_object(). `safe` is not needed: the line is checked here."""
        return _Object(_LEGACY).to_json(line, safe) if line[:1] == "#" else _to_json(line, _LEGACY)

    def for_object(self) -> "_Object":
        """A parser for one object's lines: its #Fields header sets the columns of the lines after it."""
        return _Object(_LEGACY)


def _to_json(line: str, columns: _Columns) -> tuple[str, str]:
    if line[:1] == "{":
        return _from_json(line)
    values = line.split("\t")
    if len(values) < columns.count:
        raise ParseError(f"{len(values)} of the {columns.count} tab-separated fields "
                         f"{'the #Fields header names' if columns is not _LEGACY else 'of the legacy layout'}: cut short?")
    return _emit(values, columns, _NOT_JSON_SAFE.search(line) is None)


class _Object:
    """One object's parser: the columns follow the latest #Fields header."""

    def __init__(self, columns: _Columns):
        self.columns = columns

    def observe(self, raw: bytes) -> None:
        """A line an earlier part already did (a resumed object): only a header matters."""
        if raw[:9] == b"#Fields: ":
            self._header(raw.decode("utf-8", "replace"))

    def _header(self, line: str) -> None:
        if line[:9] == "#Fields: ":
            self.columns = _Columns(tuple(line[9:].split()))

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        if line[:1] == "#":
            self._header(line)
            raise SkipLine("a W3C header line")
        return _to_json(line, self.columns)


CLOUDFRONT = CloudFrontFormat()
