"""Dashboards saved objects (opensearch/dashboards/*.ndjson): importable by OpenSearch Dashboards
(strict attribute mappings, migration versions, references that resolve, JSON-in-JSON), built on
fields the index templates map with types that support each aggregation, and answering the
questions the product promises."""
from __future__ import annotations

import json
from collections import Counter

import pytest

import os_asset_checks as assets

NDJSON_FILES = sorted(assets.DASHBOARDS_DIR.glob("*.ndjson"))
ENVELOPE_KEYS = {"id", "type", "attributes", "references", "migrationVersion"}
# The .kibana mapping is dynamic:strict per type, so any other attribute fails the import.
ALLOWED_ATTRIBUTES = {
    "visualization": {"title", "description", "version", "visState", "uiStateJSON", "savedSearchRefName",
                      "kibanaSavedObjectMeta"},
    "dashboard": {"title", "description", "version", "hits", "panelsJSON", "optionsJSON", "timeRestore",
                  "timeFrom", "timeTo", "refreshInterval", "kibanaSavedObjectMeta"},
    "search": {"title", "description", "version", "hits", "columns", "sort", "columnWidths",
               "kibanaSavedObjectMeta"},
    "index-pattern": {"title", "timeFieldName", "fields", "fieldFormatMap", "sourceFilters", "intervalName",
                      "typeMeta"},
}
REFRESH_INTERVAL_KEYS = {"display", "pause", "section", "value"}
# Newest migrations OSD knows; a higher version fails the import ("belongs to a more recent version").
MAX_MIGRATION = {"index-pattern": "7.6.0", "visualization": "7.10.0", "dashboard": "7.9.3", "search": "7.9.3"}
JSON_STRING_ATTRIBUTES = {"visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fields", "fieldFormatMap"}
# Schemas each vis type's editor defines: (name -> (min, max)), and the metric aggs a pie accepts.
XY_SCHEMAS = {"metric": (1, None), "radius": (0, 1), "segment": (0, 1), "group": (0, 3), "split": (0, 1)}
VIS_SCHEMAS = {
    "pie": {"metric": (1, 1), "segment": (0, None), "split": (0, 1)},
    "histogram": XY_SCHEMAS, "line": XY_SCHEMAS, "area": XY_SCHEMAS, "horizontal_bar": XY_SCHEMAS,
    "table": {"metric": (1, None), "bucket": (0, None), "split": (0, 1)},
    "metric": {"metric": (1, None), "group": (0, 1)},
    "tile_map": {"metric": (1, 1), "segment": (1, 1)},  # coordinate map: one metric, one geohash_grid
}
PIE_METRICS = {"count", "sum", "cardinality", "top_hits"}
BUCKET_AGGS = {"terms", "date_histogram", "filters", "histogram", "range", "significant_terms", "geohash_grid"}
GRID_COLUMNS = 48


