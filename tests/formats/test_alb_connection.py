"""ALB connection log parsing, specified by AWS's documented examples (log-formats.md §1.7) and the
shapes the connection-log page describes: plain listeners (`-` for every TLS field), failed
handshakes, mutual TLS, IPv6 clients, fields appended later, lines cut short."""
from __future__ import annotations

import json

import pytest
from ingest.formats import FORMATS, ParseError

from .conftest import load_examples, parse_with

CONN = FORMATS["alb-connection"]
EXAMPLES = load_examples("alb_connection_doc_examples.log")
SUBJECT = "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US"
# The documented mTLS entry's 12 fields, one list item per field, so tests can cut or replace fields.
FIELDS = ["2023-10-04T17:05:15.514108Z", "203.0.113.1", "36280", "443", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256",
          "4.036", f'"{SUBJECT}"', "NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z", "FEF257372D5C14D4",
          "Success", "TID_3180a73013c8ca4bac2f731159d4b0fe"]
LATER = ["X25519MLKEM768", "app/my-loadbalancer/50dc6c495c0c9188", "10.0.1.23"]  # fields 13-15


def parse(line: str) -> dict:
    return parse_with(CONN, line)


def with_fields(*extra: str, **replacements: str) -> str:
    """The documented entry with fields (by 1-based position, f7=...) replaced and `extra` appended."""
    fields = list(FIELDS)
    for name, value in replacements.items():
        fields[int(name[1:]) - 1] = value
    return " ".join(fields + list(extra))


def test_the_fields_are_the_joined_doc_example():
    assert with_fields() == EXAMPLES["mtls_success"]


def test_documented_mtls_entry_becomes_exactly_this_document():
    assert parse(EXAMPLES["mtls_success"]) == {
        "@timestamp": "2023-10-04T17:05:15.514108Z",
        "source": {"ip": "203.0.113.1", "port": 36280},
        "tls": {"version_protocol": "tls", "version": "1.2", "cipher": "ECDHE-RSA-AES128-GCM-SHA256",
                "client": {"subject": SUBJECT, "not_before": "2023-09-21T22:43:21Z",
                           "not_after": "2026-06-17T22:43:21Z", "x509": {"serial_number": "FEF257372D5C14D4"}}},
        "aws": {"alb_connection": {"listener_port": 443, "tls_handshake_latency": 4.036,
                                   "tls_verify_status": "Success",
                                   "conn_trace_id": "TID_3180a73013c8ca4bac2f731159d4b0fe"}},
    }


def test_documented_untrusted_client_certificate_has_no_latency_and_keeps_the_failure_reason():
    doc = parse(EXAMPLES["mtls_client_cert_untrusted"])
    assert doc["aws"]["alb_connection"] == {
        "listener_port": 443, "tls_verify_status": "Failed:ClientCertUntrusted",
        "conn_trace_id": "TID_1c71a68d70587445ad5127ff8b2687d7"}
    assert doc["tls"]["client"]["subject"] == SUBJECT


def test_the_fields_added_after_the_examples_are_mapped():
    doc = parse(with_fields(*LATER))
    assert doc["aws"]["alb_connection"]["tls_keyexchange"] == "X25519MLKEM768"
    assert doc["aws"]["alb_connection"]["elb"] == "app/my-loadbalancer/50dc6c495c0c9188"
    assert doc["aws"]["alb_connection"]["ip_address"] == "10.0.1.23"
    assert "extra_fields" not in doc["aws"]["alb_connection"]


def test_a_plain_http_listener_has_dash_for_every_tls_field_and_no_tls_object():
    line = with_fields(f4="80", f5="-", f6="-", f7="-", f8='"-"', f9="-", f10="-", f11="-")
    doc = parse(line)
    assert "tls" not in doc
    assert doc["aws"]["alb_connection"] == {"listener_port": 80, "conn_trace_id": FIELDS[11]}


def test_an_unquoted_dash_subject_is_absent_like_a_quoted_one():
    assert parse(with_fields(f8="-")) == parse(with_fields(f8='"-"'))
    assert "subject" not in parse(with_fields(f8="-"))["tls"]["client"]


def test_a_subject_with_spaces_stays_one_field():
    doc = parse(with_fields(f8='"CN=John Doe,OU=Payments Team,O=Example Corp"'))
    assert doc["tls"]["client"]["subject"] == "CN=John Doe,OU=Payments Team,O=Example Corp"
    assert doc["tls"]["client"]["x509"]["serial_number"] == "FEF257372D5C14D4"


