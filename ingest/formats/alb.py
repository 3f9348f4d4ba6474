"""Application Load Balancer access logs.

Fields are space-separated in a fixed order; some are double-quoted and may contain spaces. AWS
appends new fields at the end (the line grew from 25 to 34 fields between 2018 and 2026) and may
write `-` placeholders for fields not yet released, so every field after the twelfth is optional
and anything after the last known field is kept in `aws.elb.extra_fields`.
"""
from __future__ import annotations

import re

from .fields import field
from .base import (JSON_INT, ParseError, PatternDetection, UnclosedQuote, group_count, json_list, line_patterns, possible_time,
                   slow_tokens, split_request, url_members)

_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_SECONDS = r"(-1|" + JSON_INT + r"(?:\.[0-9]+)?)"  # -1: not recorded

# (AWS field name, quoted, pattern). Patterns validate numbers and times and split ip:port, so
# the emitter can write what they capture straight into JSON. The first 12 fields are required.
FIELDS = [
    ("type", False, r"([^ ]+)"),
    ("time", False, f"({_TIME})"),
    ("elb", False, r"([^ ]+)"),
    ("client:port", False, r"([^ ]+):(" + JSON_INT + ")"),
    ("target:port", False, r"(?:-|([^ ]+):(" + JSON_INT + "))"),
    ("request_processing_time", False, _SECONDS),
    ("target_processing_time", False, _SECONDS),
    ("response_processing_time", False, _SECONDS),
    ("elb_status_code", False, "(" + JSON_INT + "|-)"),
    ("target_status_code", False, "(" + JSON_INT + "|-)"),
    ("received_bytes", False, "(" + JSON_INT + ")"),
    ("sent_bytes", False, "(" + JSON_INT + ")"),
    ("request", True, None),
    ("user_agent", True, None),
    ("ssl_cipher", False, None),
    ("ssl_protocol", False, None),
    ("target_group_arn", False, None),
    ("trace_id", True, None),
    ("domain_name", True, None),
    ("chosen_cert_arn", True, None),
    ("matched_rule_priority", False, "(-?" + JSON_INT + "|-)"),
    ("request_creation_time", False, f"({_TIME}|-)"),
    ("actions_executed", True, None),
    ("redirect_url", True, None),
    ("error_reason", True, None),
    ("target:port_list", True, None),
    ("target_status_code_list", True, None),
    ("classification", True, None),
    ("classification_reason", True, None),
    ("conn_trace_id", False, None),
    ("transformed_host", True, None),
    ("transformed_uri", True, None),
    ("request_transform_status", True, None),
    ("ip_address", False, None),
]
# The document fields, declared once (ingest/formats/fields.py): the templates and docs/documents.md
# are written from this.
DOCUMENT_FIELDS = (
    field("type", "aws.elb.type"),
    field("time", "@timestamp", "date"),
    field("elb", "aws.elb.elb"),
    field("client:port", ("source.ip", "source.port"), ("ip", "integer")),
    field("target:port", ("destination.ip", "destination.port"), ("ip", "integer"), "absent for `-`"),
    field("request_processing_time", "aws.elb.request_processing_time", "float", "seconds (absent for `-1`)"),
    field("target_processing_time", "aws.elb.target_processing_time", "float", "seconds (absent for `-1`)"),
    field("response_processing_time", "aws.elb.response_processing_time", "float", "seconds (absent for `-1`)"),
    field("elb_status_code", "http.response.status_code", "integer"),
    field("target_status_code", "aws.elb.target_status_code", "integer"),
    field("received_bytes", "http.request.bytes", "long"),
    field("sent_bytes", "http.response.bytes", "long"),
    field("request", ("http.request.method", "url.original", "http.version", "url.scheme", "url.domain",
                      "url.port", "url.path", "url.query"),
          ("keyword", "text_keyword", "keyword", "keyword", "keyword", "integer", "text_keyword", "url_keyword"),
          "`http.version` is `1.1`, `2.0`…; no decoding"),
    field("user_agent", "user_agent.original", "text_keyword"),
    field("ssl_cipher", "aws.elb.ssl_cipher"),
    field("ssl_protocol", "aws.elb.ssl_protocol"),
    field("target_group_arn", "aws.elb.target_group_arn"),
    field("trace_id", "aws.elb.trace_id"),
    field("domain_name", "aws.elb.domain_name"),
    field("chosen_cert_arn", "aws.elb.chosen_cert_arn"),
    field("matched_rule_priority", "aws.elb.matched_rule_priority", "integer", "`-1` kept: rule-evaluation error"),
    field("request_creation_time", "aws.elb.request_creation_time", "date"),
    field("actions_executed", "aws.elb.actions_executed", "keyword", "a list"),
    field("redirect_url", "aws.elb.redirect_url", "url_keyword"),
    field("error_reason", "aws.elb.error_reason"),
    field("target:port_list", "aws.elb.target_port_list", "keyword", "a list"),
    field("target_status_code_list", "aws.elb.target_status_code_list", "keyword", "a list"),
    field("classification", "aws.elb.classification"),
    field("classification_reason", "aws.elb.classification_reason"),
    field("conn_trace_id", "aws.elb.conn_trace_id"),
    field("transformed_host", "aws.elb.transformed_host"),
    field("transformed_uri", "aws.elb.transformed_uri", "url_keyword"),
    field("request_transform_status", "aws.elb.request_transform_status"),
    field("ip_address", "aws.elb.ip_address", "keyword", "the LB node"),
    field("anything after (35+)", "aws.elb.extra_fields", "long_keyword",
          "a list; bare `-` placeholders are dropped", numbered=False),
)
REQUIRED = 12
COMMON = 29  # every line since 2020 has at least these
KNOWN = len(FIELDS)

