"""Format detection: from AWS's object naming first, the first line as fallback; siblings refused."""
from __future__ import annotations

import pytest

from ingest.formats import ALB, FORMATS, KeyInfo, ParseError, Unsupported, detect, key_info

S3 = FORMATS["s3-access"]

# log-formats.md §1.1: the current doc example (bucket part dropped: detection sees the key).
ALB_DOC_KEY = ("logging-prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/123456789012_"
               "elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_"
               "172.160.001.192_20sg8hgm.log.gz")
S3_PARTITIONED_KEY = ("logs/123456789012/us-west-2/amzn-s3-demo-source-bucket/2023/03/01/"
                      "2023-03-01-21-32-16-E568B2907131C0C0")
TREE = "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/"
CONN_LOG_KEY = TREE + ("conn_log_123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_"
                       "20220215T2340Z_172.160.001.192_20sg8hgm.log.gz")
HEALTH_CHECK_KEY = TREE + ("health_check_log_123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer."
                           "1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz")
NLB_DOC_KEY = ("prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2020/05/01/123456789012_"
               "elasticloadbalancing_us-east-2_net.my-loadbalancer.1234567890abcdef_20200501T0000Z_20sg8hgm.log.gz")
CLASSIC_KEY = TREE + "123456789012_elasticloadbalancing_us-east-2_my-loadbalancer_20220215T2340Z_172.160.001.192_20sg8hgm.log"

# First lines of the sibling log types, verbatim from log-formats.md §1.7, §1.8, §2 (wrapped lines joined).
CONN_LOG_LINE = ('2023-10-04T17:05:15.514108Z 203.0.113.1 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 '
                 '"CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US" '
                 'NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success '
                 'TID_3180a73013c8ca4bac2f731159d4b0fe')
HEALTH_CHECK_LINE = "http 2025-10-31T12:44:59.875678Z 0.019584011 172.31.20.97:80 HCLogsTestIPs PASS 200 -"
NLB_LINE = ("tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd "
            "72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - "
            "arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - "
            "ECDHE-RSA-AES128-SHA tlsv12 - my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com - - -")
CLASSIC_LINE = ('2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 '
                '0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -')
ELB_LINES = {"alb-connection": CONN_LOG_LINE, "alb-health-check": HEALTH_CHECK_LINE, "nlb": NLB_LINE, "clb": CLASSIC_LINE}
ALB_CONNECTION, ALB_HEALTH_CHECK = FORMATS["alb-connection"], FORMATS["alb-health-check"]


@pytest.mark.parametrize("key", [ALB_DOC_KEY, ALB_DOC_KEY.split("/", 1)[1], "s3-bucket-name/" + ALB_DOC_KEY])
def test_alb_access_log_keys_are_alb(key):
    assert detect(key) is ALB


@pytest.mark.parametrize("key", [
    "logs/2013-11-01-21-32-16-E568B2907131C0C0",  # prefix with its slash
    "logs2013-11-01-21-32-16-E568B2907131C0C0",  # prefix without a trailing slash: glued on
    "2013-11-01-21-32-16-E568B2907131C0C0",  # no prefix
    S3_PARTITIONED_KEY,  # date-partitioned (PartitionedPrefix)
])
def test_s3_server_access_log_keys_are_s3_access(key):
    assert detect(key) is S3


@pytest.mark.parametrize("key, fmt", [
    (CONN_LOG_KEY, "alb-connection"), (HEALTH_CHECK_KEY, "alb-health-check"),
    # the connection-log page of 2025 spells the file name conn_log.<account>_…
    (CONN_LOG_KEY.replace("conn_log_", "conn_log."), "alb-connection"),
    ("s3-bucket-name/prefix/" + HEALTH_CHECK_KEY, "alb-health-check")])
def test_alb_connection_and_health_check_log_keys_are_their_formats(key, fmt, alb_examples):
    assert detect(key) is FORMATS[fmt]
    assert detect(key, alb_examples["http"]) is FORMATS[fmt]  # the key decides, whatever the first line


def test_alb_connection_and_health_check_keys_are_not_alb_access_logs():
    assert not ALB.key_matches(CONN_LOG_KEY) and not ALB.key_matches(HEALTH_CHECK_KEY)
    assert not ALB_CONNECTION.key_matches(ALB_DOC_KEY) and not ALB_HEALTH_CHECK.key_matches(ALB_DOC_KEY)
    assert not ALB_CONNECTION.key_matches(HEALTH_CHECK_KEY) and not ALB_HEALTH_CHECK.key_matches(CONN_LOG_KEY)


def test_alb_connection_and_health_check_first_lines_under_an_unknown_key_are_their_formats():
    assert detect("uploads/some-file.txt", CONN_LOG_LINE) is ALB_CONNECTION
    assert detect("uploads/some-file.txt", HEALTH_CHECK_LINE) is ALB_HEALTH_CHECK


