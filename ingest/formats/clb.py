"""Classic Load Balancer access logs (HTTP, HTTPS, TCP and SSL listeners).

Space-separated fields in a fixed order; the request line and the user agent are double-quoted and
may hold spaces. TCP and SSL listeners log the request as `"- - - "` and the user agent as `"-"`,
and `-` for the status codes. user_agent, ssl_cipher and ssl_protocol came in 2015: lines end
after the request before that. Anything after ssl_protocol (AWS appends, it does not reorder) is
kept in `aws.clb.extra_fields` (a quoted value whole, without its quotes); `-` placeholders there
are dropped.
"""
from __future__ import annotations

import re

from .base import (JSON_INT, ParseError, SpaceSeparated, SpaceSeparatedFormat, UnclosedQuote, extra_fields,
                   possible_time, slow_tokens, split_request, tls_version_members, url_members)
from .fields import field

_TIME = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.[0-9]+)?Z)"
_SECONDS = "(-1|" + JSON_INT + r"(?:\.[0-9]+)?)"  # -1: not dispatched
_INT_OR_DASH = "(" + JSON_INT + "|-)"
_QUOTED = '"([^"]*)"'

_FIELDS = [
    ("time", _TIME),
    ("elb", r"([^ ]+)"),
    ("client:port", r"([^ ]+):(" + JSON_INT + ")"),
    ("backend:port", r"(?:-|([^ ]+):(" + JSON_INT + "))"),
    ("request_processing_time", _SECONDS),
    ("backend_processing_time", _SECONDS),
    ("response_processing_time", _SECONDS),
    ("elb_status_code", _INT_OR_DASH),
    ("backend_status_code", _INT_OR_DASH),
    ("received_bytes", "(" + JSON_INT + ")"),
    ("sent_bytes", "(" + JSON_INT + ")"),
    ("request", _QUOTED),
    ("user_agent", _QUOTED),
    ("ssl_cipher", r"([^ ]+)"),
    ("ssl_protocol", r"([^ ]+)"),
]
REQUIRED = 12  # through the request: the layout before 2015
COMMON = 15
# Fast: an unquoted token holding a `"` must go the slow (escaping) way. Slow: quoted values may
# hold backslash-escaped quotes; the groups are JSON-escaped afterwards.
_LINE_FIELDS = SpaceSeparated([p.replace("[^ ]", '[^ "]') for _, p in _FIELDS],
                              [p.replace(_QUOTED, r'"((?:[^"\\]|\\.)*)"') for _, p in _FIELDS], REQUIRED, COMMON)
_CHECKS = [(name, re.compile(p + r"\Z", re.ASCII)) for name, p in _FIELDS]

_NOTE_SECONDS = "seconds; absent when AWS logs -1 (not dispatched, or the backend closed early)"
FIELDS = (
    field("time", "@timestamp", "date", "when the load balancer received the request"),
    field("elb", "aws.clb.elb", note="the load balancer's name"),
    field("client:port", ("source.ip", "source.port"), ("ip", "integer")),
    field("backend:port", ("destination.ip", "destination.port"), ("ip", "integer"),
          "absent when the request reached no backend"),
    field("request_processing_time", "aws.clb.request_processing_time", "double", _NOTE_SECONDS),
    field("backend_processing_time", "aws.clb.backend_processing_time", "double", _NOTE_SECONDS),
    field("response_processing_time", "aws.clb.response_processing_time", "double", _NOTE_SECONDS),
    field("elb_status_code", "http.response.status_code", "integer", "absent on TCP and SSL listeners"),
    field("backend_status_code", "aws.clb.backend_status_code", "integer"),
    field("received_bytes", "http.request.bytes", "long", "TCP and SSL listeners: the payload"),
    field("sent_bytes", "http.response.bytes", "long"),
    field("request", ("http.request.method", "url.original", "url.scheme", "url.domain", "url.port", "url.path",
                      "url.query", "http.version"),
          ("keyword", "text_keyword", "keyword", "keyword", "integer", "text_keyword", "url_keyword", "keyword"),
          "split as ALB's; `\"- - - \"` (TCP and SSL listeners) gives none of them"),
    field("user_agent", "user_agent.original", "keyword"),
    field("ssl_cipher", "tls.cipher", note="HTTPS and SSL listeners"),
    field("ssl_protocol", ("tls.version_protocol", "tls.version"), "keyword",
          "`TLSv1.2` → `tls`, `1.2` (ECS); a form not seen before whole in tls.version"),
    field("fields after the last known one", "aws.clb.extra_fields",
          note="what AWS appends later; `-` placeholders dropped", numbered=False),
)


