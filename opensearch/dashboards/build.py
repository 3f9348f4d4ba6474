"""Write the OpenSearch Dashboards saved objects for every log family (ALB, S3, NLB, Classic, ALB connection and
health-check, CloudFront) as NDJSON.

    python opensearch/dashboards/build.py            # rewrites the <index prefix>.ndjson files
    python opensearch/dashboards/build.py --check    # exit 1 if the committed files are stale

The saved-object format is awkward to write by hand (JSON encoded inside JSON strings, references
by name, agg ids as strings), so the objects are described here as Python data and encoded with
json.dumps. tests/opensearch checks the output against the index templates and the import rules.
Field names follow docs/documents.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The newest migration each type has in OSD 1.x-3.x: no migration runs on import, and none newer
# than the server knows (which would fail the import).
MIGRATION_VERSION = {
    "index-pattern": "7.6.0",
    "visualization": "7.10.0",
    "dashboard": "7.9.3",
    "search": "7.9.3",
}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
GRID_COLUMNS = 48


def dumps(value) -> str:
    """Compact, deterministic encoding for the JSON-in-JSON attributes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def kql(query: str) -> dict:
    return {"query": query, "language": "kuery"}


# --------------------------------------------------------------------------------------------
# Aggregations (visState.aggs). Ids are strings; the metric ids are what seriesParams/orderBy use.


def count(agg_id: str = "1", label: str | None = None) -> dict:
    params = {"customLabel": label} if label else {}
    return {"id": agg_id, "enabled": True, "type": "count", "schema": "metric", "params": params}


def metric(agg_type: str, field: str, agg_id: str, label: str | None = None, **params) -> dict:
    params = {"field": field, **params}
    if label:
        params["customLabel"] = label
    return {"id": agg_id, "enabled": True, "type": agg_type, "schema": "metric", "params": params}


def percentiles(field: str, agg_id: str, percents=(50, 95, 99), label: str | None = None) -> dict:
    return metric("percentiles", field, agg_id, label, percents=list(percents))


def terms(field: str, agg_id: str, schema: str, size: int = 10, order_by: str = "1",
          label: str | None = None) -> dict:
    params = {
        "field": field,
        "size": size,
        "order": "desc",
        "orderBy": order_by,
        "otherBucket": False,
        "otherBucketLabel": "Other",
        "missingBucket": False,
        "missingBucketLabel": "Missing",
    }
    if label:
        params["customLabel"] = label
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema, "params": params}


def date_histogram(agg_id: str, schema: str = "segment") -> dict:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "date_histogram",
        "schema": schema,
        "params": {
            "field": "@timestamp",
            "useNormalizedOpenSearchInterval": True,
            "scaleMetricValues": False,
            "interval": "auto",
            "drop_partials": False,
            "min_doc_count": 1,
            "extended_bounds": {},
        },
    }


def geohash_grid(field: str, agg_id: str) -> dict:
    return {"id": agg_id, "enabled": True, "type": "geohash_grid", "schema": "segment",
            "params": {"field": field, "autoPrecision": True, "precision": 2, "useGeocentroid": True,
                       "isFilteredByCollar": True}}


def filters(agg_id: str, schema: str, named_queries: list[tuple[str, str]]) -> dict:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "filters",
        "schema": schema,
        "params": {"filters": [{"input": kql(q), "label": label} for label, q in named_queries]},
    }


STATUS = "http.response.status_code"
STATUS_CLASSES = [
    ("1xx", f"{STATUS} >= 100 and {STATUS} < 200"),
    ("2xx", f"{STATUS} >= 200 and {STATUS} < 300"),
    ("3xx", f"{STATUS} >= 300 and {STATUS} < 400"),
    ("4xx", f"{STATUS} >= 400 and {STATUS} < 500"),
    ("5xx", f"{STATUS} >= 500"),
]


# --------------------------------------------------------------------------------------------
# Visualization params per type. Dashboards merges params shallowly with the type defaults, so
# every nested object given here must be complete.


def xy_params(chart: str, metrics: list[dict], mode: str, axis_title: str) -> dict:
    """Params for `histogram` (vertical bar), `line` and `area`: one series per metric agg."""
    series = [
        {
            "show": True,
            "type": chart,
            "mode": mode,
            "data": {"id": m["id"], "label": m["params"].get("customLabel", m["type"].capitalize())},
            "valueAxis": "ValueAxis-1",
            "drawLinesBetweenPoints": True,
            "lineWidth": 2,
            "interpolate": "linear",
            "showCircles": True,
        }
        for m in metrics
    ]
    return {
        "type": chart,
        "grid": {"categoryLines": False},
        "categoryAxes": [{
            "id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True, "style": {},
            "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100}, "title": {},
        }],
        "valueAxes": [{
            "id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
            "style": {}, "scale": {"type": "linear", "mode": "normal"},
            "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100}, "title": {"text": axis_title},
        }],
        "seriesParams": series,
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "labels": {"show": False},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }


PIE_PARAMS = {
    "type": "pie",
    "addTooltip": True,
    "addLegend": True,
    "legendPosition": "right",
    "isDonut": True,
    "labels": {"show": True, "values": True, "last_level": True, "truncate": 100},
}

TABLE_PARAMS = {
    "perPage": 10,
    "showPartialRows": False,
    "showMetricsAtAllLevels": False,
    "showTotal": False,
    "totalFunc": "sum",
    "percentageCol": "",
    "sort": {"columnIndex": None, "direction": None},
}

METRIC_PARAMS = {
    "type": "metric",
    "addTooltip": True,
    "addLegend": False,
    "metric": {
        "percentageMode": False,
        "useRanges": False,
        "colorSchema": "Green to Red",
        "metricColorMode": "None",
        "colorsRange": [{"from": 0, "to": 10000}],
        "labels": {"show": True},
        "invertColors": False,
        "style": {"bgFill": "#000", "bgColor": False, "labelColor": False, "subText": "", "fontSize": 36},
    },
}


