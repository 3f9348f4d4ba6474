"""Classic Load Balancer access log parsing, specified by AWS's documented examples and the shapes
real files take."""
from __future__ import annotations

import pytest

from ingest.formats import FORMATS, ParseError

from .conftest import CLB_EXAMPLES, parse_with

CLB = FORMATS["clb"]
# The documented HTTP entry, one list item per field, so tests can cut or replace fields.
FIELDS = ["2015-05-13T23:39:43.945958Z", "my-loadbalancer", "192.168.131.39:2817", "10.0.0.1:80", "0.000073",
          "0.001048", "0.000057", "200", "200", "0", "29", '"GET http://www.example.com:80/ HTTP/1.1"',
          '"curl/7.38.0"', "-", "-"]


def clb(line: str) -> dict:
    return parse_with(CLB, line)


def with_fields(*extra: str, **replacements: str) -> str:
    """The documented HTTP entry with fields (by 1-based AWS position, e.g. f4=...) replaced, `extra` appended."""
    fields = list(FIELDS)
    for name, value in replacements.items():
        fields[int(name[1:]) - 1] = value
    return " ".join(fields + list(extra))


def test_the_fields_above_are_the_documented_http_entry():
    assert with_fields() == CLB_EXAMPLES["http"]


# --- golden documents -----------------------------------------------------------------------------

def test_documented_http_entry_becomes_exactly_this_document():
    assert clb(CLB_EXAMPLES["http"]) == {
        "@timestamp": "2015-05-13T23:39:43.945958Z",
        "source": {"ip": "192.168.131.39", "port": 2817},
        "destination": {"ip": "10.0.0.1", "port": 80},
        "http": {"request": {"bytes": 0, "method": "GET"}, "response": {"bytes": 29, "status_code": 200},
                 "version": "1.1"},
        "url": {"original": "http://www.example.com:80/", "scheme": "http", "domain": "www.example.com", "port": 80,
                "path": "/"},
        "user_agent": {"original": "curl/7.38.0"},
        "aws": {"clb": {"elb": "my-loadbalancer", "request_processing_time": 0.000073,
                        "backend_processing_time": 0.001048, "response_processing_time": 0.000057,
                        "backend_status_code": 200}},
    }


def test_documented_https_entry_has_the_cipher_and_the_ecs_split_protocol():
    doc = clb(CLB_EXAMPLES["https"])
    assert doc["tls"] == {"cipher": "DHE-RSA-AES128-SHA", "version_protocol": "tls", "version": "1.2"}
    assert doc["url"]["scheme"] == "https" and doc["url"]["port"] == 443


def test_documented_tcp_entry_has_no_request_status_or_user_agent():
    assert clb(CLB_EXAMPLES["tcp"]) == {
        "@timestamp": "2015-05-13T23:39:43.945958Z",
        "source": {"ip": "192.168.131.39", "port": 2817},
        "destination": {"ip": "10.0.0.1", "port": 80},
        "http": {"request": {"bytes": 82}, "response": {"bytes": 305}},
        "aws": {"clb": {"elb": "my-loadbalancer", "request_processing_time": 0.001069,
                        "backend_processing_time": 0.000028, "response_processing_time": 0.000041}},
    }


def test_documented_ssl_entry_is_a_tcp_entry_with_tls():
    doc = clb(CLB_EXAMPLES["ssl"])
    assert "url" not in doc and "status_code" not in doc["http"]["response"]
    assert doc["tls"] == {"cipher": "ECDHE-ECDSA-AES128-GCM-SHA256", "version_protocol": "tls", "version": "1.2"}


# --- edge cases -----------------------------------------------------------------------------------

def test_a_request_that_reached_no_backend_has_no_destination_timings_or_backend_status():
    doc = clb(with_fields(f4="-", f5="-1", f6="-1", f7="-1", f8="503", f9="-"))
    assert "destination" not in doc
    assert doc["aws"]["clb"] == {"elb": "my-loadbalancer"}
    assert doc["http"]["response"]["status_code"] == 503


def test_ipv6_clients_split_at_the_last_colon():
    assert clb(with_fields(f3="2001:db8::1:2817"))["source"] == {"ip": "2001:db8::1", "port": 2817}


def test_a_line_from_before_2015_ends_after_the_request():
    doc = clb(" ".join(FIELDS[:12]))
    assert doc["url"]["original"] == "http://www.example.com:80/"
    assert "user_agent" not in doc and "tls" not in doc


