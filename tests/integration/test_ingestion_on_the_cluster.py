"""Generated logs of every format through the real pipeline and OpenSearchSink into the real cluster:
every line read is a document, in its daily index, with every field indexed as the template declares."""
from __future__ import annotations

import ipaddress
import json
import random
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

import pytest

from .conftest import GENERATED, REPO, UNPARSABLE_LINES
from .test_bootstrap_on_the_cluster import declared_mapping

pytestmark = pytest.mark.integration

# Fields the mapping stores in _source without indexing them (docs/documents.md: "not indexed").
STORED_ONLY = {"event.original"}


def leaves(document: dict, prefix: str = "") -> dict[str, list]:
    """Dotted path → values (lists flattened), as OpenSearch indexes an object."""
    out: dict[str, list] = defaultdict(list)
    for name, value in document.items():
        path = f"{prefix}{name}"
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict) and set(item) != {"lat", "lon"}:  # {lat, lon}: one geo_point value
                for sub_path, sub_values in leaves(item, path + ".").items():
                    out[sub_path] += sub_values
            elif item is not None:
                out[path].append(item)
    return out


def mapped_fields(properties: dict, prefix: str = "") -> dict[str, dict]:
    out = {}
    for name, spec in properties.items():
        if "properties" in spec:
            out.update(mapped_fields(spec["properties"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = spec
    return out


@pytest.fixture(scope="module")
def documents(cluster, loaded) -> dict[str, list[dict]]:
    return {family: cluster.all_documents(cluster.pattern(family)) for family in GENERATED}


def test_every_object_was_read_whole_and_nothing_was_dead_lettered(loaded):
    for report in loaded.reports:
        assert report.status == "ok", (report.uri, report.error)
        assert report.dead_lettered == 0, report.uri
        assert report.accounted_for
    by_format = Counter()
    for report in loaded.reports:
        by_format[report.format] += report.lines_read
    assert by_format == {family: lines + UNPARSABLE_LINES for family, lines in GENERATED.items()}
    assert by_format == loaded.truth.lines


def test_cloudfront_header_lines_are_no_documents_but_each_report_counts_them(loaded):
    skipped = sum(r.skipped_lines for r in loaded.reports if r.format == "cloudfront")
    assert skipped == loaded.truth.header_lines > 0
    assert all(r.skipped_lines == 0 for r in loaded.reports if r.format != "cloudfront")


def test_the_report_counts_a_failure_record_sent_after_a_flush_inside_its_batch(cluster, tmp_path):
    from ingest.deadletter import LocalDeadLetterWriter
    from ingest.pipeline import LocalFile, Options, process_object
    from ingest.shipper import OpenSearchSink

    from .conftest import generate_logs

    rng = random.Random(5)
    when = datetime.now(timezone.utc)
    lines = [generate_logs.s3_line(rng, when) for _ in range(14)]
    lines.insert(11, "this line is not an access log record")  # after the flush at 10 documents
    path = tmp_path / "2026-11-25-12-05-00-0123456789ABCDEF"
    path.write_text("\n".join(lines) + "\n")
    prefix = f"{cluster.prefixes['s3-access']}-report"
    sink = OpenSearchSink(cluster.url, cluster.auth, max_docs=10)
    try:
        report = process_object(LocalFile(str(path), path.name), sink, LocalDeadLetterWriter(str(tmp_path)),
                                Options(log_format="s3-access", index_prefixes={"s3-access": prefix},
                                        bulk_max_docs=10))
    finally:
        sink.close()
        cluster.request("DELETE", f"{prefix}-*")

    assert report.status == "ok" and report.lines_read == 15
    assert (report.indexed, report.failed) == (14, 1)


@pytest.mark.parametrize("family", GENERATED)
def test_count_equals_the_lines_read(cluster, loaded, family):
    lines_read = sum(r.lines_read for r in loaded.reports if r.format == family)

    assert cluster.ok("GET", f"{cluster.pattern(family)}/_count")["count"] == lines_read


@pytest.mark.parametrize("family", GENERATED)
def test_each_document_is_in_the_daily_index_of_its_timestamp(cluster, documents, family):
    prefix = cluster.prefixes[family]
    misplaced = [(hit["_index"], hit["_source"]["@timestamp"]) for hit in documents[family]
                 if hit["_index"] != f"{prefix}-{hit['_source']['@timestamp'][:10].replace('-', '.')}"]

    assert documents[family]
    assert misplaced == []


@pytest.mark.parametrize("family", GENERATED)
def test_every_field_the_parsers_emit_is_mapped_with_the_declared_type(cluster, documents, family):
    declared = mapped_fields(declared_mapping(family)["properties"])
    live = {}
    for body in cluster.ok("GET", f"{cluster.pattern(family)}/_mapping").values():
        live.update(mapped_fields(body["mappings"]["properties"]))
    emitted = set()
    for hit in documents[family]:
        emitted |= set(leaves(hit["_source"]))

    assert emitted, "no documents"
    unmapped = sorted(emitted - set(live))
    assert unmapped == [], f"kept in _source but not indexed (dynamic: false): {unmapped}"
    for path in sorted(emitted):
        assert live[path]["type"] == declared[path]["type"], path


@pytest.mark.parametrize("family", GENERATED)
def test_every_emitted_field_is_searchable_in_every_document_that_has_it(cluster, documents, family):
    # `exists` finds a document only when the field was indexed (or has doc values) for it: a value
    # over ignore_above, a malformed value or an unmapped field would all show up as a shortfall.
    in_source = Counter()
    for hit in documents[family]:
        in_source.update(leaves(hit["_source"]).keys())
    searchable = {}
    for path in in_source:
        body = {"query": {"exists": {"field": path}}}
        searchable[path] = cluster.ok("POST", f"{cluster.pattern(family)}/_count", body)["count"]

    shortfalls = {path: (in_source[path], searchable[path]) for path in in_source
                  if path not in STORED_ONLY and searchable[path] != in_source[path]}
    assert shortfalls == {}
    for path in STORED_ONLY & set(in_source):
        assert searchable[path] == 0, f"{path} is documented as stored only, but it is indexed"


# What enrichment adds (ingest/enrich.py; the session ingests with it on): none where there is no
# client address or no user agent to look up.
PARSED_USER_AGENT = {"user_agent.name", "user_agent.version", "user_agent.os.name", "user_agent.os.version",
                     "user_agent.device.name"}
CLIENT_PLACE = {"source.geo.country_iso_code", "source.geo.country_name", "source.geo.region_name",
                "source.geo.city_name", "source.geo.location", "source.as.number", "source.as.organization.name"}
# Mapped fields a family's records never carry (docs/documents.md), so no document has them.
NOT_IN_THE_FORMAT = {
    "alb": {"http.request.referrer"},  # ALB access logs have no Referer field
    "s3-access": {"source.port", "destination.ip", "destination.port", "http.request.bytes",  # no such fields
                  "url.scheme", "url.domain", "url.port",  # the Request-URI is a path, not a URL
                  # the generator writes S3's simple-prefix keys, which name no account or region
                  "cloud.provider", "cloud.account.id", "cloud.region"},
    # NLB logs TLS connections, not HTTP requests; the reserved fields are always `-`; the generator
    # writes no tls_keyexchange (its place is not documented yet) and no field after it.
    "nlb": {"http.version", "http.request.method", "http.request.bytes", "http.request.referrer",
            "http.response.status_code", "http.response.bytes", "url.original", "url.path", "url.query",
            "url.scheme", "url.domain", "url.port", "user_agent.original", *PARSED_USER_AGENT,
            "aws.nlb.chosen_cert_serial", "aws.nlb.tls_named_group", "aws.nlb.tls_keyexchange", "aws.nlb.extra_fields"},
    "clb": {"http.request.referrer",  # Classic logs have no Referer field
            "aws.clb.extra_fields"},  # the generator writes no field after ssl_protocol
    # web-log fields of the common component a connection or a health check does not have
    "alb-connection": {"destination.ip", "destination.port", "http.request.method", "http.request.bytes",
                       "http.request.referrer", "http.response.status_code", "http.response.bytes", "http.version",
                       "url.original", "url.path", "url.query", "url.scheme", "url.domain", "url.port",
                       "user_agent.original", *PARSED_USER_AGENT,
                       # kept only when AWS logs a value of another shape than documented
                       "aws.alb_connection.tls_protocol", "aws.alb_connection.leaf_client_cert_validity"},
    "alb-health-check": {"source.ip", "source.port", "http.request.method", "http.request.bytes",
                         "http.request.referrer", "http.response.bytes", "http.version", "url.original",
                         "url.path", "url.query", "url.scheme", "url.domain", "url.port", "user_agent.original",
                         *PARSED_USER_AGENT, *CLIENT_PLACE},
    "cloudfront": {"destination.ip", "destination.port", "url.original", "url.port",  # no such fields
                   "cloud.region"},  # CloudFront is global: its keys name no region
}


@pytest.mark.parametrize("family", GENERATED)
def test_the_generated_traffic_exercises_every_field_the_format_has(documents, family):
    # Without this, "every emitted field is mapped" could pass on thin data.
    emitted = set()
    for hit in documents[family]:
        emitted |= set(leaves(hit["_source"]))
    declared = set(mapped_fields(declared_mapping(family)["properties"]))

    assert sorted(declared - emitted) == sorted(NOT_IN_THE_FORMAT[family])


def test_ipv6_clients_are_indexed_and_found_by_cidr(cluster, loaded):
    ipv6 = {r.client for r in loaded.truth.alb if ":" in r.client}
    expected = sum(1 for r in loaded.truth.alb if ":" in r.client)

    found = cluster.ok("POST", f"{cluster.pattern('alb')}/_count",
                       {"query": {"term": {"source.ip": "2000::/3"}}})["count"]

    assert ipv6 and found == expected


@pytest.mark.parametrize("family", GENERATED)
def test_failure_records_are_found_by_their_tag_with_their_raw_line(cluster, loaded, family):
    hits = cluster.search(cluster.pattern(family), {"size": 1000, "query": {"term": {"tags": "parse_failure"}}})
    expected = {(u.line_number, u.line) for u in loaded.truth.unparsable[family]}

    assert hits["hits"]["total"]["value"] == UNPARSABLE_LINES == len(expected)
    found = set()
    for hit in hits["hits"]["hits"]:
        source = hit["_source"]
        assert source["error"]["type"] and source["error"]["message"]
        path = source["log"]["file"]["path"]
        assert any(path.endswith(u.path.name) for u in loaded.truth.unparsable[family])
        found.add((source["log"]["file"]["line_number"], source["event"]["original"]))
    assert found == expected


def test_parsed_documents_carry_no_parse_failure_tag_and_no_raw_line_by_default(cluster, loaded):
    tagged = cluster.ok("POST", ",".join(cluster.pattern(family) for family in GENERATED) + "/_count",
                        {"query": {"bool": {"must_not": [{"term": {"tags": "parse_failure"}}]}}})["count"]

    records = (loaded.truth.alb, loaded.truth.s3, loaded.truth.nlb, loaded.truth.clb, loaded.truth.connections,
               loaded.truth.health_checks, loaded.truth.cloudfront)
    assert tagged == sum(map(len, records)) == sum(loaded.truth.lines.values()) - UNPARSABLE_LINES * len(GENERATED)


def test_documents_read_back_as_the_pipeline_wrote_them(cluster, documents):
    # one document per family through GET _doc, compared with the scroll: the _source round-trips
    hit = documents["alb"][0]
    fetched = cluster.ok("GET", f"{hit['_index']}/_doc/{hit['_id']}")

    assert json.dumps(fetched["_source"], sort_keys=True) == json.dumps(hit["_source"], sort_keys=True)


# -- GeoIP and user agents (ingest/enrich.py; the session ingests with both on) ----------------------------

sys.path.insert(0, str(REPO / "scripts"))
from geoip_testdb import NETWORKS  # noqa: E402  the places the test databases give


def test_client_locations_are_geo_points_found_by_a_bounding_box(cluster, loaded, geoip_databases):
    mapping = cluster.ok("GET", f"{cluster.pattern('alb')}/_mapping/field/source.geo.location")
    assert {m["mappings"]["source.geo.location"]["mapping"]["location"]["type"] for m in mapping.values()} == {"geo_point"}
    # Europe west of 20°E and north of 45°N: London, Boxford, Linköping, Amsterdam, Nuremberg, Germany's centre
    europe = {"top_left": {"lat": 60, "lon": -10}, "bottom_right": {"lat": 45, "lon": 20}}
    in_europe = {n.cidr for n in NETWORKS if -10 <= n.lon <= 20 and 45 <= n.lat <= 60}
    expected = sum(1 for r in loaded.truth.alb if any(ipaddress.ip_address(r.client) in ipaddress.ip_network(c)
                                                      for c in in_europe))

    found = cluster.ok("POST", f"{cluster.pattern('alb')}/_count", {"query": {"geo_bounding_box": {
        "source.geo.location": europe}}})["count"]

    assert len(in_europe) == 6 and expected > 0
    assert found == expected


def test_countries_and_networks_match_the_databases_for_every_public_client(cluster, loaded):
    def network_of(client: str):
        address = ipaddress.ip_address(client)
        return next((n for n in NETWORKS if address in ipaddress.ip_network(n.cidr)), None)

    countries, organizations = Counter(), Counter()
    for record in loaded.truth.s3:
        network = network_of(record.client) if record.client not in (None, "-") else None
        if network:
            countries[network.country_name] += 1
            organizations[network.organization] += bool(network.organization)
    body = {"size": 0, "aggs": {"countries": {"terms": {"field": "source.geo.country_name", "size": 50}},
                                "networks": {"terms": {"field": "source.as.organization.name", "size": 50}}}}

    result = cluster.search(cluster.pattern("s3-access"), body)["aggregations"]

    assert {b["key"]: b["doc_count"] for b in result["countries"]["buckets"]} == dict(countries)
    assert {b["key"]: b["doc_count"] for b in result["networks"]["buckets"]} == {k: v for k, v in organizations.items() if v}
