"""Documents the parsers produce must fit the index templates: every leaf field mapped (with
dynamic:false an unmapped field is silently unsearchable) and every value of a type OpenSearch
accepts for that field (otherwise the document is rejected with mapper_parsing_exception)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import os_asset_checks as assets

# Shaped after docs/documents.md.
ALB_DOC = {
    "@timestamp": "2024-03-01T12:00:00.123456Z",
    "event": {"dataset": "aws.elb", "original": "https 2024-03-01T12:00:00.123456Z app/web/50dc6c495c0c9188 ..."},
    "log": {"file": {"path": "s3://logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/03/01/x.log.gz",
                     "line_number": 1}},
    "cloud": {"provider": "aws", "account": {"id": "123456789012"}, "region": "eu-west-1"},
    "source": {"ip": "192.0.2.10", "port": 46532},
    "destination": {"ip": "2001:db8::1", "port": 80},
    "http": {"request": {"method": "GET", "bytes": 34}, "response": {"status_code": 200, "bytes": 366},
             "version": "1.1"},
    "url": {"original": "https://www.example.com:443/api/items?id=1", "scheme": "https",
            "domain": "www.example.com", "port": 443, "path": "/api/items", "query": "id=1"},
    "user_agent": {"original": "curl/8.5.0"},
    "aws": {"elb": {
        "type": "https", "elb": "app/web/50dc6c495c0c9188", "request_processing_time": 0.000,
        "target_processing_time": 0.001, "response_processing_time": 0.0, "target_status_code": 200,
        "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256", "ssl_protocol": "TLSv1.2",
        "target_group_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067",
        "trace_id": "Root=1-58337262-36d228ad5d99923122bbe354", "domain_name": "www.example.com",
        "chosen_cert_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234",
        "matched_rule_priority": -1, "request_creation_time": "2024-03-01T12:00:00.120000Z",
        "actions_executed": ["waf", "forward"], "target_port_list": ["10.0.0.1:80"],
        "target_status_code_list": ["200"], "classification": "Acceptable", "conn_trace_id": "TID_1234",
    }},
}
S3_DOC = {
    "@timestamp": "2019-02-06T00:00:38Z",
    "event": {"dataset": "aws.s3access"},
    "log": {"file": {"path": "s3://logs/s3/2019-02-06-00-00-38-5A1B", "line_number": 3}},
    "source": {"ip": "192.0.2.3"},
    "http": {"request": {"method": "GET", "referrer": "https://example.com/"},
             "response": {"status_code": 200, "bytes": 0}, "version": "1.1"},
    "url": {"original": "/awsexamplebucket1/photos/2019/08/puppy.jpg?x-foo=bar", "path": "/awsexamplebucket1/photos/2019/08/puppy.jpg",
            "query": "x-foo=bar"},
    "user_agent": {"original": "S3Console/0.4"},
    "aws": {"s3access": {
        "bucket_owner": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
        "bucket": "awsexamplebucket1", "requester": "arn:aws:iam::123456789012:user/alice",
        "request_id": "3E57427F3EXAMPLE", "operation": "REST.GET.VERSIONING", "key": "photos/2019/08/puppy.jpg",
        "object_size": 113, "total_time": 7, "turn_around_time": 4, "signature_version": "SigV4",
        "cipher_suite": "ECDHE-RSA-AES128-GCM-SHA256", "authentication_type": "AuthHeader",
        "host_header": "awsexamplebucket1.s3.us-west-1.amazonaws.com", "tls_version": "TLSv1.2",
        "acl_required": "Yes",
    }},
}
FAILURE_RECORD = {
    "@timestamp": "2024-03-01T12:05:00Z",
    "event": {"dataset": "aws.elb", "original": "garbage line"},
    "error": {"type": "parse_error", "message": "expected at least 12 fields, found 2"},
    "tags": ["parse_failure"],
    "log": {"file": {"path": "s3://logs/x.log.gz", "line_number": 9}},
}


def problems(doc: dict, family: str) -> list[str]:
    leaves, objects = assets.family_fields(family)
    return assets.document_problems(doc, leaves, objects)


def with_change(doc: dict, path: str, value) -> dict:
    doc = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return doc


@pytest.mark.parametrize("doc,family", [(ALB_DOC, "alb-logs"), (S3_DOC, "s3-access-logs"),
                                        (FAILURE_RECORD, "alb-logs"), (FAILURE_RECORD, "s3-access-logs")],
                         ids=["alb", "s3", "failure-alb", "failure-s3"])
def test_documented_shapes_conform(doc, family):
    assert problems(doc, family) == []


@pytest.mark.parametrize("path,value,expected", [
    ("aws.elb.new_field", "x", "aws.elb.new_field: not mapped"),
    ("client_ip", "192.0.2.1", "client_ip: not mapped"),
    ("source.ip", "-", "source.ip: '-' is not an IP address"),
    ("http.response.status_code", "200", "http.response.status_code: str"),
    ("source.port", 2**31, "does not fit a integer"),
    ("aws.elb.target_processing_time", True, "bool"),
    ("@timestamp", "06/Feb/2019:00:00:38 +0000", "does not parse as a date"),
    ("@timestamp", "2024-02-30T00:00:00Z", "does not parse as a date"),
    ("aws.elb.request_creation_time", None, "null"),
    ("aws.elb.actions_executed", ["waf", 3], "int 3 for a keyword"),
    ("url.domain", {"name": "x"}, "dict where the mapping has a keyword"),
    ("source", "192.0.2.1", "source: str where the mapping has an object"),
])
def test_checker_flags_unmapped_fields_and_wrong_types(path, value, expected):
    found = problems(with_change(ALB_DOC, path, value), "alb-logs")
    assert any(expected in p for p in found), found


def test_checker_flags_dotted_keys():
    found = problems({**S3_DOC, "source.ip": "192.0.2.1"}, "s3-access-logs")
    assert any("dotted key" in p for p in found)


def test_checker_flags_the_other_familys_fields():
    assert problems({**S3_DOC, "aws": ALB_DOC["aws"]}, "s3-access-logs")


@pytest.fixture(scope="module")
def generated_logs(tmp_path_factory):
    out = tmp_path_factory.mktemp("logs")
    result = subprocess.run(
        [sys.executable, "scripts/generate_logs.py", "--out", str(out), "--alb-lines", "400", "--s3-lines", "400",
         "--seed", "4"], cwd=assets.REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("enriched", [False, True], ids=["plain", "with-geoip-and-user-agents"])
@pytest.mark.parametrize("fmt,subdir,family,dataset", [
    ("alb", "alb", "alb-logs", "aws.elb"),
    ("s3-access", "s3-access", "s3-access-logs", "aws.s3access"),
])
def test_documents_from_the_parse_cli_conform_to_the_mappings(generated_logs, geoip_databases, fmt, subdir, family,
                                                              dataset, enriched):
    files = sorted(p for p in (generated_logs / subdir).rglob("*") if p.is_file())
    assert files, f"generate_logs.py wrote nothing under {subdir}/"
    leaves, objects = assets.family_fields(family)
    city, asn = geoip_databases
    enrichment = ["--geoip-city-db", str(city), "--geoip-asn-db", str(asn), "--user-agents"] if enriched else []
    found, count, placed = [], 0, 0
    for path in files:
        result = subprocess.run([sys.executable, "-m", "ingest", "parse", "--format", fmt, *enrichment, str(path)],
                                cwd=assets.REPO, capture_output=True, text=True)
        assert result.returncode == 0, f"{path}: {result.stderr}"
        for line_number, line in enumerate(result.stdout.splitlines(), 1):
            doc = json.loads(line)
            count += 1
            placed += "geo" in doc.get("source", {})
            assert doc["event"]["dataset"] == dataset
            found += [f"{path.name}:{line_number}: {p}" for p in assets.document_problems(doc, leaves, objects)]
    assert count > 0
    assert (placed > count // 2) if enriched else placed == 0
    assert not found, "\n".join(found[:30])
