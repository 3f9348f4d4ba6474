"""Network Load Balancer access logs (TLS listeners only: one entry per TLS connection).

Fields are separated by single spaces, in a fixed order, and none is quoted or holds a space (the
ALPN preference list is `"h2","http/1.1"`, quotes and all), so one pattern serves every line; on a
line not vouched JSON-safe the captured values are escaped afterwards. AWS appends fields at the
end (ALPN in 2020, tls_connection_creation_time later): every field after domain_name is
optional, `-` placeholders after the last known field are dropped, anything else there is kept in
`aws.nlb.extra_fields`. The times carry no zone (`2018-12-20T02:59:40`): they are UTC.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

from .base import (JSON_INT, ParseError, SpaceSeparated, SpaceSeparatedFormat, extra_fields_member, json_escape, json_list,
                   possible_time, tls_version_members)
from .fields import field

_TIME = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.[0-9]+)?)Z?"  # no zone in AWS's examples; a Z is tolerated
_MILLISECONDS = "(" + JSON_INT + r"(?:\.[0-9]+)?|-)"
_INT_OR_DASH = "(" + JSON_INT + "|-)"
_TOKEN = r"([^ ]+)"

# (AWS field name, pattern): the patterns validate numbers and times and split ip:port, so what
# they capture goes straight into JSON (escaped first when the line is not JSON-safe).
_FIELDS = [
    ("type", _TOKEN),
    ("version", _TOKEN),
    ("time", _TIME),
    ("elb", _TOKEN),
    ("listener", _TOKEN),
    ("client:port", r"([^ ]+):(" + JSON_INT + ")"),
    ("destination:port", r"([^ ]+):(" + JSON_INT + ")"),
    ("connection_time", _MILLISECONDS),
    ("tls_handshake_time", _MILLISECONDS),
    ("received_bytes", _INT_OR_DASH),
    ("sent_bytes", _INT_OR_DASH),
    ("incoming_tls_alert", _INT_OR_DASH),
    ("chosen_cert_arn", _TOKEN),
    ("chosen_cert_serial", _TOKEN),
    ("tls_cipher", _TOKEN),
    ("tls_protocol_version", _TOKEN),
    ("tls_named_group", _TOKEN),
    ("domain_name", _TOKEN),
    ("alpn_fe_protocol", _TOKEN),
    ("alpn_be_protocol", _TOKEN),
    ("alpn_client_preference_list", _TOKEN),
    ("tls_connection_creation_time", "(?:" + _TIME + "|-)"),
    ("tls_keyexchange", _TOKEN),
]
REQUIRED = 18  # through domain_name: the layout before ALPN (2020)
COMMON = 21  # through the ALPN fields: AWS's examples
KNOWN = len(_FIELDS)
# The fast patterns keep quotes out of every field but the ALPN list (which _alpn_list escapes), so
# on a line vouched free of backslashes and control characters what they capture is JSON-safe.
_LINE_FIELDS = SpaceSeparated(
    [p if name == "alpn_client_preference_list" else p.replace("[^ ]", '[^ "]') for name, p in _FIELDS],
    [p for _, p in _FIELDS], REQUIRED, COMMON, raw=frozenset({22}))  # 22: the ALPN list's group
_CHECKS = [(name, re.compile(p + r"\Z", re.ASCII)) for name, p in _FIELDS]

_NOTE_MS = "milliseconds"
FIELDS = (
    field("type", "aws.nlb.type", note="`tls`"),
    field("version", "aws.nlb.version", note="log entry version, `2.0`"),
    field("time", "@timestamp", "date", "end of the TLS connection; logged without a zone, UTC"),
    field("elb", "aws.nlb.elb", note="e.g. `net/my-network-loadbalancer/c6e77e28c25b2234`"),
    field("listener", "aws.nlb.listener", note="listener resource ID"),
    field("client:port", ("source.ip", "source.port"), ("ip", "integer")),
    field("destination:port", ("destination.ip", "destination.port"), ("ip", "integer"),
          "the listener, or the VPC endpoint"),
    field("connection_time", "aws.nlb.connection_time", "double", _NOTE_MS + ", the whole connection"),
    field("tls_handshake_time", "aws.nlb.tls_handshake_time", "double",
          _NOTE_MS + "; absent when there was no handshake or it failed"),
    field("received_bytes", "aws.nlb.received_bytes", "long", "from the client, after decryption"),
    field("sent_bytes", "aws.nlb.sent_bytes", "long", "to the client, before encryption"),
    field("incoming_tls_alert", "aws.nlb.incoming_tls_alert", "integer", "TLS alert from the client"),
    field("chosen_cert_arn", "aws.nlb.chosen_cert_arn", "long_keyword"),
    field("chosen_cert_serial", "aws.nlb.chosen_cert_serial", note="reserved, `-`"),
    field("tls_cipher", "tls.cipher", note="OpenSSL name"),
    field("tls_protocol_version", ("tls.version_protocol", "tls.version"), "keyword",
          "`tlsv12` → `tls`, `1.2` (ECS); a form not seen before whole in tls.version"),
    field("tls_named_group", "aws.nlb.tls_named_group", note="reserved, `-`"),
    field("domain_name", "tls.client.server_name", note="SNI, as logged (URL-encoded)"),
    field("alpn_fe_protocol", "aws.nlb.alpn_fe_protocol", note="ALPN with the client"),
    field("alpn_be_protocol", "aws.nlb.alpn_be_protocol", note="ALPN with the target"),
    field("alpn_client_preference_list", "aws.nlb.alpn_client_preference_list",
          note='a list, URL-decoded: `"h2","http/1.1"` → `["h2", "http/1.1"]`'),
    field("tls_connection_creation_time", "aws.nlb.tls_connection_creation_time", "date",
          "start of the TLS connection, UTC; added after 2023"),
    field("tls_keyexchange", "aws.nlb.tls_keyexchange",
          note="probable: AWS's record-field list names it, its place is assumed to be last"),
    field("fields after the last known one", "aws.nlb.extra_fields",
          note="what AWS appends later; `-` placeholders dropped", numbered=False),
)


def _why_not(line: str) -> str:
    tokens = line.split(" ")
    for (name, check), token in zip(_CHECKS, tokens):
        if check.match(token) is None:
            return f"field {name} is not valid: {token[:60]!r}"
    return f"expected at least {REQUIRED} space-separated fields, found {len(tokens)}: cut short?"


def _alpn_list(logged: str) -> str:
    """`"h2","http/1.1"` (URL-encoded, so perhaps `%22h2%22%2C…`) as a JSON array."""
    names = [json_escape(name.strip('"')) for name in unquote(logged).split(",")]
    return json_list([name for name in names if name])


def _emit(g: tuple) -> tuple[str, str]:
    """JSON members of an NLB document from JSON-safe groups (None where the line ends early)."""
    (typ, version, ts, elb, listener, cip, cport, dip, dport, conn_time, handshake, received, sent, alert,
     cert, serial, cipher, proto, group, domain, alpn_fe, alpn_be, alpn_list, created, keyexchange, rest) = g
    if not possible_time(ts):  # the pattern checks the shape, this the ranges (no month 13)
        raise ParseError(f"impossible timestamp {ts!r} in the time field")
    if created is not None and not possible_time(created):
        raise ParseError(f"impossible timestamp {created!r} in the tls_connection_creation_time field")
    ts += "Z"
    out = ['"@timestamp":"' + ts + '","source":{"ip":"' + cip.strip("[]") + '","port":' + cport
           + '},"destination":{"ip":"' + dip.strip("[]") + '","port":' + dport + "}"]
    add = out.append
    tls = []
    if cipher != "-":
        tls.append('"cipher":"' + cipher + '"')
    if proto != "-":
        tls.append(tls_version_members(proto))
    if domain != "-":
        tls.append('"client":{"server_name":"' + domain + '"}')
    if tls:
        add(',"tls":{' + ",".join(tls) + "}")
    add(',"aws":{"nlb":{"type":"' + typ + '","version":"' + version + '","elb":"' + elb + '","listener":"' + listener + '"')
    if conn_time != "-":
        add(',"connection_time":' + conn_time)
    if handshake != "-":
        add(',"tls_handshake_time":' + handshake)
    if received != "-":
        add(',"received_bytes":' + received)
    if sent != "-":
        add(',"sent_bytes":' + sent)
    if alert != "-":
        add(',"incoming_tls_alert":' + alert)
    if cert != "-":
        add(',"chosen_cert_arn":"' + cert + '"')
    if serial != "-":
        add(',"chosen_cert_serial":"' + serial + '"')
    if group != "-":
        add(',"tls_named_group":"' + group + '"')
    if alpn_fe is not None:  # else the line ends before the ALPN fields (before 2020)
        if alpn_fe != "-":
            add(',"alpn_fe_protocol":"' + alpn_fe + '"')
        if alpn_be is not None and alpn_be != "-":
            add(',"alpn_be_protocol":"' + alpn_be + '"')
        if alpn_list is not None and alpn_list != "-":
            add(',"alpn_client_preference_list":' + _alpn_list(alpn_list))
        if created is not None:
            add(',"tls_connection_creation_time":"' + created + 'Z"')
        if keyexchange is not None and keyexchange != "-":
            add(',"tls_keyexchange":"' + keyexchange + '"')
        add(extra_fields_member(rest))
    add("}}")
    return ts, "".join(out)


class NlbFormat(SpaceSeparatedFormat):
    name = "nlb"
    title = "NLB access logs"
    dataset = "aws.nlb"
    index_prefix = "nlb-logs"
    fields = FIELDS

    # …/<account>_elasticloadbalancing_<region>_net.<lb>.<id>_<end>_<random>.log.gz (no node IP)
    _KEY = re.compile(r"(?:^|/)\d{12}_elasticloadbalancing_[^_/]+_net\.[^/]*\Z")
    _LINE = re.compile(r"tls [0-9.]+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^ ]* net/")
    _LINE_FIELDS = _LINE_FIELDS
    _emit = staticmethod(_emit)
    _why_not = staticmethod(_why_not)


NLB = NlbFormat()
