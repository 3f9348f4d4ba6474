"""ALB health-check log parsing, specified by AWS's documented examples (log-formats.md §1.8) and
the shapes the health-check-log page describes: failures with their reason codes, Lambda targets
(an ARN, no address), IPv6 targets, `-` fields, fields appended later, lines cut short."""
from __future__ import annotations

import json

import pytest
from ingest.formats import FORMATS, ParseError

from .conftest import load_examples, parse_with

HC = FORMATS["alb-health-check"]
EXAMPLES = load_examples("alb_health_check_doc_examples.log")
FIELDS = ["http", "2025-10-31T12:44:58.901409Z", "1.121980746", "172.31.31.9:80", "HCLogsTestIPs", "FAIL", "502",
          "TargetError"]
LATER = ["app/my-loadbalancer/50dc6c495c0c9188", "10.0.1.23"]  # fields 9-10
LAMBDA_ARN = "arn:aws:lambda:us-east-2:123456789012:function:my-function:1"


def parse(line: str) -> dict:
    return parse_with(HC, line)


def with_fields(*extra: str, **replacements: str) -> str:
    """The documented failed entry with fields (by 1-based position, f3=...) replaced and `extra` appended."""
    fields = list(FIELDS)
    for name, value in replacements.items():
        fields[int(name[1:]) - 1] = value
    return " ".join(fields + list(extra))


def test_the_fields_are_the_doc_example():
    assert with_fields() == EXAMPLES["http_fail_target_error"]


def test_documented_passing_check_becomes_exactly_this_document():
    assert parse(EXAMPLES["http_pass"]) == {
        "@timestamp": "2025-10-31T12:44:59.875678Z",
        "destination": {"ip": "172.31.20.97", "port": 80},
        "http": {"response": {"status_code": 200}},
        "aws": {"alb_health_check": {"type": "http", "latency": 0.019584011, "target_addr": "172.31.20.97:80",
                                     "target_group_id": "HCLogsTestIPs", "status": "PASS"}},
    }


def test_documented_failed_check_keeps_its_reason_code():
    assert parse(EXAMPLES["http_fail_target_error"]) == {
        "@timestamp": "2025-10-31T12:44:58.901409Z",
        "destination": {"ip": "172.31.31.9", "port": 80},
        "http": {"response": {"status_code": 502}},
        "aws": {"alb_health_check": {"type": "http", "latency": 1.121980746, "target_addr": "172.31.31.9:80",
                                     "target_group_id": "HCLogsTestIPs", "status": "FAIL",
                                     "reason_code": "TargetError"}},
    }


def test_the_fields_added_after_the_examples_are_mapped():
    aws = parse(with_fields(*LATER))["aws"]["alb_health_check"]
    assert (aws["elb"], aws["ip_address"]) == tuple(LATER)
    assert "extra_fields" not in aws


def test_a_timed_out_check_has_no_status_code_and_no_latency():
    doc = parse(with_fields(f3="-", f7="-", f8="TimedOut"))
    assert "http" not in doc
    assert "latency" not in doc["aws"]["alb_health_check"]
    assert doc["aws"]["alb_health_check"]["reason_code"] == "TimedOut"


def test_a_lambda_target_keeps_its_arn_and_has_no_destination():
    # a qualified ARN ends in `:1`: it must not be taken for an address and a port
    doc = parse(with_fields(f1="lambda", f4=LAMBDA_ARN, f7="-"))
    assert "destination" not in doc
    assert doc["aws"]["alb_health_check"]["target_addr"] == LAMBDA_ARN


@pytest.mark.parametrize("logged", ["[2001:db8::21]:8080", "2001:db8::21:8080"])
def test_an_ipv6_target_is_the_destination(logged):
    doc = parse(with_fields(f4=logged))
    assert doc["destination"]["port"] == 8080
    assert doc["aws"]["alb_health_check"]["target_addr"] == logged


def test_dash_everywhere_but_the_time_gives_a_document_with_only_the_time():
    line = " ".join(["-", FIELDS[1], *["-"] * 8])
    assert parse(line) == {"@timestamp": FIELDS[1], "aws": {"alb_health_check": {}}}


def test_placeholders_after_the_last_field_are_dropped_and_values_kept():
    assert "extra_fields" not in parse(with_fields(*LATER, "-", "-"))["aws"]["alb_health_check"]
    assert parse(with_fields(*LATER, "-", "future-value"))["aws"]["alb_health_check"]["extra_fields"] == ["future-value"]


def test_a_quote_is_part_of_a_value_no_field_is_quoted():
    doc = parse(with_fields(f5='tg"x'))
    assert doc["aws"]["alb_health_check"]["target_group_id"] == 'tg"x'


@pytest.mark.parametrize("line, reason", [
    (" ".join(FIELDS[:7]), "expected at least 8 fields, found 7"),
    (with_fields(f2="2025-10-31T25:44:58.901409Z"), "field time is not valid"),
    (with_fields(f3="fast"), "field latency is not valid"),
    (with_fields(f7="OK"), "field status_code is not valid"),
])
def test_a_line_that_is_not_a_health_check_record_is_a_parse_error_saying_why(line, reason):
    with pytest.raises(ParseError, match=reason):
        HC.to_json(line)


def test_a_value_that_starts_with_a_quote_keeps_it():
    doc = parse(with_fields(f8='"TargetError"'))
    assert doc["aws"]["alb_health_check"]["reason_code"] == '"TargetError"'
    assert parse(with_fields(f5='"tg'))["aws"]["alb_health_check"]["target_group_id"] == '"tg'


def test_a_target_port_up_to_65535_is_the_destination_port_and_65536_is_no_port():
    assert parse(with_fields(f4="172.31.31.9:65535"))["destination"] == {"ip": "172.31.31.9", "port": 65535}
    doc = parse(with_fields(f4="172.31.31.9:65536"))
    assert "destination" not in doc
    assert doc["aws"]["alb_health_check"]["target_addr"] == "172.31.31.9:65536"


def test_a_caller_that_does_not_vouch_for_the_line_gets_its_backslashes_escaped():
    # `safe` defaults to False: only a caller that checked the line may skip the escaping.
    ts, members = HC.to_json(with_fields(f5="tg\\x"))
    assert json.loads("{" + members + "}")["aws"]["alb_health_check"]["target_group_id"] == "tg\\x"
