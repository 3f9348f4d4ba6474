"""Every saved visualization in opensearch/dashboards/*.ndjson, executed as the search Dashboards sends
for it (its visState aggs over its index pattern or saved search, last 24 hours) on the loaded data:
it runs without error and has something to show."""
from __future__ import annotations

import json

import pytest

from .conftest import DEFAULT_PREFIXES, REPO
from .saved_objects import bucket_agg_ids, metric_agg_ids, query_of, search_for

pytestmark = pytest.mark.integration

FILES = {"alb": "alb-logs.ndjson", "s3-access": "s3-access-logs.ndjson", "nlb": "nlb-logs.ndjson",
         "clb": "clb-logs.ndjson", "alb-connection": "alb-connection-logs.ndjson",
         "alb-health-check": "alb-health-check-logs.ndjson", "cloudfront": "cloudfront-logs.ndjson"}


def saved_objects() -> dict[str, tuple[str, dict]]:
    out = {}
    for family, name in FILES.items():
        for line in (REPO / "opensearch" / "dashboards" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                out[obj["id"]] = (family, obj)
    return out


OBJECTS = saved_objects()
VISUALIZATIONS = sorted(i for i, (_, o) in OBJECTS.items() if o["type"] == "visualization")
SEARCHES = sorted(i for i, (_, o) in OBJECTS.items() if o["type"] == "search")


def index_of(cluster, family: str, obj: dict) -> str:
    """The index pattern the object reads, directly or through its saved search."""
    for ref in obj["references"]:
        target_family, target = OBJECTS[ref["id"]]
        if ref["type"] == "index-pattern":
            title = target["attributes"]["title"]
            return title.replace(DEFAULT_PREFIXES[target_family], cluster.prefixes[target_family])
        if ref["type"] == "search":
            return index_of(cluster, target_family, target)
    raise AssertionError(f"{obj['id']} references no index pattern or saved search")


def test_there_are_visualizations_and_saved_searches_to_run():
    assert len(VISUALIZATIONS) >= 40 and len(SEARCHES) >= 6


@pytest.mark.parametrize("object_id", VISUALIZATIONS)
def test_the_visualization_runs_and_has_buckets_on_the_loaded_data(cluster, loaded, object_id):
    family, vis = OBJECTS[object_id]
    body = search_for(vis)
    for ref in vis["references"]:  # a visualization built on a saved search adds that search's query
        if ref["type"] == "search":
            saved = OBJECTS[ref["id"]][1]
            body["query"]["bool"]["filter"].append(
                query_of(json.loads(saved["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])))

    response = cluster.request("POST", f"{index_of(cluster, family, vis)}/_search", body)

    assert response.status_code == 200, response.text[:2000]
    assert "Warning" not in response.headers, f"deprecated: {response.headers.get('Warning')}"
    result = response.json()
    assert result["_shards"]["failed"] == 0, result["_shards"]
    assert result["hits"]["total"]["value"] > 0, "no document matches the visualization's query"
    for agg_id in bucket_agg_ids(vis)[:1]:
        found = result["aggregations"][agg_id]["buckets"]
        non_empty = [b for b in (found.values() if isinstance(found, dict) else found) if b["doc_count"]]
        assert non_empty, f"agg {agg_id} has no bucket with documents"
    if not bucket_agg_ids(vis):
        for agg_id in metric_agg_ids(vis):
            value = result["aggregations"][agg_id]
            assert value.get("value", value.get("values")) not in (None, 0, {}), agg_id


@pytest.mark.parametrize("object_id", SEARCHES)
def test_the_saved_search_finds_documents_and_sorts_on_real_fields(cluster, loaded, object_id):
    family, search = OBJECTS[object_id]
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    sort = [{field: {"order": direction}}
            for field, direction in search["attributes"].get("sort", [])]
    body = {"size": 5, "query": {"bool": {"filter": [query_of(source), {"range": {"@timestamp": {"gte": "now-24h"}}}]}},
            "sort": sort or [{"@timestamp": "desc"}]}

    result = cluster.search(index_of(cluster, family, search), body)

    assert result["hits"]["total"]["value"] > 0
    columns = search["attributes"].get("columns", [])
    assert columns