def _fast_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns whose classes exclude only spaces and quotes (the fastest classes Python's re
    has): the caller must know the line holds no backslash or control character before trusting
    what they capture as JSON-safe."""
    parts = []
    for _, quoted, pattern in FIELDS:
        if quoted:
            parts.append('"' + (pattern or '([^"]*)') + '"')
        else:  # an unquoted token holding a `"` must go the slow (escaping) way
            parts.append((pattern or r"([^ ]+)").replace("[^ ]", '[^ "]'))
    return line_patterns(parts, REQUIRED, COMMON)


_FAST_RECENT, _FAST_ANY = _fast_patterns()
_GROUPS = sum(group_count(p or "()") for _, _, p in FIELDS)
_SLOW = [(name, re.compile((p or "(.*)") + r"\Z", re.ASCII), group_count(p or "()")) for name, _, p in FIELDS]


class AlbFormat(PatternDetection):
    name = "alb"
    title = "ALB access logs"
    fields = DOCUMENT_FIELDS
    dataset = "aws.elb"
    index_prefix = "alb-logs"

    # …/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/<account>_elasticloadbalancing_<region>_app.<lb>_<end>_<ip>_<random>.log.gz
    _KEY = re.compile(
        r"(?:^|/)AWSLogs/\d{12}/elasticloadbalancing/[^/]+/\d{4}/\d\d/\d\d/"
        r"\d{12}_elasticloadbalancing_[^_/]+_app\.[^/]*\Z"
    )
    _LINE = re.compile(r"[a-z0-9]+ " + _TIME + r" app/")

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        """`safe`: the caller checked that the line has no backslash or control character."""
        if safe:
            m = _FAST_RECENT.match(line) or _FAST_ANY.match(line)
            # A field that breaks the pattern leaves the later ones in the trailing group: only a
            # line that ended, or matched every known field, is taken as it is.
            if m is not None and (m.group(_GROUPS + 1) is None or m.group(_GROUPS) is not None):
                return _emit(m.groups())
        return _emit(_slow_groups(line))


def _cut_short(e: UnclosedQuote, first: int = 0) -> ParseError:
    """The error for a line that ends inside the quoted value of token `first + e.token`."""
    at = first + e.token
    field = f"quoted field {FIELDS[at][0]}" if at < KNOWN else f"quoted value of field {at + 1}"
    return ParseError(f"the line ends inside the {field}: cut short?")


def _slow_groups(line: str) -> tuple:
    """The fast pattern's groups, from a quote-aware tokenizer, with values JSON-escaped."""
    try:
        tokens = slow_tokens(line)
    except UnclosedQuote as e:  # e.g. the last line of a truncated object
        raise _cut_short(e) from None
    if len(tokens) < REQUIRED:
        raise ParseError(f"expected at least {REQUIRED} fields, found {len(tokens)}")
    groups: list = []
    for (name, pattern, count), token in zip(_SLOW, tokens):
        m = pattern.match(token)
        if m is None:
            raise ParseError(f"field {name} is not valid: {token[:60]!r}")
        groups.extend(m.groups())
    for _, _, count in _SLOW[len(tokens):]:
        groups.extend((None,) * count)
    groups.append(tokens[KNOWN:] or None)
    return tuple(groups)