def load(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


ALL = [(path.name, obj) for path in NDJSON_FILES for obj in load(path)]
BY_ID = {obj["id"]: obj for _, obj in ALL}


def objects_of(type_: str) -> list[dict]:
    return [obj for _, obj in ALL if obj["type"] == type_]


def parsed(obj: dict, attribute: str):
    return json.loads(obj["attributes"][attribute])


def search_source(obj: dict) -> dict:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def family_of(obj: dict) -> str:
    """The index template whose indices this object reads, via its index-pattern reference."""
    pattern_ids = [r["id"] for r in obj["references"] if r["type"] == "index-pattern"]
    assert len(pattern_ids) == 1, f"{obj['id']}: expected one index-pattern reference"
    title = BY_ID[pattern_ids[0]]["attributes"]["title"]
    return next(f for f, p in assets.FAMILIES.items() if p == title)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_there_is_one_ndjson_file_per_family():
    assert [p.name for p in NDJSON_FILES] == sorted(f"{family}.ndjson" for family in assets.FAMILIES)


def test_committed_ndjson_is_exactly_what_build_py_writes():
    build = assets.import_path("dashboards_build", assets.DASHBOARDS_DIR / "build.py")
    for name, make in build.OUTPUTS.items():
        assert (assets.DASHBOARDS_DIR / name).read_text(encoding="utf-8") == build.render(make()), (
            f"{name} is stale: run python opensearch/dashboards/build.py")


def test_ids_are_unique_across_all_files():
    # All files import into the same tenant: a shared id would make one object overwrite another.
    counts = Counter(obj["id"] for _, obj in ALL)
    assert not [i for i, n in counts.items() if n > 1]


@pytest.mark.parametrize("name,obj", ALL, ids=[o["id"] for _, o in ALL])
def test_object_envelope_and_attributes_are_importable(name, obj):
    assert set(obj) <= ENVELOPE_KEYS, f"{set(obj) - ENVELOPE_KEYS} (coreMigrationVersion etc. are Kibana-only)"
    assert obj["type"] in ALLOWED_ATTRIBUTES
    attributes = obj["attributes"]
    assert set(attributes) <= ALLOWED_ATTRIBUTES[obj["type"]], set(attributes) - ALLOWED_ATTRIBUTES[obj["type"]]
    assert attributes["title"]
    meta = attributes.get("kibanaSavedObjectMeta")
    if meta is not None:
        assert set(meta) == {"searchSourceJSON"}
        assert isinstance(meta["searchSourceJSON"], str)
        json.loads(meta["searchSourceJSON"])
    for key in JSON_STRING_ATTRIBUTES & set(attributes):
        assert isinstance(attributes[key], str), f"{key} must be a JSON string, not an object"
        json.loads(attributes[key])
    if "refreshInterval" in attributes:
        assert set(attributes["refreshInterval"]) <= REFRESH_INTERVAL_KEYS


@pytest.mark.parametrize("name,obj", ALL, ids=[o["id"] for _, o in ALL])
def test_migration_version_is_one_dashboards_can_import(name, obj):
    migration = obj.get("migrationVersion", {})
    assert set(migration) <= {obj["type"]}
    for type_, version in migration.items():
        assert version_tuple(version) <= version_tuple(MAX_MIGRATION[type_]), f"{version} is newer than OSD knows"


@pytest.mark.parametrize("name,obj", ALL, ids=[o["id"] for _, o in ALL])
def test_references_resolve_within_the_files(name, obj):
    # One dangling reference makes Dashboards skip the whole file.
    names = [r["name"] for r in obj["references"]]
    assert len(names) == len(set(names)), "reference names must be unique"
    for ref in obj["references"]:
        assert set(ref) == {"name", "type", "id"}
        target = BY_ID.get(ref["id"])
        assert target is not None, f"reference {ref} points at nothing"
        assert target["type"] == ref["type"], f"reference {ref} points at a {target['type']}"
    meta = obj["attributes"].get("kibanaSavedObjectMeta")
    if meta:
        source = json.loads(meta["searchSourceJSON"])
        assert "index" not in source, "use indexRefName + references, not an inline index id"
        if "indexRefName" in source:
            assert source["indexRefName"] in names
        for i, flt in enumerate(source.get("filter", [])):
            ref_name = flt.get("meta", {}).get("indexRefName")
            if ref_name:
                assert ref_name in names, f"filter {i}"
    if "savedSearchRefName" in obj["attributes"]:
        assert obj["attributes"]["savedSearchRefName"] in names


def test_index_patterns_name_a_family_and_a_date_time_field():
    patterns = objects_of("index-pattern")
    assert sorted(p["attributes"]["title"] for p in patterns) == sorted(assets.FAMILIES.values())
    for pattern in patterns:
        family = next(f for f, p in assets.FAMILIES.items() if p == pattern["attributes"]["title"])
        leaves, _ = assets.family_fields(family)
        time_field = pattern["attributes"]["timeFieldName"]
        assert leaves[time_field]["type"] == "date"
        for field in parsed(pattern, "fieldFormatMap") if "fieldFormatMap" in pattern["attributes"] else {}:
            assert any(field in assets.family_fields(f)[0] for f in assets.FAMILIES), field


@pytest.mark.parametrize("vis", objects_of("visualization"), ids=lambda o: o["id"])
def test_visualization_state_matches_its_vis_type(vis):
    state = parsed(vis, "visState")
    assert set(state) >= {"title", "type", "params", "aggs"}
    assert state["title"] == vis["attributes"]["title"]
    schemas = VIS_SCHEMAS[state["type"]]
    aggs = state["aggs"]
    ids = [a["id"] for a in aggs]
    assert all(isinstance(i, str) for i in ids), "agg ids are strings"
    assert len(ids) == len(set(ids))
    per_schema = Counter(a["schema"] for a in aggs)
    assert set(per_schema) <= set(schemas), f"schemas {set(per_schema) - set(schemas)} don't exist for {state['type']}"
    for schema, (low, high) in schemas.items():
        assert per_schema[schema] >= low, f"needs at least {low} {schema}"
        assert high is None or per_schema[schema] <= high, f"at most {high} {schema}"
    metric_ids = {a["id"] for a in aggs if a["schema"] == "metric"}
    for agg in aggs:
        assert agg["enabled"] is True
        if agg["schema"] == "metric":
            assert agg["type"] not in BUCKET_AGGS
        else:
            assert agg["type"] in BUCKET_AGGS
        if agg["type"] == "terms":
            assert agg["params"]["orderBy"] in metric_ids | {"_key"}, "orderBy must name a metric agg"
            assert agg["params"]["order"] in ("asc", "desc")
        if agg["type"] == "filters":
            assert all(f["input"]["language"] == "kuery" for f in agg["params"]["filters"])
    if state["type"] == "pie":
        assert [a["type"] for a in aggs if a["schema"] == "metric"][0] in PIE_METRICS
    if state["type"] == "tile_map":
        assert [a["type"] for a in aggs if a["schema"] == "segment"] == ["geohash_grid"]
    if state["type"] in ("histogram", "line", "area", "horizontal_bar"):
        params = state["params"]
        series_ids = [s["data"]["id"] for s in params["seriesParams"]]
        assert sorted(series_ids) == sorted(metric_ids), "one seriesParams entry per metric agg"
        axis_ids = {a["id"] for a in params["valueAxes"]}
        assert all(s["valueAxis"] in axis_ids for s in params["seriesParams"])
        assert params["categoryAxes"] and params["valueAxes"]


def _vis_field_uses(vis: dict) -> list[tuple[str, str]]:
    state = parsed(vis, "visState")
    uses = []
    for agg in state["aggs"]:
        if "field" in agg["params"]:
            uses.append((agg["type"], agg["params"]["field"]))
        if agg["type"] == "filters":
            uses += [("query", f) for flt in agg["params"]["filters"] for f in assets.kql_fields(flt["input"]["query"])]
    uses += [("query", f) for f in assets.kql_fields(search_source(vis)["query"]["query"])]
    return uses


def _search_field_uses(search: dict) -> list[tuple[str, str]]:
    uses = [("column", c) for c in search["attributes"]["columns"] if c != "_source"]
    uses += [("sort", field) for field, _ in search["attributes"]["sort"]]
    uses += [("query", f) for f in assets.kql_fields(search_source(search)["query"]["query"])]
    return uses


@pytest.mark.parametrize("obj", objects_of("visualization") + objects_of("search"), ids=lambda o: o["id"])
def test_every_field_used_is_mapped_with_a_type_that_supports_the_use(obj):
    leaves, objects = assets.family_fields(family_of(obj))
    uses = _vis_field_uses(obj) if obj["type"] == "visualization" else _search_field_uses(obj)
    assert uses or obj["type"] == "search"
    problems = [p for use, field in uses if (p := assets.use_problem(use, field, leaves, objects))]
    assert not problems


def test_field_use_check_catches_text_and_unmapped_fields():
    leaves, objects = assets.family_fields("alb-logs")
    assert assets.use_problem("terms", "url.original.text", leaves, objects)
    assert assets.use_problem("avg", "aws.elb.ssl_cipher", leaves, objects)
    assert assets.use_problem("date_histogram", "aws.elb.target_processing_time", leaves, objects)
    assert assets.use_problem("terms", "aws.s3access.key", leaves, objects)  # the other family's field
    assert assets.use_problem("terms", "event.original", leaves, objects)
    assert assets.use_problem("terms", "aws.elb.target_status_code", leaves, objects) is None


@pytest.mark.parametrize("search", objects_of("search"), ids=lambda o: o["id"])
def test_saved_search_sort_is_a_list_of_field_direction_pairs(search):
    for pair in search["attributes"]["sort"]:
        assert isinstance(pair, list) and len(pair) == 2 and pair[1] in ("asc", "desc")


@pytest.mark.parametrize("dashboard", objects_of("dashboard"), ids=lambda o: o["id"])
def test_dashboard_panels_fit_the_48_column_grid_and_reference_their_objects(dashboard):
    panels = parsed(dashboard, "panelsJSON")
    ref_names = {r["name"] for r in dashboard["references"]}
    indexes = [p["panelIndex"] for p in panels]
    assert len(indexes) == len(set(indexes))
    cells = set()
    for panel in panels:
        assert "id" not in panel and "type" not in panel, "type/id come from the reference (panelRefName)"
        assert panel["panelRefName"] in ref_names
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"]
        assert grid["x"] >= 0 and grid["y"] >= 0 and grid["w"] > 0 and grid["h"] > 0
        assert grid["x"] + grid["w"] <= GRID_COLUMNS
        own = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not (own & cells), f"panel {panel['panelIndex']} overlaps another"
        cells |= own
    assert {p["panelRefName"] for p in panels} == ref_names
    attributes = dashboard["attributes"]
    if attributes["timeRestore"]:
        assert attributes["timeFrom"] and attributes["timeTo"]


def _dashboard_for(family: str) -> dict:
    boards = [d for d in objects_of("dashboard")
              if {family_of(BY_ID[r["id"]]) for r in d["references"]} == {family}]
    assert len(boards) == 1, f"one dashboard per log type ({family})"
    return boards[0]


def _panel_states(family: str) -> list[dict]:
    return [parsed(BY_ID[r["id"]], "visState") for r in _dashboard_for(family)["references"]
            if r["type"] == "visualization"]


def _has(states, vis_type=None, **agg_match) -> bool:
    """Some visualization of `vis_type` has an agg whose type/field/params match."""
    for state in states:
        if vis_type and state["type"] != vis_type:
            continue
        for agg in state["aggs"]:
            params = agg["params"]
            if all((agg.get(k) if k in ("type", "schema") else params.get(k)) == v for k, v in agg_match.items()):
                return True
    return False


def test_alb_dashboard_is_at_least_as_complete_as_published_ones():
    states = _panel_states("alb-logs")
    assert len(states) >= 24
    tpt = "aws.elb.target_processing_time"
    assert _has(states, "line", type="percentiles", field=tpt, percents=[50, 95, 99])
    assert _has(states, type="filters", schema="group")  # status classes over time
    elb_vs_target = [s for s in states if any(a["type"] == "filters" and any(
        "aws.elb.target_status_code" in f["input"]["query"] for f in a["params"]["filters"]) for a in s["aggs"])]
    assert elb_vs_target, "ELB 5xx vs target 5xx"
    for field in ("url.path", "source.ip", "user_agent.original", "http.response.status_code",
                  "aws.elb.ssl_protocol", "aws.elb.ssl_cipher", "aws.elb.error_reason",
                  "aws.elb.actions_executed", "destination.ip"):
        assert _has(states, type="terms", field=field), field
    assert _has(states, type="sum", field="http.request.bytes") and _has(states, type="sum", field="http.response.bytes")
    assert _has(states, "table", type="avg", field=tpt)  # slowest paths


def test_s3_dashboard_answers_the_access_questions():
    states = _panel_states("s3-access-logs")
    assert len(states) >= 15
    assert _has(states, "pie", type="terms", field="aws.s3access.key", size=5)  # top 5 objects
    assert _has(states, "histogram", type="terms", field="http.response.status_code")
    assert _has(states, type="filters", schema="group")
    for field in ("source.ip", "aws.s3access.operation", "aws.s3access.error_code", "aws.s3access.requester"):
        assert _has(states, "table" if field != "aws.s3access.operation" else None, type="terms", field=field), field
    assert _has(states, type="sum", field="http.response.bytes")
    assert _has(states, type="percentiles", field="aws.s3access.total_time")
    denied = [BY_ID[r["id"]] for r in _dashboard_for("s3-access-logs")["references"] if r["type"] == "visualization"
              and search_source(BY_ID[r["id"]])["query"]["query"] == "http.response.status_code:403"]
    denied_fields = {a["params"].get("field") for v in denied for a in parsed(v, "visState")["aggs"]}
    assert {"source.ip", "aws.s3access.key"} <= denied_fields


def _queries_with(family: str, field: str) -> set[str]:
    """The queries of the family's dashboard visualizations that aggregate on `field`."""
    return {search_source(BY_ID[r["id"]])["query"]["query"] for r in _dashboard_for(family)["references"]
            if r["type"] == "visualization"
            and any(a["params"].get("field") == field for a in parsed(BY_ID[r["id"]], "visState")["aggs"])}


def test_alb_connection_dashboard_answers_handshake_failure_and_certificate_questions():
    states = _panel_states("alb-connection-logs")
    latency, verify = "aws.alb_connection.tls_handshake_latency", "aws.alb_connection.tls_verify_status"
    assert _has(states, "line", type="percentiles", field=latency, percents=[50, 95, 99])  # handshake latency
    assert "aws.alb_connection.tls_verify_status:Failed*" in _queries_with("alb-connection-logs", verify)  # failures by reason
    assert _has(states, "table", type="terms", field="tls.client.subject")  # client certificates
    for field in ("tls.version", "tls.cipher", "aws.alb_connection.listener_port", "source.ip"):
        assert _has(states, type="terms", field=field), field


def test_alb_health_check_dashboard_answers_which_targets_fail_when_and_why():
    states = _panel_states("alb-health-check-logs")
    ns = "aws.alb_health_check"
    assert f"{ns}.status:FAIL" in _queries_with("alb-health-check-logs", f"{ns}.target_addr")  # unhealthy targets
    assert _has(states, "line", type="cardinality", field=f"{ns}.target_addr")  # ... over time
    assert _has(states, "histogram", type="terms", field=f"{ns}.reason_code")  # ... and why
    assert _has(states, type="terms", field=f"{ns}.target_group_id")


def test_s3_request_table_is_a_saved_search_with_time_ip_url_and_bytes():
    searches = [s for s in objects_of("search") if family_of(s) == "s3-access-logs"]
    assert any({"source.ip", "url.original", "http.response.bytes"} <= set(s["attributes"]["columns"])
               and s["attributes"]["sort"] == [["@timestamp", "desc"]] for s in searches)


@pytest.mark.parametrize("family", sorted(assets.FAMILIES))
def test_each_family_has_a_parse_failure_search(family):
    searches = [s for s in objects_of("search") if family_of(s) == family]
    failures = [s for s in searches if search_source(s)["query"]["query"] == "tags:parse_failure"]
    assert len(failures) == 1
    assert "event.original" in failures[0]["attributes"]["columns"]