MAP_PARAMS = {
    "mapType": "Scaled Circle Markers",
    "isDesaturated": True,
    "addTooltip": True,
    "heatClusterSize": 1.5,
    "legendPosition": "bottomright",
    "mapZoom": 2,
    "mapCenter": [0, 0],
    "colorSchema": "Yellow to Red",
    "wms": {"enabled": False, "options": {"format": "image/png", "transparent": True}},
}


# --------------------------------------------------------------------------------------------
# Saved objects


class Family:
    """One log type: its index pattern and the objects that hang off it."""

    def __init__(self, key: str, pattern_title: str, label: str,
                 byte_fields: tuple[str, ...] = ("http.request.bytes", "http.response.bytes", "aws.s3access.object_size")):
        self.byte_fields = byte_fields  # shown as bytes (KB, MB) rather than plain numbers
        self.key = key  # id prefix of every object of this family
        self.pattern_id = f"{key}-index-pattern"
        self.pattern_title = pattern_title
        self.label = label
        self.objects: list[dict] = [self._index_pattern()]
        self.panels: list[tuple[str, str, int, int]] = []  # (type, id, width, height)

    def _index_pattern(self) -> dict:
        return {
            "id": self.pattern_id,
            "type": "index-pattern",
            # No `fields`: Dashboards reads them from the cluster on first use, so the list always
            # matches the real mapping.
            "attributes": {
                "title": self.pattern_title,
                "timeFieldName": "@timestamp",
                "fieldFormatMap": dumps({f: {"id": "bytes"} for f in self.byte_fields}),
            },
            "references": [],
            "migrationVersion": {"index-pattern": MIGRATION_VERSION["index-pattern"]},
        }

    def _index_reference(self) -> list[dict]:
        return [{"name": INDEX_REF, "type": "index-pattern", "id": self.pattern_id}]

    def vis(self, slug: str, title: str, vis_type: str, params: dict, aggs: list[dict], *,
            query: str = "", description: str = "", width: int = 24, height: int = 15,
            on_dashboard: bool = True) -> str:
        object_id = f"{self.key}-{slug}"
        full_title = f"[{self.label}] {title}"
        search_source = {"query": kql(query), "filter": [], "indexRefName": INDEX_REF}
        self.objects.append({
            "id": object_id,
            "type": "visualization",
            "attributes": {
                "title": full_title,
                "description": description,
                "version": 1,
                "uiStateJSON": "{}",
                "visState": dumps({"title": full_title, "type": vis_type, "params": params, "aggs": aggs}),
                "kibanaSavedObjectMeta": {"searchSourceJSON": dumps(search_source)},
            },
            "references": self._index_reference(),
            "migrationVersion": {"visualization": MIGRATION_VERSION["visualization"]},
        })
        if on_dashboard:
            self.panels.append(("visualization", object_id, width, height))
        return object_id

    def pie(self, slug, title, aggs, **kw):
        return self.vis(slug, title, "pie", PIE_PARAMS, aggs, **kw)

    def table(self, slug, title, aggs, **kw):
        return self.vis(slug, title, "table", TABLE_PARAMS, aggs, **kw)

    def metric(self, slug, title, aggs, **kw):
        kw.setdefault("width", 48)
        kw.setdefault("height", 8)
        return self.vis(slug, title, "metric", METRIC_PARAMS, aggs, **kw)

    def map(self, slug, title, aggs, **kw):
        return self.vis(slug, title, "tile_map", MAP_PARAMS, aggs, **kw)

    def xy(self, slug, title, chart, aggs, *, mode="normal", axis_title="Count", **kw):
        metrics = [a for a in aggs if a["schema"] == "metric"]
        return self.vis(slug, title, chart, xy_params(chart, metrics, mode, axis_title), aggs, **kw)

    def search(self, slug: str, title: str, columns: list[str], *, query: str = "",
               sort: list[list[str]] | None = None, description: str = "", width: int = 48,
               height: int = 15, on_dashboard: bool = True) -> str:
        object_id = f"{self.key}-{slug}"
        search_source = {"query": kql(query), "filter": [], "highlightAll": True, "version": True,
                         "indexRefName": INDEX_REF}
        self.objects.append({
            "id": object_id,
            "type": "search",
            "attributes": {
                "title": f"[{self.label}] {title}",
                "description": description,
                "hits": 0,
                "version": 1,
                "columns": columns,
                "sort": sort or [["@timestamp", "desc"]],
                "kibanaSavedObjectMeta": {"searchSourceJSON": dumps(search_source)},
            },
            "references": self._index_reference(),
            "migrationVersion": {"search": MIGRATION_VERSION["search"]},
        })
        if on_dashboard:
            self.panels.append(("search", object_id, width, height))
        return object_id

    def parse_failures(self) -> str:
        """The saved search every family has: its lines that did not parse, with the raw line."""
        return self.search("parse-failures", "Parse failures", [
            "log.file.path", "log.file.line_number", "error.message", "event.original"],
            query="tags:parse_failure", height=10)

    def dashboard(self, slug: str, title: str, description: str) -> None:
        panels, references = [], []
        x = y = row_height = 0
        for n, (object_type, object_id, width, height) in enumerate(self.panels):
            if x + width > GRID_COLUMNS:  # next row
                x, y, row_height = 0, y + row_height, 0
            panel_index = str(n + 1)
            ref_name = f"panel_{n}"
            panels.append({
                "version": "7.10.0",
                "gridData": {"x": x, "y": y, "w": width, "h": height, "i": panel_index},
                "panelIndex": panel_index,
                "embeddableConfig": {},
                "panelRefName": ref_name,
            })
            references.append({"name": ref_name, "type": object_type, "id": object_id})
            x += width
            row_height = max(row_height, height)
        self.objects.append({
            "id": f"{self.key}-{slug}",
            "type": "dashboard",
            "attributes": {
                "title": title,
                "description": description,
                "hits": 0,
                "version": 1,
                "panelsJSON": dumps(panels),
                "optionsJSON": dumps({"hidePanelTitles": False, "useMargins": True}),
                "timeRestore": True,
                "timeFrom": "now-24h",
                "timeTo": "now",
                "refreshInterval": {"pause": True, "value": 0},
                "kibanaSavedObjectMeta": {"searchSourceJSON": dumps({"query": kql(""), "filter": []})},
            },
            "references": references,
            "migrationVersion": {"dashboard": MIGRATION_VERSION["dashboard"]},
        })


