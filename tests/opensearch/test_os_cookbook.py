"""The Dev Tools cookbook (opensearch/queries/cookbook.md): every request is pasteable (a
`METHOD path` line plus valid JSON) and explained, and every field it names exists in the index
template of the indices it targets, with a type that supports what the query does with it."""
from __future__ import annotations

import fnmatch
import json
import re

import pytest

import os_asset_checks as assets

ENTRY = re.compile(r"^### (?P<title>[^\n]+)\n(?P<explanation>[^\n`#][^\n]*)\n```console\n(?P<block>.*?)\n```$",
                   re.MULTILINE | re.DOTALL)
METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD"}


def entries() -> list[dict]:
    text = assets.COOKBOOK.read_text(encoding="utf-8")
    found = []
    for match in ENTRY.finditer(text):
        request_line, _, body = match["block"].partition("\n")
        method, _, path = request_line.partition(" ")
        found.append({"title": match["title"], "explanation": match["explanation"], "method": method,
                      "path": path, "body": body})
    return found


ENTRIES = entries()


def families_for(path: str) -> list[str]:
    targets = path.lstrip("/").split("/")[0].split(",")
    return [family for family, pattern in assets.FAMILIES.items()
            if any(fnmatch.fnmatch(pattern, t) or t == pattern for t in targets)]


def test_cookbook_has_at_least_15_requests_and_every_fenced_block_is_one_of_them():
    text = assets.COOKBOOK.read_text(encoding="utf-8")
    assert text.count("```console") == len(ENTRIES), "a block without a heading + one-line explanation"
    assert len(ENTRIES) >= 15
    assert len([e for e in ENTRIES if e["path"].split("/")[-1].startswith("_search")]) >= 15


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["title"])
def test_request_is_pasteable_into_dev_tools(entry):
    assert entry["method"] in METHODS
    assert entry["path"] and " " not in entry["path"]
    if entry["body"].strip():
        json.loads(entry["body"])  # the console rejects invalid JSON
    assert len(entry["explanation"]) > 20


SEARCHES = [e for e in ENTRIES if e["path"].split("?")[0].endswith("/_search")]


@pytest.mark.parametrize("entry", SEARCHES, ids=lambda e: e["title"])
def test_every_field_a_search_uses_is_mapped_with_a_fitting_type(entry):
    families = families_for(entry["path"])
    assert families, f"{entry['path']} targets no known index family"
    uses = assets.query_field_uses(json.loads(entry["body"]))
    assert uses
    for family in families:
        leaves, objects = assets.family_fields(family)
        problems = [p for use, field in uses if (p := assets.use_problem(use, field, leaves, objects))]
        assert not problems, family


def test_date_histograms_use_calendar_or_fixed_interval():
    # Plain `interval` is deprecated on date_histogram.
    for entry in SEARCHES:
        for match in re.finditer(r'"date_histogram":\s*\{[^}]*\}', entry["body"]):
            histogram = json.loads(match.group(0)[len('"date_histogram":'):])
            assert "interval" not in histogram
            assert "calendar_interval" in histogram or "fixed_interval" in histogram


def test_query_field_extraction_sees_aggs_queries_sorts_and_source():
    body = {"query": {"bool": {"filter": [{"term": {"source.ip": "10.0.0.0/8"}},
                                          {"range": {"@timestamp": {"gte": "now-1h"}}}],
                               "must_not": [{"exists": {"field": "aws.elb.error_reason"}}]}},
            "sort": [{"aws.elb.target_processing_time": "desc"}], "_source": ["url.original"],
            "aggs": {"a": {"terms": {"field": "url.path"}, "aggs": {"b": {"avg": {"field": "http.response.bytes"}}}}}}
    assert sorted(assets.query_field_uses(body)) == sorted([
        ("query", "source.ip"), ("query", "@timestamp"), ("exists", "aws.elb.error_reason"),
        ("sort", "aws.elb.target_processing_time"), ("_source", "url.original"), ("terms", "url.path"),
        ("avg", "http.response.bytes")])
