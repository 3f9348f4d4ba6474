"""Amazon S3 server access logs.

Space-separated fields; the time is bracketed and holds a space; Request-URI, Referer and
User-Agent are quoted, or a bare `-`; any field may be `-`. The requester can hold spaces (a
CloudFront origin access identity is logged as `arn:aws:iam::cloudfront:user/CloudFront Origin
Access Identity E…`): a line whose requester holds a space leaves the fast pattern, and the slow
one matches the requester lazily up to the request id and operation that follow it.
AWS appends fields at the end (aclRequired in 2022, a region after it since); fields after
aclRequired that are not known yet are kept in `aws.s3access.extra_fields`.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .fields import field
from .base import (JSON_INT, ParseError, PatternDetection, UnclosedQuote, json_escape, json_list, line_patterns, possible_time,
                   slow_tokens, split_request, url_members)

_QUOTED_OR_DASH = r'(?:"([^"]*)"|-)'
_NUMBER_OR_DASH = "(" + JSON_INT + "|-)"
_FIELDS = [
    r"([^ ]+)",  # 1 bucket owner
    r"([^ ]+)",  # 2 bucket
    r"\[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d:\d\d:\d\d) ([+-]\d{4})\]",  # 3 time
    r"([^ ]+)",  # 4 remote IP
    r"([^ ]+)",  # 5 requester (the slow path lets it hold spaces)
    r"([^ ]+)",  # 6 request ID
    r"([A-Z0-9_]+\.[^ ]+)",  # 7 operation, e.g. REST.GET.OBJECT
    r"([^ ]+)",  # 8 key
    _QUOTED_OR_DASH,  # 9 Request-URI
    _NUMBER_OR_DASH,  # 10 HTTP status
    r"([^ ]+)",  # 11 error code
    _NUMBER_OR_DASH,  # 12 bytes sent
    _NUMBER_OR_DASH,  # 13 object size
    _NUMBER_OR_DASH,  # 14 total time
    _NUMBER_OR_DASH,  # 15 turn-around time
    _QUOTED_OR_DASH,  # 16 referer
    _QUOTED_OR_DASH,  # 17 user agent
    r"([^ ]+)",  # 18 version id
    r"([^ ]+)",  # 19 host id
    r"([^ ]+)",  # 20 signature version
    r"([^ ]+)",  # 21 cipher suite
    r"([^ ]+)",  # 22 authentication type
    r"([^ ]+)",  # 23 host header
    r"([^ ]+)",  # 24 TLS version
    r"([^ ]+)",  # 25 access point ARN
    r"([^ ]+)",  # 26 aclRequired
    r"([^ ]+)",  # 27 region (newest; AWS's examples end with it)
]
# The document fields, declared once (ingest/formats/fields.py): the templates and docs/documents.md
# are written from this.
DOCUMENT_FIELDS = (
    field("Bucket Owner", "aws.s3access.bucket_owner"),
    field("Bucket", "aws.s3access.bucket"),
    field("Time", "@timestamp", "date", "converted to UTC"),
    field("Remote IP", "source.ip", "ip"),
    field("Requester", "aws.s3access.requester"),
    field("Request ID", "aws.s3access.request_id"),
    field("Operation", "aws.s3access.operation"),
    field("Key", "aws.s3access.key", "key_keyword", "as logged, URL-encoded"),
    field("Request-URI", ("http.request.method", "url.original", "http.version", "url.path", "url.query"),
          ("keyword", "text_keyword", "keyword", "text_keyword", "url_keyword")),
    field("HTTP status", "http.response.status_code", "integer"),
    field("Error Code", "aws.s3access.error_code"),
    field("Bytes Sent", "http.response.bytes", "long", "`-` is 0, as AWS documents"),
    field("Object Size", "aws.s3access.object_size", "long"),
    field("Total Time", "aws.s3access.total_time", "long", "ms"),
    field("Turn-Around Time", "aws.s3access.turn_around_time", "long", "ms"),
    field("Referer", "http.request.referrer", "long_keyword"),
    field("User-Agent", "user_agent.original", "text_keyword"),
    field("Version Id", "aws.s3access.version_id"),
    field("Host Id", "aws.s3access.host_id"),
    field("Signature Version", "aws.s3access.signature_version"),
    field("Cipher Suite", "aws.s3access.cipher_suite"),
    field("Authentication Type", "aws.s3access.authentication_type"),
    field("Host Header", "aws.s3access.host_header"),
    field("TLS version", "aws.s3access.tls_version"),
    field("Access Point ARN", "aws.s3access.access_point_arn"),
    field("aclRequired", "aws.s3access.acl_required"),
    field("Source region", "aws.s3access.source_region", "keyword", "the newest field"),
    field("anything after", "aws.s3access.extra_fields", "long_keyword", "a list", numbered=False),
)
REQUIRED = 17  # through User-Agent: the layout of the oldest logs still found in buckets
COMMON = 26  # through aclRequired (2022)
# The fast path: an unquoted token holding a `"` must go the slow (escaping) way.
_FAST_RECENT, _FAST_ANY = line_patterns([f.replace("[^ ]", '[^ "]') for f in _FIELDS], REQUIRED, COMMON)
# The slow path: the requester may hold spaces, quoted values backslash-escaped quotes; the
# groups are JSON-escaped afterwards.
_SLOW_FIELDS = [f.replace('"([^"]*)"', r'"((?:[^"\\]|\\.)*)"') for f in _FIELDS]
_SLOW_FIELDS[4] = r"(.+?)"
_SLOW_RECENT, _SLOW_ANY = line_patterns(_SLOW_FIELDS, REQUIRED, COMMON)

_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


class S3AccessFormat(PatternDetection):
    name = "s3-access"
    title = "S3 server access logs"
    fields = DOCUMENT_FIELDS
    dataset = "aws.s3access"
    index_prefix = "s3-access-logs"

    # [prefix]YYYY-mm-DD-HH-MM-SS-UniqueString, or, date-partitioned,
    # [prefix]<account>/<region>/<bucket>/YYYY/MM/DD/YYYY-mm-DD-HH-MM-SS-UniqueString
    _KEY = re.compile(r"(?:^|[^0-9])\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9A-Za-z]{8,}\Z")
    _LINE = re.compile(r"[^ ]+ [^ ]+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] ")

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        """`safe`: the caller checked that the line has no backslash or control character."""
        if safe:
            m = _FAST_RECENT.match(line) or _FAST_ANY.match(line)
            if m is not None:
                g = m.groups()
                # A field that breaks the pattern leaves the later ones in the trailing group: only
                # a line that ended, or matched every known field, is taken as it is.
                if g[-1] is None or g[-2] is not None:
                    return _emit(g)
        m = _SLOW_RECENT.match(line) or _SLOW_ANY.match(line)
        if m is None:
            raise ParseError(_why_not(line))
        *fields, rest = m.groups()  # the rest is escaped token by token, later
        return _emit(tuple(None if g is None else json_escape(g) for g in fields) + (rest,))


def _why_not(line: str) -> str:
    if S3AccessFormat._LINE.match(line) is None:
        return "does not start like an S3 server access log record (owner bucket [dd/Mon/yyyy:hh:mm:ss +zzzz])"
    try:
        tokens = slow_tokens(line)
    except UnclosedQuote as e:  # e.g. the last line of a truncated object
        return f"the line ends inside a quoted value (token {e.token + 1}): cut short?"
    return f"expected at least {REQUIRED} fields, found {len(tokens)} tokens"


def _timestamp(day: str, month: str, year: str, clock: str, offset: str) -> str:
    """ISO 8601 UTC from the log's `[06/Feb/2019:00:00:38 +0000]` pieces."""
    mm = _MONTHS.get(month)
    if mm is None:
        raise ParseError(f"unknown month {month!r} in the time field")
    local = f"{year}-{mm}-{day}T{clock}"
    if not possible_time(local):  # the pattern checks the shape only; see base.possible_time
        raise ParseError(f"impossible timestamp [{day}/{month}/{year}:{clock} {offset}] in the time field")
    if offset == "+0000":
        return local + "Z"
    try:
        moment = datetime.strptime(local + offset, "%Y-%m-%dT%H:%M:%S%z")
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError) as e:  # e.g. offset +2400; Overflow: year 1 shifted before year 1
        raise ParseError(f"impossible timestamp [{day}/{month}/{year}:{clock} {offset}] in the time field: {e}") from None