def where_and_what(f: Family, *, user_agents: bool = True) -> None:
    """From where and with what (GeoIP and user agents, ingest/enrich.py): for any family whose
    documents have source.ip (and user_agent.original). Empty until enrichment is turned on."""
    f.map("client-map", "Clients on a map", [count("1", "Requests"), geohash_grid("source.geo.location", "2")],
          description="Where client addresses are, by the GeoIP City database (GEOIP_CITY_DB)")
    f.table("top-countries", "Top countries", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Client IPs"),
        terms("source.geo.country_name", "3", "bucket", size=20, label="Country"),
    ], width=16)
    f.table("top-networks", "Top networks (AS organizations)", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Client IPs"),
        terms("source.as.organization.name", "3", "bucket", size=20, label="Network"),
        terms("source.as.number", "4", "bucket", size=1, label="AS number"),
    ], width=16, description="By the GeoIP ASN database (GEOIP_ASN_DB)")
    if user_agents:
        f.pie("browsers", "Browsers and clients", [count(), terms("user_agent.name", "2", "segment", size=15)],
              width=16)
        f.pie("operating-systems", "Operating systems", [count(), terms("user_agent.os.name", "2", "segment", size=15)],
              width=16, description="Parsed from the user agent (USER_AGENT_PARSING)")
        f.pie("devices", "Devices", [count(), terms("user_agent.device.name", "2", "segment", size=15)], width=16)


def load_balancer_panels(f: Family, ns: str, upstream: str, *, total: str, lb_5xx: str, lb_5xx_why: str,
                         left_out: str) -> str:
    """The opening panels ALB and Classic share: totals, status classes, the load balancer's own 5xx
    against the `upstream`'s (target, backend), and the processing times under aws.<ns>. Returns
    the upstream's processing-time field."""
    upstream_time, upstream_status, title = f"aws.{ns}.{upstream}_processing_time", f"aws.{ns}.{upstream}_status_code", upstream.capitalize()
    f.metric("kpis", "Totals", [
        count("1", total),
        metric("cardinality", "source.ip", "2", "Unique client IPs"),
        metric("sum", "http.request.bytes", "3", "Bytes received"),
        metric("sum", "http.response.bytes", "4", "Bytes sent"),
        percentiles(upstream_time, "5", (50, 95, 99), f"{title} processing time (s)"),
    ])
    f.xy("requests-by-status-class", "Requests over time by status class", "histogram", [
        count(), date_histogram("2"), filters("3", "group", STATUS_CLASSES),
    ], mode="stacked")
    f.xy(f"elb-vs-{upstream}-5xx", f"{lb_5xx} vs {upstream} 5xx", "line", [
        count(), date_histogram("2"), filters("3", "group", [
            (f"{lb_5xx} 5xx", f"{STATUS} >= 500 and not {upstream_status} >= 500"),
            (f"{title} 5xx", f"{upstream_status} >= 500"),
        ]),
    ], description=lb_5xx_why)
    f.xy(f"{upstream}-latency-percentiles", f"{title} processing time p50 / p95 / p99", "line", [
        percentiles(upstream_time, "1", (50, 95, 99)), date_histogram("2"),
    ], axis_title="Seconds", description=left_out)
    f.xy("processing-time-breakdown", f"Average request / {upstream} / response processing time", "line", [
        metric("avg", f"aws.{ns}.request_processing_time", "1", "Request processing (s)"),
        metric("avg", upstream_time, "2", f"{title} processing (s)"),
        metric("avg", f"aws.{ns}.response_processing_time", "3", "Response processing (s)"),
        date_histogram("4"),
    ], axis_title="Seconds")
    return upstream_time


def top_tables(f: Family, upstream_time: str, upstream: str) -> None:
    """Top paths (with the upstream's average time), client IPs and user agents: ALB and Classic."""
    f.table("top-urls", "Top URL paths", [
        count("1", "Requests"),
        metric("avg", upstream_time, "2", f"Avg {upstream} time (s)"),
        metric("sum", "http.response.bytes", "3", "Bytes sent"),
        terms("url.path", "4", "bucket", size=25, label="Path"),
    ])
    f.table("top-client-ips", "Top client IPs", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        metric("cardinality", "url.path", "3", "Distinct paths"),
        terms("source.ip", "4", "bucket", size=25, label="Client IP"),
    ])
    f.table("top-user-agents", "Top user agents", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Client IPs"),
        terms("user_agent.original", "3", "bucket", size=25, label="User agent"),
    ])


def load_balancers_table(f: Family, ns: str) -> None:
    """Requests and bytes per load balancer (aws.<ns>.elb): ALB and Classic."""
    f.table("load-balancers", "Load balancers", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        terms(f"aws.{ns}.elb", "3", "bucket", size=20, label="Load balancer"),
    ])


def server_errors_by_path_table(f: Family) -> None:
    """5xx responses per URL path: ALB and Classic."""
    f.table("server-errors-by-path", "5xx by path", [
        count("1", "5xx responses"),
        terms("url.path", "2", "bucket", size=20, label="Path"),
        terms(STATUS, "3", "bucket", size=5, label="Status"),
    ], query=f"{STATUS} >= 500")