def _emit(g: tuple) -> tuple[str, str]:
    """JSON members of an ALB document from its JSON-safe groups (None where the line ends early).

    Straight-line code on purpose: this runs once per log line."""
    (typ, ts, elb, cip, cport, tip, tport, rpt, tpt, respt, esc, tsc, rb, sb, request, ua, cipher,
     proto, tg, trace, domain, cert, prio, rct, actions, redirect, error, tpl, tscl, cls, clsr, conn,
     thost, turi, tstatus, node_ip, rest) = g

    # The patterns check the times' shape; possible_time their ranges (no month 13, no :60).
    if not possible_time(ts):
        raise ParseError(f"impossible timestamp {ts!r} in the time field")
    if rct is not None and rct != "-" and not possible_time(rct):
        raise ParseError(f"impossible timestamp {rct!r} in the request_creation_time field")
    out = ['"@timestamp":"' + ts + '","source":{"ip":"' + cip.strip("[]") + '","port":' + cport + "}"]
    add = out.append
    if tip is not None:
        add(',"destination":{"ip":"' + tip.strip("[]") + '","port":' + tport + "}")

    method = url = protocol = ""
    if request is not None:
        method, url, protocol = split_request(request)
    if method and method != "-":
        add(',"http":{"request":{"bytes":' + rb + ',"method":"' + method + '"},"response":{"bytes":' + sb)
    else:
        add(',"http":{"request":{"bytes":' + rb + '},"response":{"bytes":' + sb)
    if esc != "-":
        add(',"status_code":' + esc)
    if protocol[:5] == "HTTP/":
        add('},"version":"' + protocol[5:] + '"}')
    else:
        add("}}")
    if url and url != "-":
        add(',"url":{' + url_members(url, True) + "}")
    if ua is not None and ua != "-":
        add(',"user_agent":{"original":"' + ua + '"}')

    add(',"aws":{"elb":{"type":"' + typ + '","elb":"' + elb + '"')
    # -1: the request never reached (or never came back from) a target; absent, not -1 seconds.
    if rpt != "-1":
        add(',"request_processing_time":' + rpt)
    if tpt != "-1":
        add(',"target_processing_time":' + tpt)
    if respt != "-1":
        add(',"response_processing_time":' + respt)
    if tsc != "-":
        add(',"target_status_code":' + tsc)
    if cipher is not None:  # else the line ends after the twelfth field: nothing more to map
        if cipher != "-":
            add(',"ssl_cipher":"' + cipher + '"')
        if proto is not None and proto != "-":
            add(',"ssl_protocol":"' + proto + '"')
        if tg is not None and tg != "-":
            add(',"target_group_arn":"' + tg + '"')
        if trace is not None and trace != "-":
            add(',"trace_id":"' + trace + '"')
        if domain is not None and domain != "-":
            add(',"domain_name":"' + domain + '"')
        if cert is not None and cert != "-":
            add(',"chosen_cert_arn":"' + cert + '"')
        if prio is not None and prio != "-":  # -1 kept: a rule-evaluation error
            add(',"matched_rule_priority":' + prio)
        if rct is not None and rct != "-":
            add(',"request_creation_time":"' + rct + '"')
        if actions is not None and actions != "-":
            add(',"actions_executed":' + json_list(actions.split(",")))
        if redirect is not None and redirect != "-":
            add(',"redirect_url":"' + redirect + '"')
        if error is not None and error != "-":
            add(',"error_reason":"' + error + '"')
        if tpl is not None and tpl != "-":
            add(',"target_port_list":' + json_list(tpl.split()))
        if tscl is not None and tscl != "-":
            add(',"target_status_code_list":' + json_list(tscl.split()))
        if cls is not None and cls != "-":
            add(',"classification":"' + cls + '"')
        if clsr is not None and clsr != "-":
            add(',"classification_reason":"' + clsr + '"')
        if conn is not None and conn != "-":
            add(',"conn_trace_id":"' + conn + '"')
        if thost is not None and thost != "-":
            add(',"transformed_host":"' + thost + '"')
        if turi is not None and turi != "-":
            add(',"transformed_uri":"' + turi + '"')
        if tstatus is not None and tstatus != "-":
            add(',"request_transform_status":"' + tstatus + '"')
        if node_ip is not None and node_ip != "-":
            add(',"ip_address":"' + node_ip + '"')
        if rest is not None:  # a string (fast path) or escaped tokens (slow path)
            if rest.__class__ is str:
                # Shortcut for the usual tail, only `-` and `"-"` placeholders: what is left once
                # the `"-"` are gone holds no quote, so every token was `-`s or `"-"`s, which the
                # filter below drops. A space must not be stripped before the `"-"` are gone: `" -"`
                # is a field holding a space, kept by the filter (ingest/_native.c does the same).
                try:
                    rest = slow_tokens(rest) if rest.replace('"-"', "").strip(" -") else ()
                except UnclosedQuote as e:
                    raise _cut_short(e, KNOWN) from None
            # `-`: placeholders of fields not yet released. Tokens of only dashes and (escaped)
            # quotes say nothing either.
            kept = [t for t in rest if t.strip('\\"-')]
            if kept:
                add(',"extra_fields":' + json_list(kept))
    add("}}")
    return ts, "".join(out)


ALB = AlbFormat()