def test_a_user_agent_with_spaces_and_escaped_quotes_survives():
    ua = r'"Mozilla/5.0 (X11; Linux x86_64) \"quoted\""'
    assert clb(with_fields(f13=ua))["user_agent"]["original"] == r'Mozilla/5.0 (X11; Linux x86_64) \"quoted\"'


def test_fields_aws_appends_later_are_kept_and_placeholders_dropped():
    assert clb(with_fields("-", '"-"', "new-field"))["aws"]["clb"]["extra_fields"] == ["new-field"]
    assert "extra_fields" not in clb(with_fields("-", '"-"'))["aws"]["clb"]


@pytest.mark.parametrize("line, reason", [
    ('2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 '
     '200 200 0 29 "GET http://www.exa', "ends inside the quoted request"),  # the last line of a cut object
    (" ".join(FIELDS[:9]), "expected at least 12"),
    (with_fields(f1="2015-02-29T23:39:43.945958Z"), "impossible timestamp"),
    (with_fields(f5="fast"), "field request_processing_time"),
    (with_fields(f10="-"), "field received_bytes"),
])
def test_a_line_that_does_not_parse_says_why(line, reason):
    for safe in (True, False):
        with pytest.raises(ParseError, match=reason):
            CLB.to_json(line, safe)


def test_a_quoted_value_aws_appends_is_kept_whole_and_a_line_cut_inside_it_is_a_parse_error():
    # As for the request and the user agent: a quoted value is one field, spaces and all; cut short
    # (the last line of a truncated object), it must not become a document holding its pieces.
    assert clb(with_fields('"new value"', "next"))["aws"]["clb"]["extra_fields"] == ["new value", "next"]
    for safe in (True, False):
        with pytest.raises(ParseError, match="the line ends inside the quoted field 17: cut short"):
            CLB.to_json(with_fields('"-"', '"new val'), safe)


def test_a_line_cut_inside_a_quoted_value_after_the_known_fields_names_its_place():
    # A run of two spaces makes the patterns refuse the line, so the reason comes from the tokens.
    line = with_fields('"new val').replace(" 0 29 ", "  0 29 ")
    for safe in (True, False):
        with pytest.raises(ParseError, match="the line ends inside the quoted field 16: cut short"):
            CLB.to_json(line, safe)


@pytest.mark.parametrize("where", [" 0 29 ", ' "curl/7.38.0" ', " - -"])
def test_a_line_of_valid_fields_not_separated_by_single_spaces_says_so_and_blames_no_field(where):
    line = with_fields().replace(where, where.replace(" ", "  ", 1), 1)
    for safe in (True, False):
        with pytest.raises(ParseError, match="^15 valid fields, but not separated by single spaces$"):
            CLB.to_json(line, safe)


def test_a_line_from_before_2015_not_separated_by_single_spaces_says_so_too():
    line = " ".join(FIELDS[:12]).replace(" 0 29 ", "  0 29 ")
    with pytest.raises(ParseError, match="^12 valid fields, but not separated by single spaces$"):
        CLB.to_json(line)


def test_bracketed_ipv6_client_and_backend_lose_their_brackets_and_nothing_else():
    doc = clb(with_fields(f3="[2001:db8::1]:2817", f4="[2001:db8::2]:80"))
    assert (doc["source"], doc["destination"]) == ({"ip": "2001:db8::1", "port": 2817}, {"ip": "2001:db8::2", "port": 80})
    # Not an IP (OpenSearch refuses the document, which goes to the dead letter): still as logged.
    doc = clb(with_fields(f3="XFF:2817", f4="XFF:80"))
    assert (doc["source"]["ip"], doc["destination"]["ip"]) == ("XFF", "XFF")


def test_placeholders_inside_a_request_are_left_out_not_kept_as_values():
    # The malformed request ALB and Classic log for a request they could not parse (`- url -`), and a
    # request without a URL.
    doc = clb(with_fields(f12='"- http://www.example.com:80- -"'))
    assert "method" not in doc["http"]["request"] and "version" not in doc["http"]
    assert doc["url"] == {"original": "http://www.example.com:80-"}
    doc = clb(with_fields(f12='"GET - HTTP/1.1"'))
    assert (doc["http"]["request"]["method"], doc["http"]["version"]) == ("GET", "1.1")
    assert "url" not in doc


def test_the_reason_quotes_an_invalid_field_up_to_60_characters():
    with pytest.raises(ParseError) as refused:
        CLB.to_json(with_fields(f5="9" * 59 + "xy" + "z" * 40), False)
    assert str(refused.value) == "field request_processing_time is not valid: '" + "9" * 59 + "x'"