@pytest.mark.parametrize("key", [CONN_LOG_KEY, HEALTH_CHECK_KEY])
def test_key_info_of_connection_and_health_check_keys_is_account_region_and_interval_end(key):
    assert key_info(key) == KeyInfo("123456789012", "us-east-2", "2022-02-15T23:40:00Z")


def test_an_unknown_key_falls_back_to_the_first_line(alb_examples, s3_examples):
    assert detect("uploads/some-file.txt", alb_examples["http"]) is ALB
    assert detect("uploads/some-file.txt", alb_examples["malformed_request_2025"]) is ALB
    assert detect("uploads/some-file.txt", s3_examples["2023_put_object"]) is S3


@pytest.mark.parametrize("line", ELB_LINES.values())
def test_other_load_balancer_lines_never_parse_as_alb(line):
    with pytest.raises(ParseError):
        ALB.to_json(line)


@pytest.mark.parametrize("key, name", [(NLB_DOC_KEY, "nlb"), (CLASSIC_KEY, "clb"), (CLASSIC_KEY + ".gz", "clb")])
def test_nlb_and_classic_keys_are_their_formats_even_when_the_first_line_looks_like_alb(key, name, alb_examples):
    assert detect(key) is FORMATS[name]
    assert detect(key, alb_examples["http"]) is FORMATS[name]


@pytest.mark.parametrize("name", ELB_LINES)
def test_load_balancer_first_lines_under_an_unknown_key_are_their_formats(name):
    assert detect("uploads/some-file.txt", ELB_LINES[name]) is FORMATS[name]


@pytest.mark.parametrize("name", ELB_LINES)
def test_no_load_balancer_line_is_taken_for_another_format(name, alb_examples, s3_examples):
    # Each line matches its own format's first-line pattern only (an ALB connection log's
    # `time ip port port` must not read as a Classic `time name ip:port`).
    assert [other for other, fmt in FORMATS.items() if fmt.line_matches(ELB_LINES[name])] == [name]
    for example in (*alb_examples.values(), *s3_examples.values()):
        assert not FORMATS[name].line_matches(example)


@pytest.mark.parametrize("first_line", [None, "", "hello world", "#Version: 1.0"])
def test_an_unknown_key_and_unknown_first_line_are_unsupported(first_line):
    with pytest.raises(Unsupported) as refused:
        detect("uploads/some-file.txt", first_line)
    assert str(refused.value) == (
        "neither the key nor the first line look like an ALB access log or an S3 server access log")


def test_the_elb_access_log_test_file_is_not_an_alb_log():
    with pytest.raises(Unsupported):
        detect("prefix/AWSLogs/123456789012/ELBAccessLogTestFile", "Enable AccessLog for ELB: my-loadbalancer at 2022-05-01T00:00:00.000Z")


def test_key_info_of_an_alb_key_is_account_region_and_interval_end():
    assert key_info(ALB_DOC_KEY) == KeyInfo("123456789012", "us-east-2", "2022-02-15T23:40:00Z")


def test_key_info_of_nlb_and_classic_keys_is_account_region_and_interval_end():
    assert key_info(NLB_DOC_KEY) == KeyInfo("123456789012", "us-east-2", "2020-05-01T00:00:00Z")
    assert key_info(CLASSIC_KEY) == KeyInfo("123456789012", "us-east-2", "2022-02-15T23:40:00Z")


def test_key_info_of_a_partitioned_s3_key_is_account_region_and_delivery_time():
    assert key_info(S3_PARTITIONED_KEY) == KeyInfo("123456789012", "us-west-2", "2023-03-01T21:32:16Z")


@pytest.mark.parametrize("key", ["logs/2013-11-01-21-32-16-E568B2907131C0C0", "logs2013-11-01-21-32-16-E568B2907131C0C0"])
def test_key_info_of_a_simple_s3_key_is_only_the_delivery_time(key):
    assert key_info(key) == KeyInfo(None, None, "2013-11-01T21:32:16Z")


def test_key_info_of_an_unknown_key_is_empty():
    assert key_info("uploads/some-file.txt") == KeyInfo()


@pytest.mark.parametrize("key, expected", [
    ("logs/2026-13-45-21-32-16-E568B2907131C0C0", KeyInfo()),
    ("logs/2025-02-29-00-00-00-E568B2907131C0C0", KeyInfo()),
    ("logs/2024-02-29-23-59-59-E568B2907131C0C0", KeyInfo(None, None, "2024-02-29T23:59:59Z")),
    (ALB_DOC_KEY.replace("20220215T2340Z", "20220215T2560Z"), KeyInfo("123456789012", "us-east-2", None)),
])
def test_a_key_naming_an_impossible_time_gives_no_time(key, expected):
    # It would otherwise date failure records into an index such as s3-access-logs-2026.13.45.
    assert key_info(key) == expected
