"""Helpers for the static tests of opensearch/: load the assets, flatten the mappings each index
template produces, and check documents and field uses against them.

The rules encoded here are OpenSearch's (which value a field type accepts, which aggregation a
type supports); they are written out rather than asked of a server because none exists in tests.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import json
import math
import re
import sys
from pathlib import Path

from ingest.formats import FORMATS

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "opensearch"
COMPONENT_DIR = ASSETS / "templates" / "component"
INDEX_TEMPLATE_DIR = ASSETS / "templates" / "index"
ISM_DIR = ASSETS / "ism"
DASHBOARDS_DIR = ASSETS / "dashboards"
COOKBOOK = ASSETS / "queries" / "cookbook.md"

# Index template file stem -> the family it serves (and the pattern its index-pattern uses).
FAMILIES = {fmt.index_prefix: f"{fmt.index_prefix}-*" for fmt in FORMATS.values()}

NUMERIC_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                 "unsigned_long"}
INTEGER_RANGES = {
    "byte": (-2**7, 2**7 - 1),
    "short": (-2**15, 2**15 - 1),
    "integer": (-2**31, 2**31 - 1),
    "long": (-2**63, 2**63 - 1),
    "unsigned_long": (0, 2**64 - 1),
}
DOC_VALUE_TYPES = NUMERIC_TYPES | {"keyword", "ip", "date", "date_nanos", "boolean"}


def load_json(path: Path):
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def import_path(name: str, path: Path):
    """Import a script that is not on sys.path (build.py, bootstrap_opensearch.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def component_templates() -> dict[str, dict]:
    return {p.stem: load_json(p) for p in sorted(COMPONENT_DIR.glob("*.json"))}


def index_templates() -> dict[str, dict]:
    return {p.stem: load_json(p) for p in sorted(INDEX_TEMPLATE_DIR.glob("*.json"))}


def ism_policies() -> dict[str, dict]:
    return {p.stem: load_json(p) for p in sorted(ISM_DIR.glob("*.json"))}


def merged_mappings(index_template_name: str) -> dict:
    """The root mapping an index created from this template gets: components in order, then the
    template's own mappings (a later definition of a field replaces an earlier one)."""
    components = component_templates()
    template = index_templates()[index_template_name]
    merged: dict = {"properties": {}}
    layers = [components[c]["template"].get("mappings", {}) for c in template.get("composed_of", [])]
    layers.append(template.get("template", {}).get("mappings", {}))
    for layer in layers:
        for key, value in layer.items():
            if key == "properties":
                _merge_properties(merged["properties"], value)
            else:
                merged[key] = value
    return merged


def _merge_properties(into: dict, new: dict) -> None:
    for name, spec in new.items():
        if name in into and "properties" in into[name] and "properties" in spec:
            _merge_properties(into[name]["properties"], spec["properties"])
        else:
            into[name] = json.loads(json.dumps(spec))


def flatten(properties: dict, prefix: str = "") -> tuple[dict[str, dict], set[str]]:
    """(leaf path -> mapping incl. multi-fields as "a.b.text", set of object paths)."""
    leaves: dict[str, dict] = {}
    objects: set[str] = set()
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            objects.add(path)
            sub_leaves, sub_objects = flatten(spec["properties"], path + ".")
            leaves.update(sub_leaves)
            objects |= sub_objects
        else:
            leaves[path] = spec
            for sub_name, sub_spec in spec.get("fields", {}).items():
                leaves[f"{path}.{sub_name}"] = {**sub_spec, "_multi_field_of": path}
    return leaves, objects


def family_fields(family: str) -> tuple[dict[str, dict], set[str]]:
    return flatten(merged_mappings(family)["properties"])


# ------------------------------------------------------------------------------------------
# Document conformance

# strict_date_optional_time (OpenSearch's default date format) plus epoch_millis
_DATE_RE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$")


def parses_as_date(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True  # epoch_millis
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return False
    # Calendar validity (month 13, Feb 30...): let datetime judge the parts the regex matched.
    text = value.replace(",", ".")
    text = re.sub(r"\.(\d{6})\d+", r".\1", text)
    text = text[:-1] + "+00:00" if text.endswith("Z") else text
    if "T" in text:
        date_part, time_part = text.split("T", 1)
        time_core = re.split(r"[+-]", time_part, maxsplit=1)[0]
        if len(time_core) == 2:  # hour only
            text = text.replace(f"T{time_core}", f"T{time_core}:00", 1)
    elif len(text) < 10:
        text = (text + "-01-01")[:10] if len(text) == 4 else text + "-01"
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def value_problem(field_type: str, value) -> str | None:
    """Why OpenSearch would reject `value` for a field of `field_type` (None if it accepts it)."""
    if field_type in ("keyword", "text"):
        return None if isinstance(value, str) else f"{type(value).__name__} {value!r} for a {field_type}"
    if field_type == "ip":
        if not isinstance(value, str):
            return f"{type(value).__name__} {value!r} for an ip"
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return f"{value!r} is not an IP address"
        return None
    if field_type in INTEGER_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{type(value).__name__} {value!r} for a {field_type}"
        low, high = INTEGER_RANGES[field_type]
        return None if low <= value <= high else f"{value} does not fit a {field_type}"
    if field_type in ("float", "double", "half_float", "scaled_float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{type(value).__name__} {value!r} for a {field_type}"
        return None if math.isfinite(value) else f"{value!r} is not finite"
    if field_type in ("date", "date_nanos"):
        return None if parses_as_date(value) else f"{value!r} does not parse as a date"
    if field_type == "boolean":
        return None if isinstance(value, bool) else f"{value!r} for a boolean"
    if field_type == "geo_point":  # the object form {"lat", "lon"} is the one documents use
        if not isinstance(value, dict) or set(value) != {"lat", "lon"}:
            return f"{value!r} is not a {{lat, lon}} geo_point"
        lat, lon = value["lat"], value["lon"]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
        return None if numbers and -90 <= lat <= 90 and -180 <= lon <= 180 else f"{value!r} is off the globe"
    return f"no value check for field type {field_type}"


def document_problems(doc: dict, leaves: dict[str, dict], objects: set[str], prefix: str = "") -> list[str]:
    """Every way `doc` disagrees with the mapping: unmapped fields (dynamic:false would drop them
    from search silently), values of the wrong type, nulls (the contract says absent, not null)."""
    problems = []
    for name, value in doc.items():
        path = f"{prefix}{name}"
        if "." in name:
            problems.append(f"{path}: dotted key; documents use nested objects")
        if path in objects:
            if isinstance(value, dict):
                problems.extend(document_problems(value, leaves, objects, path + "."))
            else:
                problems.append(f"{path}: {type(value).__name__} where the mapping has an object")
            continue
        spec = leaves.get(path)
        if spec is None or "_multi_field_of" in spec:
            problems.append(f"{path}: not mapped")
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                problems.append(f"{path}: null (absent fields are left out)")
            elif isinstance(item, (dict, list)) and spec["type"] != "geo_point":
                problems.append(f"{path}: {type(item).__name__} where the mapping has a {spec['type']}")
            else:
                why = value_problem(spec["type"], item)
                if why:
                    problems.append(f"{path}: {why}")
    return problems


# ------------------------------------------------------------------------------------------
# Field uses: which field each aggregation / query / sort touches, and whether its type allows it


def aggregatable(spec: dict) -> bool:
    return spec["type"] in DOC_VALUE_TYPES and spec.get("doc_values", True) is not False


def searchable(spec: dict) -> bool:
    return spec.get("index", True) is not False


def numeric(spec: dict) -> bool:
    return spec["type"] in NUMERIC_TYPES and aggregatable(spec)


def numeric_or_date(spec: dict) -> bool:
    return spec["type"] in NUMERIC_TYPES | {"date", "date_nanos"} and aggregatable(spec)


def is_date(spec: dict) -> bool:
    return spec["type"] in ("date", "date_nanos") and aggregatable(spec)


USE_RULES = {
    # aggregations
    "terms": (aggregatable, "terms needs keyword/numeric/ip/date with doc values"),
    "significant_terms": (aggregatable, "needs doc values"),
    "rare_terms": (aggregatable, "needs doc values"),
    "cardinality": (aggregatable, "cardinality needs doc values"),
    "value_count": (aggregatable, "value_count needs doc values"),
    "top_hits_sort": (aggregatable, "sorting needs doc values"),
    "avg": (numeric, "avg needs a numeric field"),
    "sum": (numeric, "sum needs a numeric field"),
    "percentiles": (numeric, "percentiles needs a numeric field"),
    "percentile_ranks": (numeric, "percentile_ranks needs a numeric field"),
    "stats": (numeric, "stats needs a numeric field"),
    "extended_stats": (numeric, "extended_stats needs a numeric field"),
    "histogram": (numeric, "histogram needs a numeric field"),
    "min": (numeric_or_date, "min needs a numeric or date field"),
    "max": (numeric_or_date, "max needs a numeric or date field"),
    "date_histogram": (is_date, "date_histogram needs a date field"),
    "geohash_grid": (lambda s: s["type"] == "geo_point", "geohash_grid needs a geo_point field"),
    "auto_date_histogram": (is_date, "auto_date_histogram needs a date field"),
    # queries, sorting, source filtering
    "query": (searchable, "the field is not indexed, so it cannot be queried"),
    "exists": (lambda s: searchable(s) or aggregatable(s), "exists needs an indexed field"),
    "sort": (aggregatable, "sorting needs doc values (not text, not index:false/doc_values:false)"),
    "column": (lambda s: True, ""),
    "_source": (lambda s: True, ""),
}
FIELD_AGGS = {k for k in USE_RULES if k not in ("query", "exists", "sort", "column", "_source", "top_hits_sort")}
FIELD_KEYED_QUERIES = {"term", "terms", "range", "match", "match_phrase", "match_phrase_prefix", "prefix",
                       "wildcard", "regexp", "fuzzy"}


def query_field_uses(body) -> list[tuple[str, str]]:
    """(use, field) for every field named in a search body (query DSL, aggs, sort, _source)."""
    uses: list[tuple[str, str]] = []

    def sort_uses(sort, use="sort"):
        for entry in sort if isinstance(sort, list) else [sort]:
            name = entry if isinstance(entry, str) else next(iter(entry))
            if name not in ("_score", "_doc"):
                uses.append((use, name))

    def source_uses(source):
        if isinstance(source, list):
            uses.extend(("_source", f) for f in source)
        elif isinstance(source, dict):
            for key in ("includes", "excludes"):
                uses.extend(("_source", f) for f in source.get(key, []))

    def walk(node, in_top_hits=False):
        if isinstance(node, list):
            for item in node:
                walk(item, in_top_hits)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in FIELD_AGGS and isinstance(value, dict) and isinstance(value.get("field"), str):
                uses.append((key, value["field"]))
            elif key in FIELD_KEYED_QUERIES and isinstance(value, dict) and "field" not in value:
                uses.extend(("query", f) for f in value if f != "boost")
            elif key == "exists" and isinstance(value, dict):
                uses.append(("exists", value["field"]))
            elif key == "sort":
                sort_uses(value, "top_hits_sort" if in_top_hits else "sort")
                continue
            elif key == "_source":
                source_uses(value)
                continue
            elif key in ("query_string", "multi_match", "simple_query_string"):
                uses.extend(("query", f.split("^")[0]) for f in value.get("fields", []))
            walk(value, in_top_hits or key == "top_hits")

    walk(body)
    return uses


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_KQL_FIELD = re.compile(r"(?<![\w.@])([A-Za-z@_][\w.@]*)\s*(?:<=|>=|<|>|:)")


def kql_fields(query: str) -> list[str]:
    """Field names in a KQL query (`field: value`, `field >= n`); quoted values are ignored."""
    return _KQL_FIELD.findall(_QUOTED.sub('""', query))


def use_problem(use: str, field: str, leaves: dict[str, dict], objects: set[str]) -> str | None:
    if use == "_source" and ("*" in field or field in objects):
        return None if any(re.fullmatch(field.replace(".", r"\.").replace("*", ".*"), f) for f in leaves) \
            or field in objects else f"{use} {field}: matches no mapped field"
    spec = leaves.get(field)
    if spec is None:
        return f"{use} {field}: not in the mapping"
    check, why = USE_RULES[use]
    return None if check(spec) else f"{use} {field} ({spec['type']}): {why}"
