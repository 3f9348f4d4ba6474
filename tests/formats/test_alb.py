"""ALB access log parsing, specified by AWS's documented examples and the shapes real files take."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.formats import ALB, ParseError

TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"

# The documented HTTP entry's 29 fields, one list item per field, so tests can cut or replace fields.
HTTP_FIELDS = [
    "http", "2018-07-02T22:23:00.186641Z", "app/my-loadbalancer/50dc6c495c0c9188", "192.168.131.39:2817",
    "10.0.0.1:80", "0.000", "0.001", "0.000", "200", "200", "34", "366",
    '"GET http://www.example.com:80/ HTTP/1.1"', '"curl/7.46.0"', "-", "-", TG,
    '"Root=1-58337262-36d228ad5d99923122bbe354"', '"-"', '"-"', "0", "2018-07-02T22:22:48.364000Z",
    '"forward"', '"-"', '"-"', '"10.0.0.1:80"', '"200"', '"-"', '"-"',
]


def with_fields(**replacements: str) -> str:
    """The HTTP entry with some fields (by 1-based AWS position, e.g. f5=...) replaced."""
    fields = list(HTTP_FIELDS)
    for name, value in replacements.items():
        fields[int(name[1:]) - 1] = value
    return " ".join(fields)


def test_the_fields_of_the_documented_http_entry_are_the_joined_doc_example(alb_examples):
    assert " ".join(HTTP_FIELDS) == alb_examples["http"]


# --- golden documents -----------------------------------------------------------------------------

def test_documented_http_entry_becomes_exactly_this_document(alb, alb_examples):
    assert alb(alb_examples["http"]) == {
        "@timestamp": "2018-07-02T22:23:00.186641Z",
        "source": {"ip": "192.168.131.39", "port": 2817},
        "destination": {"ip": "10.0.0.1", "port": 80},
        "http": {"request": {"bytes": 34, "method": "GET"},
                 "response": {"bytes": 366, "status_code": 200}, "version": "1.1"},
        "url": {"original": "http://www.example.com:80/", "scheme": "http", "domain": "www.example.com",
                "port": 80, "path": "/"},
        "user_agent": {"original": "curl/7.46.0"},
        "aws": {"elb": {
            "type": "http", "elb": "app/my-loadbalancer/50dc6c495c0c9188",
            "request_processing_time": 0.0, "target_processing_time": 0.001, "response_processing_time": 0.0,
            "target_status_code": 200, "target_group_arn": TG,
            "trace_id": "Root=1-58337262-36d228ad5d99923122bbe354", "matched_rule_priority": 0,
            "request_creation_time": "2018-07-02T22:22:48.364000Z", "actions_executed": ["forward"],
            "target_port_list": ["10.0.0.1:80"], "target_status_code_list": ["200"],
        }},
    }


def test_documented_failed_lambda_entry_has_no_destination_and_keeps_the_error_reason(alb, alb_examples):
    assert alb(alb_examples["lambda_failed"]) == {
        "@timestamp": "2018-11-30T22:23:00.186641Z",
        "source": {"ip": "192.168.131.39", "port": 2817},
        "http": {"request": {"bytes": 34, "method": "GET"},
                 "response": {"bytes": 366, "status_code": 502}, "version": "1.1"},
        "url": {"original": "http://www.example.com:80/", "scheme": "http", "domain": "www.example.com",
                "port": 80, "path": "/"},
        "user_agent": {"original": "curl/7.46.0"},
        "aws": {"elb": {
            "type": "http", "elb": "app/my-loadbalancer/50dc6c495c0c9188",
            "request_processing_time": 0.0, "target_processing_time": 0.001, "response_processing_time": 0.0,
            "target_group_arn": TG, "trace_id": "Root=1-58337364-23a8c76965a2ef7629b185e3",
            "matched_rule_priority": 0, "request_creation_time": "2018-11-30T22:22:48.364000Z",
            "actions_executed": ["forward"], "error_reason": "LambdaInvalidResponse",
        }},
    }


def test_malformed_request_of_2025_keeps_the_broken_url_and_drops_minus_one_timings(alb, alb_examples):
    assert alb(alb_examples["malformed_request_2025"]) == {
        "@timestamp": "2025-03-01T10:03:17.218099Z",
        "source": {"ip": "205.210.31.158", "port": 61084},
        "http": {"request": {"bytes": 0}, "response": {"bytes": 272, "status_code": 400}},
        "url": {"original": "http://myalb1-878688131.us-east-1.elb.amazonaws.com:80-"},
        "aws": {"elb": {
            "type": "http", "elb": "app/MyALB1/240dbdc5244653c9",
            "request_creation_time": "2025-03-01T10:03:16.682000Z",
            "conn_trace_id": "TID_6cfb27fd2ef25c42932bd6e0ff56d631",
        }},
    }


def test_fixed_response_of_2026_maps_ip_address_and_drops_the_placeholders_after_it(alb, alb_examples):
    assert alb(alb_examples["fixed_response_2026_ip_address_and_placeholders"]) == {
        "@timestamp": "2026-09-23T07:15:26.379899Z",
        "source": {"ip": "216.180.246.224", "port": 21790},
        "http": {"request": {"bytes": 127, "method": "GET"},
                 "response": {"bytes": 162, "status_code": 404}, "version": "1.0"},
        "url": {"original": "http://k8s-tileserver-617dd1df30-606955064.us-east-1.elb.amazonaws.com:80/",
                "scheme": "http", "domain": "k8s-tileserver-617dd1df30-606955064.us-east-1.elb.amazonaws.com",
                "port": 80, "path": "/"},
        "user_agent": {"original": "Mozilla/5.0 (compatible; GenomeCrawlerd/1.0; +https://www.nokia.com/genomecrawler)"},
        "aws": {"elb": {
            "type": "http", "elb": "app/k8s-tileserver-617dd1df30/98e3a879de9d6b42",
            "trace_id": "Root=1-6ab37c8e-5afd1aca560fd3a825162993", "matched_rule_priority": 0,
            "request_creation_time": "2026-09-23T07:15:26.379000Z", "actions_executed": ["fixed-response"],
            "conn_trace_id": "TID_558e26a7adede44b9fdb98006014afcf", "ip_address": "100.51.96.60",
        }},
    }


# --- key fields of every other documented example -------------------------------------------------

def test_every_documented_example_parses_to_its_own_time_type_and_client(alb, alb_example):
    doc = alb(alb_example)
    fields = alb_example.split(" ")
    assert doc["@timestamp"] == fields[1]
    assert doc["aws"]["elb"]["type"] == fields[0]
    assert doc["source"]["port"] == int(fields[3].rsplit(":", 1)[1])
    assert "extra_fields" not in doc["aws"]["elb"]


def test_https_entry_keeps_tls_fields_sni_certificate_and_both_actions(alb, alb_examples):
    elb = alb(alb_examples["https"])["aws"]["elb"]
    assert elb["ssl_cipher"] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert elb["ssl_protocol"] == "TLSv1.2"
    assert elb["domain_name"] == "www.example.com"
    assert elb["chosen_cert_arn"] == "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    assert elb["actions_executed"] == ["authenticate", "forward"]
    assert (elb["request_processing_time"], elb["target_processing_time"], elb["response_processing_time"]) == (
        0.086, 0.048, 0.037)


def test_http2_entry_has_version_2_and_a_redirect_url(alb, alb_examples):
    doc = alb(alb_examples["h2"])
    assert doc["http"]["version"] == "2.0"
    assert doc["url"] == {"original": "https://10.0.2.105:773/", "scheme": "https", "domain": "10.0.2.105",
                          "port": 773, "path": "/"}
    assert doc["aws"]["elb"]["redirect_url"] == "https://example.com:80/"
    assert doc["aws"]["elb"]["actions_executed"] == ["redirect"]


@pytest.mark.parametrize("name, scheme, sent", [("ws", "http", 587), ("wss", "https", 786)])
def test_websocket_entries_have_status_101_and_no_user_agent(alb, alb_examples, name, scheme, sent):
    doc = alb(alb_examples[name])
    assert doc["http"]["response"] == {"bytes": sent, "status_code": 101}
    assert doc["aws"]["elb"]["target_status_code"] == 101
    assert doc["url"]["scheme"] == scheme
    assert "user_agent" not in doc


def test_successful_lambda_entry_has_no_destination_and_no_target_list(alb, alb_examples):
    doc = alb(alb_examples["lambda_ok"])
    assert "destination" not in doc
    assert doc["aws"]["elb"]["target_status_code"] == 200
    assert "target_port_list" not in doc["aws"]["elb"]
    assert "target_status_code_list" not in doc["aws"]["elb"]


@pytest.mark.parametrize("name", ["http_with_conn_trace_id", "http_with_conn_trace_id_and_transform_placeholders"])
def test_current_doc_shape_with_conn_trace_id_maps_it_and_ignores_transform_placeholders(alb, alb_examples, name):
    doc = alb(alb_examples[name])
    assert doc["aws"]["elb"]["conn_trace_id"] == "TID_1234abcd5678ef90"
    for absent in ("transformed_host", "transformed_uri", "request_transform_status", "extra_fields"):
        assert absent not in doc["aws"]["elb"]
    assert doc == {**alb(alb_examples["http"]), "aws": doc["aws"]}


def test_transform_placeholders_of_august_2025_parse_like_the_line_without_them(alb, alb_examples):
    line = alb_examples["https_2025_transform_placeholders"]
    assert line.endswith(' "-" "-" "-"')
    assert alb(line) == alb(line[: -len(' "-" "-" "-"')])


# --- older and newer field counts -----------------------------------------------------------------

@pytest.mark.parametrize("count", [12, 13, 14, 25, 27, 29, 30, 33])
def test_lines_from_older_files_with_fewer_fields_parse(alb, count):
    fields = HTTP_FIELDS + ["TID_1234abcd5678ef90", '"a.example.com"', '"/new"', '"Success"']
    doc = alb(" ".join(fields[:count]))
    elb = doc["aws"]["elb"]
    assert doc["http"]["response"] == {"bytes": 366, "status_code": 200}
    assert ("trace_id" in elb) is (count >= 18)
    assert ("actions_executed" in elb) is (count >= 23)
    assert ("target_port_list" in elb) is (count >= 26)
    assert ("conn_trace_id" in elb) is (count >= 30)
    assert ("url" in doc) is (count >= 13)
    assert ("user_agent" in doc) is (count >= 14)
    if count == 33:
        assert (elb["transformed_host"], elb["transformed_uri"], elb["request_transform_status"]) == (
            "a.example.com", "/new", "Success")


def test_a_line_with_fewer_than_twelve_fields_is_a_parse_error_that_says_so():
    with pytest.raises(ParseError, match="expected at least 12 fields, found 11"):
        ALB.to_json(" ".join(HTTP_FIELDS[:11]))


def test_fields_after_the_last_known_one_are_kept_as_extra_fields(alb):
    line = " ".join(HTTP_FIELDS) + ' TID_1 "-" "-" "-" 10.1.2.3 "new value" - plain "-"'
    elb = alb(line)["aws"]["elb"]
    assert elb["ip_address"] == "10.1.2.3"
    assert elb["extra_fields"] == ["new value", "plain"]


def test_extra_fields_with_backslashes_take_the_slow_path_and_stay_valid(alb):
    line = " ".join(HTTP_FIELDS) + ' TID_1 "-" "-" "-" 10.1.2.3 "say \\"hi\\""'
    assert alb(line)["aws"]["elb"]["extra_fields"] == ['say \\"hi\\"']


# Found by hypothesis (a space sprinkled into the last `"-"` of the 2026 example): the fast path
# took the tail for placeholders because it stripped spaces, the slow path kept the field.
@pytest.mark.parametrize("tail, kept", [
    ('" -"', [" -"]),
    ('"- "', ["- "]),
    ('" "', [" "]),
    ('"-" " -" -', [" -"]),
    ('"- -"', ["- -"]),
    ('"-" "-"', None),
    ('- "-" --', None),
])
def test_a_quoted_extra_field_holding_a_space_gives_the_same_document_on_both_paths(alb, tail, kept):
    elb = alb(" ".join(HTTP_FIELDS) + ' TID_1 "-" "-" "-" 10.1.2.3 ' + tail)["aws"]["elb"]
    assert elb.get("extra_fields") == kept


# --- impossible timestamps -------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    (2, "2026-13-45T25:61:61.000000Z"),  # the example: index alb-logs-2026.13.45
    (2, "2026-00-10T12:00:00.000000Z"),
    (2, "2026-11-00T12:00:00.000000Z"),
    (2, "2026-04-31T12:00:00.000000Z"),
    (2, "2026-02-29T12:00:00.000000Z"),  # not a leap year
    (2, "1900-02-29T12:00:00.000000Z"),  # nor is a century not divisible by 400
    (2, "2026-11-25T24:00:00.000000Z"),
    (2, "2026-11-25T12:60:00.000000Z"),
    (2, "2026-11-25T23:59:60.000000Z"),  # a leap second: see alb.py
    (2, "2026-11-25T12:00:00Z".replace("12", "99")),
    (22, "2026-11-25T12:00:61.000000Z"),  # request_creation_time
    (22, "2026-06-31T12:00:00.000000Z"),
])
def test_an_impossible_timestamp_is_a_parse_error_on_both_paths(field, value):
    line = with_fields(**{f"f{field}": value})
    for safe in (True, False):
        with pytest.raises(ParseError, match="impossible timestamp"):
            ALB.to_json(line, safe)


@pytest.mark.parametrize("value", ["2024-02-29T12:00:00.000000Z", "2000-02-29T00:00:00Z", "2026-12-31T23:59:59.999999Z",
                                   "2026-01-01T00:00:00.000000Z", "2026-04-30T12:00:00.000000Z"])
def test_the_edges_of_possible_timestamps_parse(alb, value):
    doc = alb(with_fields(f2=value, f22=value))
    assert doc["@timestamp"] == doc["aws"]["elb"]["request_creation_time"] == value


TWO_DIGITS = st.one_of(st.integers(0, 61), st.integers(0, 99)).map("{:02d}".format)  # mostly near the ranges


@given(year=st.sampled_from([1900, 2000, 2023, 2024, 2026, 2100]), month=TWO_DIGITS, day=TWO_DIGITS, hour=TWO_DIGITS,
       minute=TWO_DIGITS, second=TWO_DIGITS)
def test_a_time_parses_exactly_when_it_is_a_real_instant(year, month, day, hour, minute, second):
    value = f"{year}-{month}-{day}T{hour}:{minute}:{second}.123456Z"
    try:
        datetime(year, int(month), int(day), int(hour), int(minute), int(second))
        real = True
    except ValueError:
        real = False
    for safe in (True, False):
        if real:
            assert ALB.to_json(with_fields(f2=value), safe)[0] == value
        else:
            with pytest.raises(ParseError, match="impossible timestamp"):
                ALB.to_json(with_fields(f2=value), safe)


# --- tokenizing -----------------------------------------------------------------------------------

def test_user_agent_with_spaces_stays_one_field(alb):
    ua = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"
    doc = alb(with_fields(f14=f'"{ua}"'))
    assert doc["user_agent"]["original"] == ua
    assert doc["aws"]["elb"]["trace_id"] == "Root=1-58337262-36d228ad5d99923122bbe354"


def test_backslash_escaped_quote_inside_a_quoted_field_is_kept_as_logged(alb):
    line = with_fields(f14='"say \\"hi\\" now"')
    doc = alb(line)
    assert doc["user_agent"]["original"] == 'say \\"hi\\" now'
    assert doc["aws"]["elb"]["trace_id"] == "Root=1-58337262-36d228ad5d99923122bbe354"


def test_a_double_quote_inside_an_unquoted_field_is_escaped_not_written_raw(alb):
    # The fast path may only capture unquoted tokens without `"`; else the JSON would break.
    doc = alb(with_fields(f15='odd"cipher'))
    assert doc["aws"]["elb"]["ssl_cipher"] == 'odd"cipher'
    doc = alb(" ".join(HTTP_FIELDS) + ' TID_"x "a b" "-" "-"')
    assert doc["aws"]["elb"]["conn_trace_id"] == 'TID_"x'


def test_unencoded_spaces_in_the_url_stay_in_the_url(alb):
    doc = alb(with_fields(f13='"GET http://www.example.com:80/my file.html?q=a b HTTP/1.1"'))
    assert doc["url"]["original"] == "http://www.example.com:80/my file.html?q=a b"
    assert doc["url"]["path"] == "/my file.html"
    assert doc["url"]["query"] == "q=a b"
    assert doc["http"]["version"] == "1.1"
    assert doc["http"]["request"]["method"] == "GET"


def test_percent_encoding_in_the_url_is_not_decoded(alb):
    doc = alb(with_fields(f13='"GET http://www.example.com:80/a%20b?x=%2F HTTP/1.1"'))
    assert doc["url"]["path"] == "/a%20b"
    assert doc["url"]["query"] == "x=%2F"


# --- addresses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("client, target", [
    ("[2001:db8::1]:2817", "[2001:db8::2]:80"),
    ("2001:db8::1:2817", "2001:db8::2:80"),
])
def test_ipv6_clients_and_targets_with_or_without_brackets(alb, client, target):
    doc = alb(with_fields(f4=client, f5=target))
    assert doc["source"] == {"ip": "2001:db8::1", "port": 2817}
    assert doc["destination"] == {"ip": "2001:db8::2", "port": 80}


def test_ipv6_host_in_the_request_url_is_the_domain_without_brackets(alb):
    doc = alb(with_fields(f13='"GET http://[2001:db8::5]:80/x HTTP/1.1"'))
    assert doc["url"]["domain"] == "2001:db8::5"
    assert doc["url"]["port"] == 80


@pytest.mark.parametrize("actions, status", [
    ('"waf"', "403"), ('"redirect"', "301"), ('"fixed-response"', "404"), ('"forward"', "503")])
def test_requests_without_a_target_have_no_destination(alb, actions, status):
    doc = alb(with_fields(f5="-", f6="-1", f7="-1", f8="-1", f9=status, f10="-", f23=actions, f26='"-"', f27='"-"'))
    assert "destination" not in doc
    assert doc["http"]["response"]["status_code"] == int(status)
    assert "target_status_code" not in doc["aws"]["elb"]


# --- `-` and `-1` ---------------------------------------------------------------------------------

@pytest.mark.parametrize("position, field", [
    (6, "request_processing_time"), (7, "target_processing_time"), (8, "response_processing_time")])
def test_minus_one_processing_time_is_absent_not_minus_one(alb, position, field):
    elb = alb(with_fields(**{f"f{position}": "-1"}))["aws"]["elb"]
    assert field not in elb
    assert len([k for k in elb if k.endswith("_processing_time")]) == 2


def test_matched_rule_priority_minus_one_is_kept(alb):
    assert alb(with_fields(f21="-1"))["aws"]["elb"]["matched_rule_priority"] == -1


def test_matched_rule_priority_dash_is_absent(alb):
    assert "matched_rule_priority" not in alb(with_fields(f21="-"))["aws"]["elb"]


def test_elb_status_dash_is_absent_not_a_failure(alb):
    doc = alb(with_fields(f9="-", f10="-"))
    assert doc["http"]["response"] == {"bytes": 366}


def test_user_agent_dash_is_absent(alb):
    assert "user_agent" not in alb(with_fields(f14='"-"'))


@pytest.mark.parametrize("typ", ["h2", "ws", "wss", "grpcs", "somethingnew"])
def test_every_request_type_is_kept_including_unknown_ones(alb, typ):
    assert alb(with_fields(f1=typ))["aws"]["elb"]["type"] == typ


# --- what is not an ALB record --------------------------------------------------------------------

@pytest.mark.parametrize("field, value, why", [
    (2, "2018-07-02 22:23:00", "time"),
    (2, "٢٠١٨-07-02T22:23:00.186641Z", "time"),
    (4, "192.168.131.39", "client"),
    (6, "fast", "request_processing_time"),
    (11, "many", "received_bytes"),
    (21, "first", "matched_rule_priority"),
    (22, "yesterday", "request_creation_time"),
])
def test_a_malformed_field_is_a_parse_error_naming_the_field(field, value, why):
    fields = list(HTTP_FIELDS)
    fields[field - 1] = value
    with pytest.raises(ParseError, match=why):
        ALB.to_json(" ".join(fields))


@pytest.mark.parametrize("number", ["0080", "٨٠"])
def test_a_port_that_is_not_a_plain_json_number_is_rejected_not_emitted(number):
    # A leading zero or a non-ASCII digit would make the document invalid JSON.
    line = with_fields(f4=f"192.168.131.39:{number}")
    for safe in (True, False):
        with pytest.raises(ParseError):
            ALB.to_json(line, safe)


# --- classification, the fields after the 29 of the documented entry, trailing tokens --------------------------------------------------

LATER_PLACEHOLDERS = ["-", '"-"', '"-"', '"-"', "-"]  # conn_trace_id .. ip_address (fields 30-34), all unset


def test_classification_and_its_reason_are_kept(alb):
    doc = alb(with_fields(f28='"Ambiguous"', f29='"UndefinedContentLengthSemantics"'))
    assert doc["aws"]["elb"]["classification"] == "Ambiguous"
    assert doc["aws"]["elb"]["classification_reason"] == "UndefinedContentLengthSemantics"


def test_placeholders_in_every_later_field_give_the_document_of_the_29_fields(alb, alb_examples):
    assert alb(" ".join(HTTP_FIELDS + LATER_PLACEHOLDERS)) == alb(alb_examples["http"])
    assert alb(" ".join(HTTP_FIELDS + LATER_PLACEHOLDERS + ['"-"', "-", '"-" -'])) == alb(alb_examples["http"])


def test_a_request_creation_time_dash_is_absent(alb):
    assert "request_creation_time" not in alb(with_fields(f22="-"))["aws"]["elb"]


def test_a_request_of_dashes_has_no_url_and_no_method(alb):
    doc = alb(with_fields(f13='"- - -"'))
    assert "url" not in doc and "method" not in doc["http"]["request"] and "version" not in doc["http"]


@pytest.mark.parametrize("tail, kept", [("X", ["X"]), ('"XX-"', ["XX-"]), ("-- \"\" X-", ["X-"])])
def test_trailing_tokens_are_dropped_only_when_made_of_dashes_and_quotes(alb, tail, kept):
    assert alb(" ".join(HTTP_FIELDS + LATER_PLACEHOLDERS + [tail]))["aws"]["elb"]["extra_fields"] == kept


def test_only_ipv6_brackets_are_stripped_from_client_and_target_addresses(alb):
    doc = alb(with_fields(f4="X10.0.0.1X:2817", f5="[X::1]:80"))
    assert doc["source"]["ip"] == "X10.0.0.1X" and doc["destination"]["ip"] == "X::1"


def test_the_parse_error_for_an_invalid_field_quotes_at_most_its_first_60_characters():
    with pytest.raises(ParseError) as refused:
        ALB.to_json(with_fields(f11="9" * 30 + "x" * 70))
    assert str(refused.value) == f"field received_bytes is not valid: {'9' * 30 + 'x' * 30!r}"


@pytest.mark.parametrize(("line", "why"), [
    (" ".join(HTTP_FIELDS[:13]) + ' "curl/7.4', "the line ends inside the quoted field user_agent: cut short?"),
    (" ".join(HTTP_FIELDS[:12]) + ' "GET http://www.exa', "the line ends inside the quoted field request: cut short?"),
    (" ".join(HTTP_FIELDS + LATER_PLACEHOLDERS) + ' x "cut',
     "the line ends inside the quoted value of field 36: cut short?"),
])
def test_a_line_cut_inside_a_quoted_value_says_which_field_on_both_paths(line, why):
    for safe in (True, False):
        with pytest.raises(ParseError) as refused:
            ALB.to_json(line, safe)
        assert str(refused.value) == why


def test_to_json_checks_the_line_itself_unless_told_it_is_json_safe(alb_examples):
    line = alb_examples["http"].replace("curl/7.46.0", "curl\\7.46.0")
    assert ALB.to_json(line) == ALB.to_json(line, False)
    assert '"original":"curl\\\\7.46.0"' in ALB.to_json(line)[1]


def test_the_fast_patterns_take_whole_documented_lines_and_leave_quotes_in_unquoted_fields_to_the_slow_path(
        alb_examples):
    from ingest.formats import alb as alb_module

    recent, older = alb_module._fast_patterns()  # built once, when the module is imported
    for name, line in alb_examples.items():
        m = recent.match(line) or older.match(line)
        assert m is not None, name
    assert recent.match(alb_examples["http"]).group(1) == "http"
    assert older.match(" ".join(HTTP_FIELDS[:12])) and not recent.match(" ".join(HTTP_FIELDS[:12]))
    assert not older.match(" ".join(HTTP_FIELDS[:11]))
    assert recent.match(alb_examples["http"]).group(alb_module._GROUPS + 1) is None
    quote_in_unquoted = with_fields(f3='app/my"lb/50dc6c495c0c9188')  # the slow path escapes it
    assert recent.match(quote_in_unquoted) is None and older.match(quote_in_unquoted) is None