def test_an_ipv6_client_is_the_source_ip():
    assert parse(with_fields(f2="2001:db8:85a3::8a2e:370:7334"))["source"] == {
        "ip": "2001:db8:85a3::8a2e:370:7334", "port": 36280}


@pytest.mark.parametrize("logged, protocol, version", [
    ("TLSv1.3", "tls", "1.3"), ("TLSv1.2", "tls", "1.2"), ("TLSv1.1", "tls", "1.1"), ("TLSv1", "tls", "1.0")])
def test_the_tls_protocol_is_split_as_ecs_does(logged, protocol, version):
    tls = parse(with_fields(f5=logged))["tls"]
    assert (tls["version_protocol"], tls["version"]) == (protocol, version)


def test_a_tls_protocol_of_another_shape_is_kept_as_logged():
    doc = parse(with_fields(f5="QUICv1"))
    assert doc["aws"]["alb_connection"]["tls_protocol"] == "QUICv1"
    assert "version" not in doc["tls"]


def test_a_certificate_validity_of_another_shape_is_kept_as_logged_not_lost():
    for odd in ("NotBefore=2023-09-21;NotAfter=2026-06-17", "NotBefore=2023-02-30T00:00:00Z;NotAfter=2026-06-17T22:43:21Z"):
        doc = parse(with_fields(f9=odd))
        assert doc["aws"]["alb_connection"]["leaf_client_cert_validity"] == odd
        assert "not_before" not in doc["tls"]["client"]


def test_a_line_from_before_conn_trace_id_parses():
    doc = parse(" ".join(FIELDS[:11]))
    assert "conn_trace_id" not in doc["aws"]["alb_connection"]


def test_placeholders_after_the_last_field_are_dropped_and_values_kept():
    assert "extra_fields" not in parse(with_fields(*LATER, "-", '"-"'))["aws"]["alb_connection"]
    assert parse(with_fields(*LATER, "-", "future-value"))["aws"]["alb_connection"]["extra_fields"] == ["future-value"]


@pytest.mark.parametrize("line, reason", [
    (" ".join(FIELDS[:10]), "expected at least 11 fields, found 10"),
    (with_fields(f1="2023-10-04 17:05:15"), "field timestamp is not valid"),
    (with_fields(f1="2023-02-29T17:05:15.514108Z"), "field timestamp is not valid"),
    (with_fields(f2="203.0.113.256"), "field client_ip is not valid"),
    (with_fields(f2="not-an-ip"), "field client_ip is not valid"),
    (with_fields(f3="70000"), "field client_port is not valid"),
    (with_fields(f4="-"), "field listener_port is not valid"),
    (with_fields(f7="4,036"), "field tls_handshake_latency is not valid"),
])
def test_a_line_that_is_not_a_connection_record_is_a_parse_error_saying_why(line, reason):
    with pytest.raises(ParseError, match=reason):
        CONN.to_json(line)


def test_a_line_cut_inside_the_subject_is_a_parse_error_not_a_document():
    line = EXAMPLES["mtls_success"]
    cut = line[:line.index('"') + 10]
    for safe in (False, True):
        with pytest.raises(ParseError, match="ends inside the quoted value of leaf_client_cert_subject"):
            CONN.to_json(cut, safe)


def test_quotes_and_backslashes_in_the_subject_are_escaped():
    doc = parse(with_fields(f8=r'"CN=a\"b\\c"'))
    assert doc["tls"]["client"]["subject"] == r'CN=a\"b\\c'


def test_ports_up_to_65535_are_taken_and_65536_is_not():
    assert parse(with_fields(f3="65535", f4="65535"))["source"]["port"] == 65535
    for field in ("f3", "f4"):
        with pytest.raises(ParseError, match="port is not valid: '65536'"):
            CONN.to_json(with_fields(**{field: "65536"}))


def test_a_caller_that_does_not_vouch_for_the_line_gets_its_backslashes_escaped():
    # `safe` defaults to False: only a caller that checked the line may skip the escaping.
    ts, members = CONN.to_json(with_fields(f8='"CN=a\\b"'))
    assert json.loads("{" + members + "}")["tls"]["client"]["subject"] == "CN=a\\b"


def test_a_line_cut_inside_a_quoted_value_after_the_known_fields_names_its_place():
    line = with_fields(*LATER, '"new val')
    for safe in (True, False):
        with pytest.raises(ParseError, match="the line ends inside the quoted value of field 16: cut short"):
            CONN.to_json(line, safe)