def _why_not(line: str) -> str:
    try:
        tokens = slow_tokens(line)
    except UnclosedQuote as e:  # e.g. the last line of a truncated object
        name = _FIELDS[e.token][0] if e.token < len(_FIELDS) else f"field {e.token + 1}"
        return f"the line ends inside the quoted {name}: cut short?"
    for (name, check), token in zip(_CHECKS, tokens):
        if check.match(token if name not in ("request", "user_agent") else '"' + token + '"') is None:
            return f"field {name} is not valid: {token[:60]!r}"
    if len(tokens) >= REQUIRED:  # every field is valid: they are not separated as AWS writes them
        return f"{len(tokens)} valid fields, but not separated by single spaces"
    return f"expected at least {REQUIRED} fields, found {len(tokens)}: cut short?"


def _emit(g: tuple) -> tuple[str, str]:
    """JSON members of a Classic Load Balancer document from JSON-safe groups (None: absent)."""
    (ts, elb, cip, cport, bip, bport, rpt, bpt, respt, esc, bsc, received, sent, request, ua, cipher, proto,
     rest) = g
    if not possible_time(ts):  # the pattern checks the shape, this the ranges (no month 13)
        raise ParseError(f"impossible timestamp {ts!r} in the time field")
    out = ['"@timestamp":"' + ts + '","source":{"ip":"' + cip.strip("[]") + '","port":' + cport + "}"]
    add = out.append
    if bip is not None:
        add(',"destination":{"ip":"' + bip.strip("[]") + '","port":' + bport + "}")

    method, url, protocol = split_request(request) if request.strip(" -") else ("", "", "")
    add(',"http":{"request":{"bytes":' + received + ('' if method in ("", "-") else ',"method":"' + method + '"')
        + '},"response":{"bytes":' + sent + ('' if esc == "-" else ',"status_code":' + esc) + "}"
        + ('' if protocol[:5] != "HTTP/" else ',"version":"' + protocol[5:] + '"') + "}")
    if url and url != "-":
        add(',"url":{' + url_members(url, True) + "}")
    if ua is not None and ua != "-":
        add(',"user_agent":{"original":"' + ua + '"}')
    tls = []
    if cipher is not None and cipher != "-":
        tls.append('"cipher":"' + cipher + '"')
    if proto is not None and proto != "-":
        tls.append(tls_version_members(proto))
    if tls:
        add(',"tls":{' + ",".join(tls) + "}")

    add(',"aws":{"clb":{"elb":"' + elb + '"')
    # -1: the request was not dispatched (or the backend closed early); absent, not -1 seconds.
    if rpt != "-1":
        add(',"request_processing_time":' + rpt)
    if bpt != "-1":
        add(',"backend_processing_time":' + bpt)
    if respt != "-1":
        add(',"response_processing_time":' + respt)
    if bsc != "-":
        add(',"backend_status_code":' + bsc)
    if rest is not None:
        # Quote-aware, as the known fields: a value AWS appends may be quoted and hold spaces, and a
        # line cut inside it must be a failure, not a document holding the pieces.
        try:
            add(extra_fields(slow_tokens(rest)))
        except UnclosedQuote as e:
            raise ParseError(f"the line ends inside the quoted field {COMMON + e.token + 1}: cut short?") from None
    add("}}")
    return ts, "".join(out)


class ClbFormat(SpaceSeparatedFormat):
    name = "clb"
    title = "Classic Load Balancer access logs"
    dataset = "aws.clb"
    index_prefix = "clb-logs"
    fields = FIELDS

    # …/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/
    #   <account>_elasticloadbalancing_<region>_<name>_<end>_<ip>_<random>.log: a Classic load
    # balancer's name holds only letters, digits and hyphens (so never `app.` or `net.`); the
    # objects are plain text, a `.gz` is tolerated (the reader gunzips by magic bytes).
    _KEY = re.compile(
        r"(?:^|/)AWSLogs/\d{12}/elasticloadbalancing/[^/]+/\d{4}/\d\d/\d\d/"
        r"\d{12}_elasticloadbalancing_[^_/]+_[A-Za-z0-9-]+_\d{8}T\d{4}Z_[^_/]+_[^_/]+\.log(?:\.gz)?\Z")
    # time name client-ip:port: an ALB connection log has an IP, then a bare port, where the name is.
    _LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z [A-Za-z0-9-]+ [0-9A-Fa-f.:\[\]]+:\d+ ")
    _LINE_FIELDS = _LINE_FIELDS
    _emit = staticmethod(_emit)
    _why_not = staticmethod(_why_not)


CLB = ClbFormat()