def alb_objects() -> list[dict]:
    f = Family("alb", "alb-logs-*", "ALB")
    tpt = load_balancer_panels(
        f, "elb", "target", total="Requests", lb_5xx="ELB-generated",
        lb_5xx_why="5xx the load balancer produced itself (no target, timeouts, resets) against 5xx returned by targets",
        left_out="Requests that never reached a target have no target time and are left out")
    f.pie("status-codes", "ELB status codes", [count(), terms(STATUS, "2", "segment", size=20)])
    f.pie("target-status-codes", "Target status codes", [
        count(), terms("aws.elb.target_status_code", "2", "segment", size=20)])
    f.xy("status-codes-over-time", "Status codes over time", "histogram", [
        count(), date_histogram("2"), terms(STATUS, "3", "group", size=10),
    ], mode="stacked")
    f.xy("bytes-over-time", "Bytes received and sent", "line", [
        metric("sum", "http.request.bytes", "1", "Bytes received"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        date_histogram("3"),
    ], axis_title="Bytes")
    top_tables(f, tpt, "target")
    where_and_what(f)
    f.pie("http-methods", "HTTP methods", [count(), terms("http.request.method", "2", "segment")])
    f.pie("request-types", "Request types (http, https, h2, ws, wss)", [
        count(), terms("aws.elb.type", "2", "segment")])
    f.pie("tls-protocols", "TLS protocols", [count(), terms("aws.elb.ssl_protocol", "2", "segment")])
    f.pie("tls-ciphers", "TLS ciphers", [count(), terms("aws.elb.ssl_cipher", "2", "segment", size=15)])
    f.table("error-reasons", "Error reasons", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Client IPs"),
        terms("aws.elb.error_reason", "3", "bucket", size=20, label="Error reason"),
    ], description="aws.elb.error_reason is set when the load balancer or a Lambda target failed the request")
    f.pie("actions-executed", "Actions executed (WAF, redirect, fixed response, authenticate, forward)", [
        count(), terms("aws.elb.actions_executed", "2", "segment", size=15)])
    f.table("redirects", "Redirect targets", [
        count("1", "Requests"),
        terms("aws.elb.redirect_url", "2", "bucket", size=20, label="Redirect URL"),
    ], query="aws.elb.actions_executed:redirect")
    f.table("waf-actions", "Requests seen by AWS WAF", [
        count("1", "Requests"),
        terms("aws.elb.actions_executed", "2", "bucket", size=10, label="Actions"),
        terms("source.ip", "3", "bucket", size=10, label="Client IP"),
    ], query="aws.elb.actions_executed:(waf or waf-failed)")
    f.table("slowest-paths", "Slowest paths (by average target time)", [
        metric("avg", tpt, "1", "Avg target time (s)"),
        percentiles(tpt, "2", (95, 99)),
        count("3", "Requests"),
        terms("url.path", "4", "bucket", size=25, order_by="1", label="Path"),
    ])
    f.table("targets-by-errors", "Targets by 5xx count", [
        count("1", "5xx responses"),
        terms("destination.ip", "2", "bucket", size=20, label="Target IP"),
        terms("aws.elb.target_group_arn", "3", "bucket", size=3, label="Target group"),
    ], query=f"{STATUS} >= 500 or aws.elb.target_status_code >= 500")
    f.table("target-groups", "Target groups", [
        count("1", "Requests"),
        metric("avg", tpt, "2", "Avg target time (s)"),
        percentiles(tpt, "3", (99,)),
        terms("aws.elb.target_group_arn", "4", "bucket", size=20, label="Target group"),
    ])
    load_balancers_table(f, "elb")
    f.table("domains", "Requested host names", [
        count("1", "Requests"),
        terms("url.domain", "2", "bucket", size=20, label="Host"),
    ])
    f.table("client-errors-by-path", "4xx by path", [
        count("1", "4xx responses"),
        terms("url.path", "2", "bucket", size=20, label="Path"),
        terms(STATUS, "3", "bucket", size=5, label="Status"),
    ], query=f"{STATUS} >= 400 and {STATUS} < 500")
    server_errors_by_path_table(f)
    f.pie("classification", "Desync mitigation classification", [
        count(), terms("aws.elb.classification", "2", "segment")])
    f.pie("matched-rules", "Matched listener rule priority", [
        count(), terms("aws.elb.matched_rule_priority", "2", "segment", size=15)])
    f.search("server-errors", "5xx requests", [
        STATUS, "aws.elb.target_status_code", "source.ip", "http.request.method", "url.original",
        "aws.elb.error_reason", "destination.ip"], query=f"{STATUS} >= 500")
    f.search("requests", "Requests", [
        "source.ip", "http.request.method", "url.original", STATUS, tpt, "http.response.bytes",
        "user_agent.original"], on_dashboard=False)
    f.search("slowest-requests", "Slowest requests", [
        tpt, "source.ip", "http.request.method", "url.original", STATUS, "destination.ip"],
        query=f"{tpt} >= 0", sort=[[tpt, "desc"]], on_dashboard=False)
    f.parse_failures()
    f.dashboard("dashboard", "ALB access logs",
                "Traffic, errors, latency, TLS and actions of Application Load Balancers (alb-logs-*)")
    return f.objects


