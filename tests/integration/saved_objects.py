"""Turn a saved visualization into the search Dashboards sends for it, so a real cluster can run it.

Dashboards builds the request in the browser: the visualization's `visState.aggs` become nested
aggregations (bucket aggs in order, the metric aggs under the innermost one), its search source's
KQL query and the dashboard's time range become the query. This module does the same for the agg
types, schemas and KQL forms our saved objects use, and raises Unsupported for anything else, so a
new visualization that this translation does not understand fails its test instead of passing
unchecked.
"""
from __future__ import annotations

import json
import re

METRICS = {"count", "avg", "sum", "min", "max", "cardinality", "percentiles"}
BUCKETS = {"terms", "date_histogram", "filters", "geohash_grid"}
MAP_PRECISION = 2  # what Dashboards' autoPrecision picks at the coordinate map's zoom 2
AUTO_INTERVAL = "30m"  # what Dashboards picks for "auto" over its default last 24 hours


class Unsupported(ValueError):
    pass


# -- KQL ---------------------------------------------------------------------------------------

_KQL_TOKEN = re.compile(r'\s*(>=|<=|>|<|:|\(|\)|"[^"]*"|[^\s:()<>=]+)')


def kql(query: str) -> dict:
    """The DSL for the KQL forms our saved objects use: field:value, field:prefix*, field:* (exists),
    field:(a or b), field >= n, and / or / not, parentheses."""
    tokens = _KQL_TOKEN.findall(query)
    if not tokens:
        return {"match_all": {}}
    position = 0

    def peek():
        return tokens[position].lower() if position < len(tokens) else None

    def take(expected=None):
        nonlocal position
        if position >= len(tokens):
            raise Unsupported(f"KQL ended early: {query!r}")
        token = tokens[position]
        if expected is not None and token.lower() != expected:
            raise Unsupported(f"KQL: expected {expected!r}, found {token!r} in {query!r}")
        position += 1
        return token

    def value(token: str):
        return token[1:-1] if token.startswith('"') else token

    def either():
        parts = [both()]
        while peek() == "or":
            take()
            parts.append(both())
        return parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}

    def both():
        parts = [negated()]
        while peek() == "and":
            take()
            parts.append(negated())
        return parts[0] if len(parts) == 1 else {"bool": {"filter": parts}}

    def negated():
        if peek() == "not":
            take()
            return {"bool": {"must_not": [negated()]}}
        return primary()

    def primary():
        if peek() == "(":
            take()
            inner = either()
            take(")")
            return inner
        name = take()
        operator = take()
        if operator == ":":
            if peek() == "(":
                take()
                values = [value(take())]
                while peek() == "or":
                    take()
                    values.append(value(take()))
                take(")")
                return {"bool": {"should": [{"match": {name: v}} for v in values], "minimum_should_match": 1}}
            token = take()
            if token == "*":  # KQL's field:* is "the field exists"
                return {"exists": {"field": name}}
            if token.endswith("*") and not token.startswith('"'):  # an unquoted trailing * is a wildcard
                return {"wildcard": {name: {"value": token}}}
            return {"match": {name: value(token)}}
        bound = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}.get(operator)
        if bound is None:
            raise Unsupported(f"KQL operator {operator!r} in {query!r}")
        return {"range": {name: {bound: float(take())}}}

    result = either()
    if position != len(tokens):
        raise Unsupported(f"KQL: cannot read {tokens[position:]} in {query!r}")
    return result


def query_of(search_source: dict) -> dict:
    query = search_source.get("query") or {}
    if query.get("language", "kuery") != "kuery":
        raise Unsupported(f"query language {query.get('language')!r}")
    if search_source.get("filter"):
        raise Unsupported("search source filters")
    return kql(query.get("query", ""))


# -- aggregations --------------------------------------------------------------------------------


def _metric(agg: dict) -> dict | None:
    params, kind = agg["params"], agg["type"]
    if kind == "count":
        return None
    if kind == "percentiles":
        return {"percentiles": {"field": params["field"], "percents": params["percents"]}}
    return {kind: {"field": params["field"]}}


def _bucket(agg: dict, metrics: dict[str, dict]) -> dict:
    params, kind = agg["params"], agg["type"]
    if kind == "terms":
        body = {"field": params["field"], "size": params.get("size", 5)}
        order_by, direction = params.get("orderBy", "_count"), params.get("order", "desc")
        if order_by == "_key":
            body["order"] = {"_key": direction}
        elif order_by in metrics:
            body["order"] = {"_count" if metrics[order_by] is None else order_by: direction}
        else:
            raise Unsupported(f"terms orderBy {order_by!r}")
        return {"terms": body}
    if kind == "date_histogram":
        interval = params.get("interval", "auto")
        return {"date_histogram": {"field": params["field"],
                                   "fixed_interval": AUTO_INTERVAL if interval == "auto" else interval,
                                   "min_doc_count": params.get("min_doc_count", 1)}}
    if kind == "filters":
        return {"filters": {"filters": {f.get("label") or f["input"]["query"]: kql(f["input"]["query"])
                                        for f in params["filters"]}}}
    if kind == "geohash_grid":  # a coordinate map: cells, each placed at its points' centroid
        body = {"geohash_grid": {"field": params["field"], "precision": MAP_PRECISION}}
        if params.get("useGeocentroid"):
            body["aggs"] = {"centroid": {"geo_centroid": {"field": params["field"]}}}
        return body
    raise Unsupported(f"bucket agg {kind!r}")


def search_for(visualization: dict, time_range: str = "now-24h") -> dict:
    """The search body Dashboards sends for this visualization over the last `time_range`."""
    attributes = visualization["attributes"]
    state = json.loads(attributes["visState"])
    source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
    aggs = [a for a in state.get("aggs", []) if a.get("enabled", True)]
    for agg in aggs:
        if agg["type"] not in METRICS | BUCKETS:
            raise Unsupported(f"agg type {agg['type']!r}")
    metrics = {a["id"]: _metric(a) for a in aggs if a["type"] in METRICS}
    innermost = {a_id: m for a_id, m in metrics.items() if m is not None}
    for agg in reversed([a for a in aggs if a["type"] in BUCKETS]):
        bucket = _bucket(agg, metrics)
        if innermost:
            bucket["aggs"] = {**bucket.get("aggs", {}), **innermost}
        innermost = {agg["id"]: bucket}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": [query_of(source), {"range": {"@timestamp": {"gte": time_range}}}]}},
        "aggs": innermost,
    }


def bucket_agg_ids(visualization: dict) -> list[str]:
    state = json.loads(visualization["attributes"]["visState"])
    return [a["id"] for a in state.get("aggs", []) if a.get("enabled", True) and a["type"] in BUCKETS]


def metric_agg_ids(visualization: dict) -> list[str]:
    state = json.loads(visualization["attributes"]["visState"])
    return [a["id"] for a in state.get("aggs", []) if a.get("enabled", True) and a["type"] in METRICS - {"count"}]