def _emit(g: tuple) -> tuple[str, str]:
    """JSON members of an S3 access log document from JSON-safe groups (None: absent)."""
    (owner, bucket, day, month, year, clock, offset, remote_ip, requester, request_id, operation, key,
     request_uri, status, error_code, bytes_sent, object_size, total_time, turnaround, referrer, ua,
     version_id, host_id, sigv, cipher, auth_type, host_header, tls_version, access_point, acl_required,
     region, rest) = g

    ts = _timestamp(day, month, year, clock, offset)
    out = ['"@timestamp":"' + ts + '"']
    add = out.append
    if remote_ip != "-":
        add(',"source":{"ip":"' + remote_ip + '"}')

    method = url = protocol = ""
    if request_uri is not None and request_uri != "-":
        method, url, protocol = split_request(request_uri)
    http = []
    if method and method != "-":
        http.append('"method":"' + method + '"')
    if referrer is not None and referrer != "-":
        http.append('"referrer":"' + referrer + '"')
    response = '"bytes":' + (bytes_sent if bytes_sent != "-" else "0")  # AWS: `-` if zero bytes
    if status != "-":
        response += ',"status_code":' + status
    add(',"http":{' + ("" if not http else '"request":{' + ",".join(http) + "},") + '"response":{' + response + "}")
    if protocol[:5] == "HTTP/":
        add(',"version":"' + protocol[5:] + '"')
    add("}")
    if url and url != "-":
        add(',"url":{' + url_members(url, False) + "}")
    if ua is not None and ua != "-":
        add(',"user_agent":{"original":"' + ua + '"}')

    add(',"aws":{"s3access":{"bucket_owner":"' + owner + '","bucket":"' + bucket + '"')
    if requester != "-":
        add(',"requester":"' + requester + '"')
    if request_id != "-":
        add(',"request_id":"' + request_id + '"')
    add(',"operation":"' + operation + '"')
    if key != "-":
        add(',"key":"' + key + '"')
    if error_code != "-":
        add(',"error_code":"' + error_code + '"')
    if object_size != "-":
        add(',"object_size":' + object_size)
    if total_time != "-":
        add(',"total_time":' + total_time)
    if turnaround != "-":
        add(',"turn_around_time":' + turnaround)
    if version_id is not None and version_id != "-":
        add(',"version_id":"' + version_id + '"')
    if host_id is not None and host_id != "-":
        add(',"host_id":"' + host_id + '"')
    if sigv is not None and sigv != "-":
        add(',"signature_version":"' + sigv + '"')
    if cipher is not None and cipher != "-":
        add(',"cipher_suite":"' + cipher + '"')
    if auth_type is not None and auth_type != "-":
        add(',"authentication_type":"' + auth_type + '"')
    if host_header is not None and host_header != "-":
        add(',"host_header":"' + host_header + '"')
    if tls_version is not None and tls_version != "-":
        add(',"tls_version":"' + tls_version + '"')
    if access_point is not None and access_point != "-":
        add(',"access_point_arn":"' + access_point + '"')
    if acl_required is not None and acl_required != "-":
        add(',"acl_required":"' + acl_required + '"')
    if region is not None and region != "-":
        add(',"source_region":"' + region + '"')
    if rest is not None:
        try:
            tokens = slow_tokens(rest)
        except UnclosedQuote:
            raise ParseError("the line ends inside a quoted value after the known fields: cut short?") from None
        kept = [t for t in tokens if t != "-"]
        if kept:
            add(',"extra_fields":' + json_list(kept))
    add("}}")
    return ts, "".join(out)


S3_ACCESS = S3AccessFormat()