def s3_objects() -> list[dict]:
    f = Family("s3access", "s3-access-logs-*", "S3 access")
    total_time = "aws.s3access.total_time"
    denied = f"{STATUS}:403"

    f.metric("kpis", "Totals", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Unique client IPs"),
        metric("sum", "http.response.bytes", "3", "Bytes sent"),
        metric("cardinality", "aws.s3access.bucket", "4", "Buckets"),
        metric("cardinality", "aws.s3access.requester", "5", "Requesters"),
    ])
    f.search("requests", "Requests", [
        "source.ip", "url.original", "http.response.bytes", STATUS, "aws.s3access.operation",
        "aws.s3access.bucket", "aws.s3access.requester"],
        description="Every request, newest first; click a column header to sort by it")
    f.xy("requests-by-status-class", "Requests over time by status class", "histogram", [
        count(), date_histogram("2"), filters("3", "group", STATUS_CLASSES),
    ], mode="stacked")
    f.xy("requests-by-status", "Requests by HTTP status", "histogram", [
        count(), terms(STATUS, "2", "segment", size=20, label="HTTP status"),
    ])
    f.pie("top-objects", "Top 5 requested objects", [
        count(), terms("aws.s3access.key", "2", "segment", size=5)])
    f.table("access-ips", "Access IPs", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        terms("source.ip", "3", "bucket", size=25, label="Client IP"),
    ])
    f.table("denied-ips", "Denied (403) IPs", [
        count("1", "Denied requests"),
        terms("source.ip", "2", "bucket", size=25, label="Client IP"),
    ], query=denied)
    f.table("denied-keys", "Denied (403) keys", [
        count("1", "Denied requests"),
        terms("aws.s3access.key", "2", "bucket", size=25, label="Key"),
    ], query=denied)
    f.pie("operations", "Operations", [count(), terms("aws.s3access.operation", "2", "segment", size=15)])
    f.table("error-codes", "Error codes", [
        count("1", "Requests"),
        terms("aws.s3access.error_code", "2", "bucket", size=20, label="Error code"),
        terms(STATUS, "3", "bucket", size=3, label="HTTP status"),
    ])
    f.table("requesters", "Requesters", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        terms("aws.s3access.requester", "3", "bucket", size=25, label="Requester"),
    ])
    f.xy("bytes-sent-over-time", "Bytes sent over time", "histogram", [
        metric("sum", "http.response.bytes", "1", "Bytes sent"), date_histogram("2"),
    ], axis_title="Bytes")
    f.table("slowest-operations", "Slowest operations (total time, ms)", [
        metric("avg", total_time, "1", "Avg total time (ms)"),
        percentiles(total_time, "2", (50, 95, 99)),
        metric("max", total_time, "3", "Max total time (ms)"),
        count("4", "Requests"),
        terms("aws.s3access.operation", "5", "bucket", size=20, order_by="1", label="Operation"),
    ])
    f.xy("total-time-percentiles", "Total time p50 / p95 / p99", "line", [
        percentiles(total_time, "1", (50, 95, 99)), date_histogram("2"),
    ], axis_title="Milliseconds")
    f.pie("buckets", "Buckets", [count(), terms("aws.s3access.bucket", "2", "segment", size=15)])
    f.table("largest-transfers", "Objects by bytes sent", [
        metric("sum", "http.response.bytes", "1", "Bytes sent"),
        count("2", "Requests"),
        terms("aws.s3access.key", "3", "bucket", size=20, label="Key"),
    ])
    f.table("user-agents", "User agents", [
        count("1", "Requests"),
        terms("user_agent.original", "2", "bucket", size=20, label="User agent"),
    ])
    where_and_what(f)
    f.pie("authentication-types", "Authentication types", [
        count(), terms("aws.s3access.authentication_type", "2", "segment")])
    f.pie("tls-versions", "TLS versions", [count(), terms("aws.s3access.tls_version", "2", "segment")])
    f.pie("signature-versions", "Signature versions", [
        count(), terms("aws.s3access.signature_version", "2", "segment")])
    f.search("denied-requests", "Denied (403) requests", [
        "source.ip", "aws.s3access.requester", "aws.s3access.operation", "aws.s3access.key",
        "aws.s3access.error_code"], query=denied, on_dashboard=False)
    f.parse_failures()
    f.dashboard("dashboard", "S3 server access logs",
                "Who accessed which objects, how much, how fast, and what was denied (s3-access-logs-*)")
    return f.objects


