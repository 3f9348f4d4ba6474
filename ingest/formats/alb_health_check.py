"""ALB health-check logs (the `health_check_log_` objects): one entry per health check a load
balancer node made of a target, with its result and, when it failed, why.

Fields are space-separated and never quoted. The documentation's examples end after reason_code
(field 8); elb and ip_address came later, and AWS appends more at the end (after `-`
placeholders), so fields 9 and 10 are optional and anything after them is kept in `extra_fields`.
"""
from __future__ import annotations

import re

from .base import (JSON_INT, PatternDetection, extra_fields, invalid_field, line_tokens, padded_fields, possible_time,
                   present_members, valid_ip)
from .fields import field

NS = "aws.alb_health_check"
_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_TIME_RE = re.compile(_TIME + r"\Z", re.ASCII)
_SECONDS = re.compile(JSON_INT + r"(?:\.[0-9]+)?\Z", re.ASCII)
_STATUS_CODE = re.compile(r"[1-5][0-9][0-9]\Z", re.ASCII)
# ip:port, IPv6 in brackets or not; anything else (a Lambda function's ARN) has no address.
_ADDRESS = re.compile(r"\[?([0-9A-Fa-f:.]+?)\]?:(" + JSON_INT + r")\Z", re.ASCII)

NAMES = ["type", "time", "latency", "target_addr", "target_group_id", "status", "status_code", "reason_code", "elb",
         "ip_address"]
REQUIRED = 8
KNOWN = len(NAMES)


class AlbHealthCheckFormat(PatternDetection):
    name = "alb-health-check"
    title = "ALB health-check logs"
    dataset = "aws.alb_health_check"
    index_prefix = "alb-health-check-logs"
    fields = (
        field("type", f"{NS}.type", "keyword", "`http`, `https`, `h2`, `grpc`, `lambda`"),
        field("time", "@timestamp", "date", "ISO 8601 UTC"),
        field("latency", f"{NS}.latency", "double", "seconds; absent when `-`"),
        field("target_addr", ("destination.ip", "destination.port", f"{NS}.target_addr"), ("ip", "integer", "keyword"),
              "always kept as logged; `ip:port` also gives `destination.*` (a Lambda target's ARN does not)"),
        field("target_group_id", f"{NS}.target_group_id", "keyword"),
        field("status", f"{NS}.status", "keyword", "`PASS` or `FAIL`"),
        field("status_code", "http.response.status_code", "integer", "the target's answer; absent when `-`"),
        field("reason_code", f"{NS}.reason_code", "keyword",
              "why a check failed: `TimedOut`, `ConnectionReset`, `ResponseCodeMismatch`, `TargetError`, …"),
        field("elb", f"{NS}.elb", "keyword"),
        field("ip_address", f"{NS}.ip_address", "keyword", "the load balancer node"),
        field("fields AWS appends later", f"{NS}.extra_fields", "keyword",
              "values other than `-` after the last known field", numbered=False),
    )

    # …/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/health_check_log_<account>_elasticloadbalancing_<region>_app.<lb>_<end>_<ip>_<random>.log.gz
    _KEY = re.compile(r"(?:^|/)health_check_log[._]\d{12}_elasticloadbalancing_[^/]*\Z")
    # type time latency target_addr target_group_id PASS|FAIL
    _LINE = re.compile(r"[a-z0-9]+ " + _TIME + r" (?:[0-9.]+|-) [^ ]+ [^ ]+ (?:PASS|FAIL) ")

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        tokens = line_tokens(line, safe, quoted=False)
        return _emit(padded_fields(tokens, REQUIRED, KNOWN))


def _invalid(index: int, token: str) -> ParseError:
    return invalid_field(NAMES[index], token)


def _emit(t: list[str]) -> tuple[str, str]:
    """JSON members from the (JSON-escaped) tokens, padded with `-` to the known fields."""
    typ, ts, latency, target, group, status, code, reason, elb, node = t[:KNOWN]
    if _TIME_RE.match(ts) is None or not possible_time(ts):
        raise _invalid(1, ts)
    if latency != "-" and _SECONDS.match(latency) is None:
        raise _invalid(2, latency)
    if code != "-" and _STATUS_CODE.match(code) is None:
        raise _invalid(6, code)
    out = ['"@timestamp":"' + ts + '"']
    add = out.append
    m = _ADDRESS.match(target)
    if m is not None and valid_ip(m.group(1)) and int(m.group(2)) <= 65535:
        add(',"destination":{"ip":"' + m.group(1) + '","port":' + m.group(2) + "}")
    if code != "-":
        add(',"http":{"response":{"status_code":' + code + "}}")
    aws = present_members((("type", typ),)) + present_members((("latency", latency),), quoted=False)
    aws += present_members((("target_addr", target), ("target_group_id", group), ("status", status),
                            ("reason_code", reason), ("elb", elb), ("ip_address", node)))
    add(',"aws":{"alb_health_check":{' + ",".join(aws) + extra_fields(t[KNOWN:]) + "}}")
    return ts, "".join(out)


ALB_HEALTH_CHECK = AlbHealthCheckFormat()
