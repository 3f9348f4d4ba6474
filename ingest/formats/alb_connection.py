"""ALB connection logs (the `conn_log_` objects): one entry per client connection attempt, with its
TLS handshake (protocol, cipher, latency) and, for mutual TLS, the client's leaf certificate and
its verification result.

Fields are space-separated; only the certificate subject is quoted (it may hold spaces). The
documentation's examples end after conn_trace_id (field 12); tls_keyexchange, elb and ip_address
came later, and AWS appends more at the end (after `-` placeholders), so every field after the
eleventh is optional and anything after the last known one is kept in `extra_fields`.
"""
from __future__ import annotations

import re

from .base import (JSON_INT, ParseError, PatternDetection, UnclosedQuote, extra_fields, invalid_field, line_tokens,
                   padded_fields, possible_time, present_members, valid_ip)
from .fields import field

NS = "aws.alb_connection"
_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_TIME_RE = re.compile(_TIME + r"\Z", re.ASCII)
_PORT = re.compile(JSON_INT + r"\Z", re.ASCII)
_SECONDS = re.compile(JSON_INT + r"(?:\.[0-9]+)?\Z", re.ASCII)
# TLSv1.2 → ("tls", "1.2"), as ECS splits tls.version_protocol and tls.version; TLSv1 is 1.0.
_PROTOCOL = re.compile(r"(TLS|SSL)v([0-9])(?:\.([0-9]))?\Z", re.ASCII)
_VALIDITY = re.compile(r"NotBefore=(" + _TIME + r");NotAfter=(" + _TIME + r")\Z", re.ASCII)

NAMES = ["timestamp", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher",
         "tls_handshake_latency", "leaf_client_cert_subject", "leaf_client_cert_validity",
         "leaf_client_cert_serial_number", "tls_verify_status", "conn_trace_id", "tls_keyexchange", "elb",
         "ip_address"]
REQUIRED = 11  # conn_trace_id may be missing from the first lines of late 2023
KNOWN = len(NAMES)


class AlbConnectionFormat(PatternDetection):
    name = "alb-connection"
    title = "ALB connection logs"
    dataset = "aws.alb_connection"
    index_prefix = "alb-connection-logs"
    fields = (
        field("timestamp", "@timestamp", "date", "when the connection attempt ended, ISO 8601 UTC"),
        field("client_ip", "source.ip", "ip"),
        field("client_port", "source.port", "integer"),
        field("listener_port", f"{NS}.listener_port", "integer"),
        field("tls_protocol", ("tls.version_protocol", "tls.version", f"{NS}.tls_protocol"), "keyword",
              "`TLSv1.2` gives `tls` and `1.2` (ECS); a value of another shape is kept as logged in "
              f"`{NS}.tls_protocol`; absent when not TLS"),
        field("tls_cipher", "tls.cipher", "keyword", "absent when not TLS"),
        field("tls_handshake_latency", f"{NS}.tls_handshake_latency", "double",
              "seconds; absent when not TLS or the handshake failed"),
        field("leaf_client_cert_subject", "tls.client.subject", "long_keyword", "mutual TLS only"),
        field("leaf_client_cert_validity", ("tls.client.not_before", "tls.client.not_after",
                                            f"{NS}.leaf_client_cert_validity"), ("date", "date", "keyword"),
              "`NotBefore=…;NotAfter=…` gives the two dates; a value of another shape is kept as logged"),
        field("leaf_client_cert_serial_number", "tls.client.x509.serial_number", "keyword"),
        field("tls_verify_status", f"{NS}.tls_verify_status", "keyword",
              "`Success`, or `Failed:<reason>` (e.g. `Failed:ClientCertUntrusted`)"),
        field("conn_trace_id", f"{NS}.conn_trace_id", "keyword",
              "`TID_…`: the access log's `aws.elb.conn_trace_id` for the requests of this connection"),
        field("tls_keyexchange", f"{NS}.tls_keyexchange", "keyword", "TLS or PQ-TLS key exchange"),
        field("elb", f"{NS}.elb", "keyword"),
        field("ip_address", f"{NS}.ip_address", "keyword", "the load balancer node"),
        field("fields AWS appends later", f"{NS}.extra_fields", "keyword",
              "values other than `-` after the last known field", numbered=False),
    )

    # …/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/conn_log_<account>_elasticloadbalancing_<region>_app.<lb>_<end>_<ip>_<random>.log.gz
    # (the current page spells the first separator `.`, the 2023 one `_`: both are taken).
    _KEY = re.compile(r"(?:^|/)conn_log[._]\d{12}_elasticloadbalancing_[^/]*\Z")
    # timestamp client_ip client_port listener_port
    _LINE = re.compile(_TIME + r" [0-9a-fA-F.:]+ \d+ \d+ ")

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        try:
            tokens = line_tokens(line, safe)
        except UnclosedQuote as e:  # e.g. the last line of a truncated object
            at = NAMES[e.token] if e.token < KNOWN else f"field {e.token + 1}"
            raise ParseError(f"the line ends inside the quoted value of {at}: cut short?") from None
        return _emit(padded_fields(tokens, REQUIRED, KNOWN))


def _invalid(index: int, token: str) -> ParseError:
    return invalid_field(NAMES[index], token)


def _emit(t: list[str]) -> tuple[str, str]:
    """JSON members from the (JSON-escaped) tokens, padded with `-` to the known fields."""
    ts, cip, cport, lport, proto, cipher, latency, subject, validity, serial, verify, trace, kex, elb, node = t[:KNOWN]
    if _TIME_RE.match(ts) is None or not possible_time(ts):
        raise _invalid(0, ts)
    if not valid_ip(cip):
        raise _invalid(1, cip)
    for i, port in ((2, cport), (3, lport)):
        if _PORT.match(port) is None or int(port) > 65535:
            raise _invalid(i, port)
    if latency != "-" and _SECONDS.match(latency) is None:
        raise _invalid(6, latency)
    out = ['"@timestamp":"' + ts + '","source":{"ip":"' + cip + '","port":' + cport + "}"]
    add = out.append
    aws = ['"listener_port":' + lport]

    tls = []
    if proto != "-":
        m = _PROTOCOL.match(proto)
        if m is None:
            aws.append('"tls_protocol":"' + proto + '"')
        else:
            family, major, minor = m.groups()
            tls.append('"version_protocol":"' + family.lower() + '","version":"' + major + "." + (minor or "0") + '"')
    if cipher != "-":
        tls.append('"cipher":"' + cipher + '"')
    client = []
    if subject != "-":
        client.append('"subject":"' + subject + '"')
    if validity != "-":
        m = _VALIDITY.match(validity)
        if m is not None and possible_time(m.group(1)) and possible_time(m.group(2)):
            client.append('"not_before":"' + m.group(1) + '","not_after":"' + m.group(2) + '"')
        else:  # kept, never a reason to lose the connection's record
            aws.append('"leaf_client_cert_validity":"' + validity + '"')
    if serial != "-":
        client.append('"x509":{"serial_number":"' + serial + '"}')
    if client:
        tls.append('"client":{' + ",".join(client) + "}")
    if tls:
        add(',"tls":{' + ",".join(tls) + "}")

    aws += present_members((("tls_handshake_latency", latency),), quoted=False)
    aws += present_members((("tls_verify_status", verify), ("conn_trace_id", trace), ("tls_keyexchange", kex),
                            ("elb", elb), ("ip_address", node)))
    add(',"aws":{"alb_connection":{' + ",".join(aws) + extra_fields(t[KNOWN:]) + "}}")
    return ts, "".join(out)


ALB_CONNECTION = AlbConnectionFormat()