def nlb_objects() -> list[dict]:
    f = Family("nlb", "nlb-logs-*", "NLB", byte_fields=("aws.nlb.received_bytes", "aws.nlb.sent_bytes"))
    handshake = "aws.nlb.tls_handshake_time"
    # AWS logs `-` for a handshake that failed; failure records have no handshake time either.
    failed = f"not {handshake}:* and not tags:parse_failure"

    f.metric("kpis", "Totals", [
        count("1", "TLS connections"),
        metric("cardinality", "source.ip", "2", "Unique client IPs"),
        metric("sum", "aws.nlb.received_bytes", "3", "Bytes received"),
        metric("sum", "aws.nlb.sent_bytes", "4", "Bytes sent"),
        percentiles(handshake, "5", (50, 95, 99), "TLS handshake time (ms)"),
    ])
    f.xy("handshakes-over-time", "TLS connections over time: completed and failed handshakes", "histogram", [
        count(), date_histogram("2"), filters("3", "group", [
            ("Completed handshake", f"{handshake} >= 0"), ("Failed handshake", failed)]),
    ], mode="stacked")
    f.xy("handshake-time-percentiles", "TLS handshake time p50 / p95 / p99", "line", [
        percentiles(handshake, "1", (50, 95, 99)), date_histogram("2"),
    ], axis_title="Milliseconds", description="Failed handshakes have no handshake time and are left out")
    f.table("handshake-failures-by-alert", "Failed handshakes by TLS alert from the client", [
        count("1", "Failed handshakes"),
        metric("cardinality", "source.ip", "2", "Client IPs"),
        terms("aws.nlb.incoming_tls_alert", "3", "bucket", size=20, label="TLS alert"),
    ], query=failed, description="RFC 8446 alert numbers: 40 handshake_failure, 42 bad_certificate, "
                                 "46 certificate_unknown, 48 unknown_ca, 70 protocol_version")
    f.table("handshake-failures-by-client", "Failed handshakes by client IP", [
        count("1", "Failed handshakes"),
        terms("source.ip", "2", "bucket", size=20, label="Client IP"),
    ], query=failed)
    f.pie("tls-protocols", "TLS protocol versions", [count(), terms("tls.version", "2", "segment")])
    f.pie("tls-ciphers", "TLS ciphers", [count(), terms("tls.cipher", "2", "segment", size=15)])
    f.table("listeners", "Connections per listener", [
        count("1", "Connections"),
        metric("avg", "aws.nlb.connection_time", "2", "Avg connection time (ms)"),
        metric("sum", "aws.nlb.sent_bytes", "3", "Bytes sent"),
        terms("aws.nlb.listener", "4", "bucket", size=20, label="Listener"),
        terms("destination.port", "5", "bucket", size=3, label="Port"),
    ])
    f.xy("listeners-over-time", "Connections per listener over time", "histogram", [
        count(), date_histogram("2"), terms("aws.nlb.listener", "3", "group", size=10),
    ], mode="stacked")
    f.table("top-client-ips", "Top clients", [
        count("1", "Connections"),
        metric("sum", "aws.nlb.received_bytes", "2", "Bytes received"),
        metric("sum", "aws.nlb.sent_bytes", "3", "Bytes sent"),
        terms("source.ip", "4", "bucket", size=25, label="Client IP"),
    ])
    f.xy("connection-time-percentiles", "Connection time p50 / p95 / p99", "line", [
        percentiles("aws.nlb.connection_time", "1", (50, 95, 99)), date_histogram("2"),
    ], axis_title="Milliseconds")
    f.xy("bytes-over-time", "Bytes received and sent", "line", [
        metric("sum", "aws.nlb.received_bytes", "1", "Bytes received"),
        metric("sum", "aws.nlb.sent_bytes", "2", "Bytes sent"),
        date_histogram("3"),
    ], axis_title="Bytes")
    f.table("server-names", "Requested server names (SNI)", [
        count("1", "Connections"),
        terms("tls.client.server_name", "2", "bucket", size=20, label="SNI"),
    ])
    f.pie("alpn-protocols", "ALPN protocol negotiated with clients", [
        count(), terms("aws.nlb.alpn_fe_protocol", "2", "segment")])
    f.table("load-balancers", "Load balancers", [
        count("1", "Connections"),
        terms("aws.nlb.elb", "2", "bucket", size=20, label="Load balancer"),
    ])
    f.search("failed-handshakes", "Failed TLS handshakes", [
        "source.ip", "aws.nlb.incoming_tls_alert", "aws.nlb.listener", "destination.port",
        "tls.client.server_name", "aws.nlb.connection_time"], query=failed)
    f.parse_failures()
    where_and_what(f, user_agents=False)  # NLB logs no user agent
    f.dashboard("dashboard", "NLB access logs",
                "TLS connections of Network Load Balancers: handshake failures and times, protocols and "
                "ciphers, listeners, clients (nlb-logs-*)")
    return f.objects


def clb_objects() -> list[dict]:
    f = Family("clb", "clb-logs-*", "Classic LB", byte_fields=("http.request.bytes", "http.response.bytes"))
    bpt = load_balancer_panels(
        f, "clb", "backend", total="Requests and connections", lb_5xx="Load-balancer-generated",
        lb_5xx_why="5xx the load balancer produced itself (no healthy backend, timeouts) against 5xx from backends",
        left_out="Requests that reached no backend have no backend time and are left out")
    f.pie("listener-kinds", "HTTP(S) requests and TCP/SSL connections", [
        count(), filters("2", "segment", [("HTTP(S) requests", "http.request.method:*"),
                                           ("TCP/SSL connections",
                                            "not http.request.method:* and not tags:parse_failure")])])
    f.pie("status-codes", "Load balancer status codes", [count(), terms(STATUS, "2", "segment", size=20)])
    f.pie("backend-status-codes", "Backend status codes", [
        count(), terms("aws.clb.backend_status_code", "2", "segment", size=20)])
    f.xy("bytes-over-time", "Bytes received and sent", "line", [
        metric("sum", "http.request.bytes", "1", "Bytes received"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        date_histogram("3"),
    ], axis_title="Bytes")
    top_tables(f, bpt, "backend")
    where_and_what(f)
    f.pie("http-methods", "HTTP methods", [count(), terms("http.request.method", "2", "segment")])
    f.pie("tls-protocols", "TLS protocol versions", [count(), terms("tls.version", "2", "segment")])
    f.pie("tls-ciphers", "TLS ciphers", [count(), terms("tls.cipher", "2", "segment", size=15)])
    f.table("slowest-paths", "Slowest paths (by average backend time)", [
        metric("avg", bpt, "1", "Avg backend time (s)"),
        percentiles(bpt, "2", (95, 99)),
        count("3", "Requests"),
        terms("url.path", "4", "bucket", size=25, order_by="1", label="Path"),
    ])
    f.table("backends-by-errors", "Backends by 5xx count", [
        count("1", "5xx responses"),
        terms("destination.ip", "2", "bucket", size=20, label="Backend IP"),
    ], query=f"{STATUS} >= 500 or aws.clb.backend_status_code >= 500")
    load_balancers_table(f, "clb")
    server_errors_by_path_table(f)
    f.search("server-errors", "5xx requests", [
        STATUS, "aws.clb.backend_status_code", "source.ip", "http.request.method", "url.original",
        "destination.ip"], query=f"{STATUS} >= 500")
    f.parse_failures()
    f.dashboard("dashboard", "Classic Load Balancer access logs",
                "Traffic, errors, latency and TLS of Classic Load Balancers (clb-logs-*)")
    return f.objects


def alb_connection_objects() -> list[dict]:
    f = Family("albconn", "alb-connection-logs-*", "ALB connections")
    ns = "aws.alb_connection"
    latency = f"{ns}.tls_handshake_latency"
    verify = f"{ns}.tls_verify_status"
    failed = f"{verify}:Failed*"

    f.metric("kpis", "Totals", [
        count("1", "Connections"),
        metric("cardinality", "source.ip", "2", "Unique client IPs"),
        percentiles(latency, "3", (50, 95, 99), "TLS handshake latency (s)"),
        metric("cardinality", "tls.client.subject", "4", "Client certificates (subjects)"),
    ])
    f.xy("handshake-latency-percentiles", "TLS handshake latency p50 / p95 / p99", "line", [
        percentiles(latency, "1", (50, 95, 99)), date_histogram("2"),
    ], axis_title="Seconds", description="Plain listeners and failed handshakes have no latency and are left out")
    f.xy("connections-by-verify-status", "Connections over time by TLS verification result", "histogram", [
        count(), date_histogram("2"), filters("3", "group", [
            ("Success", f"{verify}:Success"), ("Failed", failed),
            ("No client verification", f"not {verify}:*")]),
    ], mode="stacked")
    f.table("failures-by-reason", "TLS verification failures by reason", [
        count("1", "Connections"),
        metric("cardinality", "source.ip", "2", "Client IPs"),
        terms(verify, "3", "bucket", size=20, label="Verify status"),
    ], query=failed, description="Failed:<reason> of mutual TLS (e.g. ClientCertUntrusted, ClientCertExpired)")
    f.xy("failures-over-time", "TLS verification failures over time by reason", "histogram", [
        count(), date_histogram("2"), terms(verify, "3", "group", size=8),
    ], mode="stacked", query=failed)
    f.table("client-certificates", "Client certificates", [
        count("1", "Connections"),
        metric("max", "tls.client.not_after", "2", "Valid until"),
        terms("tls.client.subject", "3", "bucket", size=25, label="Subject"),
        terms("tls.client.x509.serial_number", "4", "bucket", size=3, label="Serial number"),
    ], query="tls.client.subject:*")
    f.table("certificates-by-failure", "Client certificates that failed verification", [
        count("1", "Connections"),
        terms("tls.client.subject", "2", "bucket", size=20, label="Subject"),
        terms(verify, "3", "bucket", size=5, label="Verify status"),
    ], query=failed)
    f.pie("tls-versions", "TLS versions", [count(), terms("tls.version", "2", "segment")])
    f.pie("tls-ciphers", "TLS ciphers", [count(), terms("tls.cipher", "2", "segment", size=15)])
    f.pie("key-exchanges", "Key exchanges (TLS and PQ-TLS)", [count(), terms(f"{ns}.tls_keyexchange", "2", "segment")])
    f.pie("listener-ports", "Connections per listener port", [count(), terms(f"{ns}.listener_port", "2", "segment")])
    f.table("top-clients", "Top client IPs", [
        count("1", "Connections"),
        metric("avg", latency, "2", "Avg handshake (s)"),
        terms("source.ip", "3", "bucket", size=25, label="Client IP"),
    ])
    f.table("slowest-clients", "Slowest TLS handshakes by client", [
        metric("avg", latency, "1", "Avg handshake (s)"),
        percentiles(latency, "2", (95, 99)),
        count("3", "Connections"),
        terms("source.ip", "4", "bucket", size=20, order_by="1", label="Client IP"),
    ])
    f.search("failed-connections", "Connections that failed TLS verification", [
        "source.ip", "source.port", verify, "tls.client.subject", "tls.client.x509.serial_number",
        f"{ns}.conn_trace_id"], query=failed)
    f.parse_failures()
    where_and_what(f, user_agents=False)  # connection logs carry no user agent
    f.dashboard("dashboard", "ALB connection logs",
                "TLS handshakes, their latency, mutual-TLS client certificates and why verification failed "
                "(alb-connection-logs-*)")
    return f.objects


def alb_health_check_objects() -> list[dict]:
    f = Family("albhc", "alb-health-check-logs-*", "ALB health checks")
    ns = "aws.alb_health_check"
    fail = f"{ns}.status:FAIL"

    f.metric("kpis", "Totals", [
        count("1", "Health checks"),
        metric("cardinality", f"{ns}.target_addr", "2", "Targets"),
        metric("cardinality", f"{ns}.target_group_id", "3", "Target groups"),
        percentiles(f"{ns}.latency", "4", (50, 99), "Latency (s)"),
    ])
    f.xy("checks-by-status", "Health checks over time: PASS and FAIL", "histogram", [
        count(), date_histogram("2"), filters("3", "group", [("PASS", f"{ns}.status:PASS"), ("FAIL", fail)]),
    ], mode="stacked")
    f.xy("unhealthy-targets-over-time", "Failing targets over time", "line", [
        metric("cardinality", f"{ns}.target_addr", "1", "Failing targets"), date_histogram("2"),
    ], query=fail, axis_title="Targets", description="Distinct targets that failed at least one check in each interval")
    f.xy("failures-by-reason-over-time", "Failed checks over time by reason", "histogram", [
        count(), date_histogram("2"), terms(f"{ns}.reason_code", "3", "group", size=8),
    ], mode="stacked", query=fail)
    f.table("unhealthy-targets", "Targets that failed checks, and why", [
        count("1", "Failed checks"),
        terms(f"{ns}.target_addr", "2", "bucket", size=25, label="Target"),
        terms(f"{ns}.reason_code", "3", "bucket", size=5, label="Reason"),
    ], query=fail)
    f.pie("reasons", "Failure reasons", [count(), terms(f"{ns}.reason_code", "2", "segment", size=10)], query=fail)
    f.pie("status-codes", "Status codes of failed checks", [
        count(), terms("http.response.status_code", "2", "segment", size=10)], query=fail)
    f.table("target-groups", "Target groups", [
        count("1", "Checks"),
        metric("cardinality", f"{ns}.target_addr", "2", "Targets"),
        terms(f"{ns}.target_group_id", "3", "bucket", size=20, label="Target group"),
        filters("4", "bucket", [("PASS", f"{ns}.status:PASS"), ("FAIL", fail)]),
    ])
    f.xy("latency-percentiles", "Health-check latency p50 / p95 / p99", "line", [
        percentiles(f"{ns}.latency", "1", (50, 95, 99)), date_histogram("2"),
    ], axis_title="Seconds")
    f.table("slowest-targets", "Slowest targets (average latency)", [
        metric("avg", f"{ns}.latency", "1", "Avg latency (s)"),
        count("2", "Checks"),
        terms(f"{ns}.target_addr", "3", "bucket", size=20, order_by="1", label="Target"),
    ])
    f.pie("check-types", "Check types (http, https, h2, grpc, lambda)", [count(), terms(f"{ns}.type", "2", "segment")])
    f.search("failed-checks", "Failed health checks", [
        f"{ns}.target_addr", f"{ns}.target_group_id", f"{ns}.reason_code", "http.response.status_code",
        f"{ns}.latency", f"{ns}.elb"], query=fail)
    f.parse_failures()
    f.dashboard("dashboard", "ALB health-check logs",
                "Which targets failed their health checks, when, and why (alb-health-check-logs-*)")
    return f.objects


def cloudfront_objects() -> list[dict]:
    f = Family("cloudfront", "cloudfront-logs-*", "CloudFront")
    cf = "aws.cloudfront."
    taken = cf + "time_taken"
    result = cf + "x_edge_result_type"
    # What CloudFront served from a cache (x-edge-result-type), against what went to the origin.
    cache = [("Served from cache", f"{result}:(Hit or RefreshHit or OriginShieldHit)"), ("Miss", f"{result}:Miss")]

    f.metric("kpis", "Totals", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Unique viewer IPs"),
        metric("sum", "http.response.bytes", "3", "Bytes sent"),
        percentiles(taken, "4", (50, 95, 99), "Time taken (s)"),
        metric("cardinality", cf + "x_edge_location", "5", "Edge locations"),
    ])
    f.pie("cache-hit-ratio", "Cache hit ratio (hits, refresh hits and Origin Shield hits against misses)", [
        count(), filters("2", "segment", cache)],
        description="Cacheable outcomes only: errors, redirects and function responses are in Edge result types")
    f.xy("cache-hit-ratio-over-time", "Cache hit ratio over time", "area", [
        count(), date_histogram("2"), filters("3", "group", cache)], mode="percentage", axis_title="Share")
    f.table("edge-result-types", "Requests and bytes per edge result type", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        percentiles(taken, "3", (50, 95)),
        terms(result, "4", "bucket", size=15, label="Edge result type"),
    ])
    f.xy("result-types-over-time", "Edge result types over time", "histogram", [
        count(), date_histogram("2"), terms(result, "3", "group", size=10)], mode="stacked")
    f.xy("requests-by-status-class", "Requests over time by status class", "histogram", [
        count(), date_histogram("2"), filters("3", "group", STATUS_CLASSES)], mode="stacked")
    f.xy("time-taken-percentiles", "Time taken p50 / p95 / p99", "line", [
        percentiles(taken, "1", (50, 95, 99)), date_histogram("2")], axis_title="Seconds")
    f.xy("bytes-over-time", "Bytes sent over time by edge result type", "histogram", [
        metric("sum", "http.response.bytes", "1", "Bytes sent"), date_histogram("2"),
        terms(result, "3", "group", size=5)], mode="stacked", axis_title="Bytes")
    f.table("top-uris", "Top URIs", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        metric("avg", taken, "3", "Avg time taken (s)"),
        terms("url.path", "4", "bucket", size=25, label="URI"),
    ])
    f.table("top-referrers", "Top referrers", [
        count("1", "Requests"),
        terms("http.request.referrer", "2", "bucket", size=20, label="Referrer"),
    ])
    f.table("top-user-agents", "Top user agents", [
        count("1", "Requests"),
        metric("cardinality", "source.ip", "2", "Viewer IPs"),
        terms("user_agent.original", "3", "bucket", size=20, label="User agent"),
    ])
    f.table("edge-locations", "Edge locations", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        terms(cf + "x_edge_location", "3", "bucket", size=20, label="Edge location"),
    ])
    f.table("top-viewers", "Top viewer IPs", [
        count("1", "Requests"),
        metric("sum", "http.response.bytes", "2", "Bytes sent"),
        terms("source.ip", "3", "bucket", size=20, label="Viewer IP"),
    ])
    f.table("error-types", "Errors by detailed result type", [
        count("1", "Requests"),
        terms(cf + "x_edge_detailed_result_type", "2", "bucket", size=20, label="Detailed result type"),
        terms(STATUS, "3", "bucket", size=5, label="Status"),
    ], query=f"{result}:Error")
    f.pie("hosts", "Requested host names", [count(), terms("url.domain", "2", "segment", size=15)])
    f.pie("protocols", "Viewer protocols and HTTP versions", [
        count(), terms("url.scheme", "2", "segment"), terms("http.version", "3", "segment")])
    f.pie("tls", "TLS versions", [count(), terms("tls.version", "2", "segment")])
    f.search("server-errors", "5xx requests", [
        STATUS, cf + "x_edge_detailed_result_type", "source.ip", "http.request.method", "url.domain", "url.path",
        cf + "x_edge_request_id"], query=f"{STATUS} >= 500")
    f.parse_failures()
    where_and_what(f)
    f.dashboard("dashboard", "CloudFront standard logs",
                "Requests, bytes and cache hits per edge result type, errors, latency and top URIs (cloudfront-logs-*)")
    return f.objects


OUTPUTS = {
    "alb-logs.ndjson": alb_objects,
    "s3-access-logs.ndjson": s3_objects,
    "nlb-logs.ndjson": nlb_objects,
    "clb-logs.ndjson": clb_objects,
    "alb-connection-logs.ndjson": alb_connection_objects,
    "alb-health-check-logs.ndjson": alb_health_check_objects,
    "cloudfront-logs.ndjson": cloudfront_objects,
}


def render(objects: list[dict]) -> str:
    return "".join(json.dumps(o, sort_keys=True, ensure_ascii=False) + "\n" for o in objects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed NDJSON differs")
    args = parser.parse_args(argv)
    stale = []
    for name, build in OUTPUTS.items():
        path = HERE / name
        text = render(build())
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python opensearch/dashboards/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
