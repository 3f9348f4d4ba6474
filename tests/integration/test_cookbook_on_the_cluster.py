"""Every Dev Tools request in opensearch/queries/cookbook.md, pasted into the real cluster: it runs,
and its answers equal the ground truth computed from the generated logs (tests/integration/truth.py)."""
from __future__ import annotations

import ipaddress
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from .conftest import DEFAULT_PREFIXES, GENERATED, REPO, generate_logs
from .truth import percentile_band

pytestmark = pytest.mark.integration

COOKBOOK = REPO / "opensearch" / "queries" / "cookbook.md"
ISM_REQUESTS = re.compile(r"^_plugins/_ism/")


@dataclass
class Recipe:
    number: int
    title: str
    method: str
    path: str
    body: dict | None


def recipes() -> list[Recipe]:
    text = COOKBOOK.read_text(encoding="utf-8")
    out = []
    for match in re.finditer(r"^### (\d+)\. (.+?)\n.*?```console\n(.*?)```", text, re.S | re.M):
        first, _, rest = match.group(3).partition("\n")
        method, path = first.split(" ", 1)
        out.append(Recipe(int(match.group(1)), match.group(2).strip(), method, path.strip(),
                          json.loads(rest) if rest.strip() else None))
    return out


RECIPES = {r.number: r for r in recipes()}


def test_the_cookbook_is_read_whole():
    assert sorted(RECIPES) == list(range(1, len(RECIPES) + 1)) and len(RECIPES) >= 26


def send(cluster, recipe: Recipe):
    path = recipe.path
    for family, prefix in DEFAULT_PREFIXES.items():  # the suite's own prefixes on a shared cluster
        path = path.replace(f"{prefix}-", f"{cluster.prefixes[family]}-")
    path, _, query = path.partition("?")
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return cluster.request(recipe.method, path, recipe.body, **params)


def answer(cluster, number: int) -> dict:
    response = send(cluster, RECIPES[number])
    assert response.status_code == 200, response.text[:2000]
    return response.json()


@pytest.mark.parametrize("number", sorted(RECIPES), ids=lambda n: f"{n}-{RECIPES[n].title[:40]}")
def test_the_request_runs_without_error(cluster, loaded, number):
    recipe = RECIPES[number]
    response = send(cluster, recipe)

    if ISM_REQUESTS.match(recipe.path) and "no handler found for uri" in response.text:
        # A cluster without the Index State Management plugin (the local test node) cannot answer
        # the retention request; the bootstrap says so too. Anything else is a failure.
        assert response.status_code == 400
        return
    assert response.status_code == 200, response.text[:2000]
    assert "Warning" not in response.headers, f"deprecated: {response.headers.get('Warning')}"
    if recipe.path.startswith("_cat/"):
        assert cluster.prefixes["alb"] in response.text and cluster.prefixes["s3-access"] in response.text
        return
    body = response.json()
    assert "error" not in body
    if "_shards" in body:
        assert body["_shards"]["failed"] == 0, body["_shards"]
    if "hits" in body:
        assert body["hits"]["total"]["value"] > 0 or number == 9, "no data in the window"  # 9: a CIDR we never use


def ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


def buckets(result: dict, *path: str) -> list[dict]:
    node = result["aggregations"]
    for name in path:
        node = node[name]
    return node["buckets"]


def assert_top(found: list[dict], truth: dict, key=lambda b: b["key"]) -> None:
    """The returned buckets are the top of `truth` (ties at the cut may go either way) with its counts."""
    assert found, "no buckets"
    got = {key(b): b["doc_count"] for b in found}
    for name, count in got.items():
        assert truth.get(name) == count, (name, count, truth.get(name))
    left_out = [count for name, count in truth.items() if name not in got]
    assert not left_out or max(left_out) <= min(got.values())


# -- ALB ----------------------------------------------------------------------------------------


def test_1_status_classes(cluster, loaded):
    result = answer(cluster, 1)
    got = {name: b["doc_count"] for name, b in result["aggregations"]["status_classes"]["buckets"].items()}

    expected = loaded.truth.alb_status_classes()
    assert got == {c: expected.get(c, 0) for c in ("2xx", "3xx", "4xx", "5xx")}


def test_2_top_client_ips_are_the_heavy_hitters_with_their_bytes(cluster, loaded):
    found = buckets(answer(cluster, 2), "clients")
    truth = loaded.truth.alb_clients()

    assert_top(found, truth, key=lambda b: ip(b["key"]))
    sent = loaded.truth.alb_bytes_sent_by_client()
    for b in found:
        assert b["bytes_out"]["value"] == sent[ip(b["key"])]
    assert {ip(b["key"]) for b in found[:3]} == {name for name, _ in truth.most_common(3)}


def test_3_top_paths_with_tail_latency_within_tolerance(cluster, loaded):
    found = buckets(answer(cluster, 3), "paths")
    by_path: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for r in loaded.truth.alb:
        path = urlsplit(r.url).path
        if path:
            counts[path] = counts.get(path, 0) + 1
            if r.target_time is not None:
                by_path.setdefault(path, []).append(r.target_time)

    assert_top(found, counts)
    for b in found:
        values = by_path.get(b["key"], [])
        if len(values) >= 200:
            for percent in ("95.0", "99.0"):
                low, high = percentile_band(values, float(percent))
                assert low <= b["latency"]["values"][percent] <= high, (b["key"], percent)


def test_4_latency_percentiles_every_5_minutes_cover_every_forwarded_request(cluster, loaded):
    per_5m = buckets(answer(cluster, 4), "per_5m")
    values = loaded.truth.alb_target_times()

    assert sum(b["doc_count"] for b in per_5m) >= len(loaded.truth.alb)
    overall = [b["latency"]["values"]["50.0"] for b in per_5m if b["latency"]["values"]["50.0"] is not None]
    low, high = percentile_band(values, 50, slack=10)
    assert low <= statistics.median(overall) <= high


def test_5_slowest_requests_are_the_slowest_lines_at_the_slow_targets(cluster, loaded):
    hits = answer(cluster, 5)["hits"]["hits"]
    times = sorted(loaded.truth.alb_target_times(), reverse=True)[:20]

    assert [h["_source"]["aws"]["elb"]["target_processing_time"] for h in hits] == pytest.approx(times)
    slow_targets = {name for name, values in loaded.truth.alb_target_times_by_target().items()
                    if statistics.median(values) > 1}
    assert {ip(h["_source"]["destination"]["ip"]) for h in hits} <= slow_targets


def test_7_targets_by_error_count(cluster, loaded):
    assert_top(buckets(answer(cluster, 7), "targets"), loaded.truth.alb_5xx_by_target(), key=lambda b: ip(b["key"]))


def test_10_actions_executed(cluster, loaded):
    result = answer(cluster, 10)
    assert_top(buckets(result, "actions"), loaded.truth.alb_actions())
    waf = [r for r in loaded.truth.alb if "waf" in r.actions and r.elb_status == 403]
    assert result["aggregations"]["waf_denied"]["doc_count"] == len(waf)


def test_12_top_user_agents(cluster, loaded):
    assert_top(buckets(answer(cluster, 12), "agents"), loaded.truth.alb_user_agents())


def test_13_requests_that_never_reached_a_target(cluster, loaded):
    found = buckets(answer(cluster, 13), "status")
    assert_top(found, loaded.truth.alb_never_reached_target_by_status())


def test_14_word_search_in_urls_finds_only_login_urls(cluster, loaded):
    hits = answer(cluster, 14)["hits"]["hits"]
    assert hits and all("login" in h["_source"]["url"]["original"] for h in hits)


def test_15_slowest_targets_are_the_slow_ones_with_their_times(cluster, loaded):
    found = buckets(answer(cluster, 15), "targets")
    truth = loaded.truth.alb_target_times_by_target()

    assert [ip(b["key"]) for b in found] == sorted(truth, key=lambda t: statistics.mean(truth[t]), reverse=True)
    for b in found:
        values = truth[ip(b["key"])]
        assert b["avg_time"]["value"] == pytest.approx(statistics.mean(values), rel=1e-3)
        low, high = percentile_band(values, 95)
        assert low <= b["time"]["values"]["95.0"] <= high
    slow = {name for name, _ in sorted(truth.items(), key=lambda kv: statistics.median(kv[1]))[-2:]}
    assert {ip(b["key"]) for b in found[:2]} == slow


# -- S3 -----------------------------------------------------------------------------------------


def test_16_denied_ips_are_the_few_the_traffic_concentrates_on(cluster, loaded):
    found = buckets(answer(cluster, 16), "ips")
    truth = loaded.truth.s3_denied_ips()

    assert_top(found, truth, key=lambda b: ip(b["key"]))
    assert {ip(b["key"]) for b in found[:3]} == {name for name, _ in truth.most_common(3)}


def test_17_denied_keys(cluster, loaded):
    assert_top(buckets(answer(cluster, 17), "keys"), loaded.truth.s3_denied_keys())


def test_18_top_objects_by_bytes_downloaded(cluster, loaded):
    found = buckets(answer(cluster, 18), "objects")
    truth = loaded.truth.s3_downloads()

    assert found
    assert [b["key"] for b in found] == sorted(truth, key=lambda k: truth[k][0], reverse=True)[:len(found)]
    for b in found:
        total, requests, clients = truth[b["key"]]
        assert (b["bytes"]["value"], b["doc_count"]) == (total, requests)
        assert b["clients"]["value"] == pytest.approx(clients, rel=0.02)  # cardinality is an estimate


def test_19_slowest_operations_with_percentiles_within_tolerance(cluster, loaded):
    found = buckets(answer(cluster, 19), "operations")
    truth = loaded.truth.s3_total_times_by_operation()

    assert [b["key"] for b in found] == sorted(truth, key=lambda op: statistics.mean(truth[op]), reverse=True)
    for b in found:
        assert b["avg_time"]["value"] == pytest.approx(statistics.mean(truth[b["key"]]))
        if len(truth[b["key"]]) >= 200:
            for percent in (50.0, 95.0):
                low, high = percentile_band(truth[b["key"]], percent)
                assert low <= b["time"]["values"][str(percent)] <= high


def test_20_error_codes(cluster, loaded):
    found = buckets(answer(cluster, 20), "buckets")
    [bucket] = found
    assert_top(bucket["errors"]["buckets"], loaded.truth.s3_error_codes())


def test_21_requesters(cluster, loaded):
    assert_top(buckets(answer(cluster, 21), "requesters"), loaded.truth.s3_requesters())


def test_22_deletions(cluster, loaded):
    result = answer(cluster, 22)
    assert result["hits"]["total"]["value"] == loaded.truth.s3_deletes() > 0


def test_23_daily_traffic_adds_up(cluster, loaded):
    days = buckets(answer(cluster, 23), "per_day")
    per_bucket = [b for day in days for b in day["buckets"]["buckets"]]

    assert sum(b["doc_count"] for b in per_bucket) == len(loaded.truth.s3)
    assert sum(b["bytes"]["value"] for b in per_bucket) == sum(r.bytes_sent for r in loaded.truth.s3)


def test_24_parse_failures_per_file(cluster, loaded):
    found = buckets(answer(cluster, 24), "files")
    expected: dict[str, int] = {}
    for family in GENERATED:
        for u in loaded.truth.unparsable[family]:
            expected[str(u.path)] = expected.get(str(u.path), 0) + 1

    assert {b["key"]: b["doc_count"] for b in found} == expected


def test_25_index_sizes_list_every_daily_index(cluster, loaded):
    response = send(cluster, RECIPES[25])
    rows = [line.split() for line in response.text.splitlines()[1:] if line.strip()]

    assert sum(int(row[2]) for row in rows) == sum(loaded.truth.lines.values())


# -- NLB ----------------------------------------------------------------------------------------


def test_28_failed_handshakes_by_alert(cluster, loaded):
    result = answer(cluster, 28)
    truth = loaded.truth.nlb_failed_handshakes_by_alert()

    assert result["hits"]["total"]["value"] == sum(r.handshake_ms is None for r in loaded.truth.nlb) > 0
    assert_top(buckets(result, "alerts"), truth, key=lambda b: int(b["key"]))


def test_29_handshake_time_per_listener_within_tolerance(cluster, loaded):
    found = buckets(answer(cluster, 29), "listeners")
    connections = Counter(r.listener for r in loaded.truth.nlb)
    times = loaded.truth.nlb_handshake_times_by_listener()

    assert_top(found, connections)
    for b in found:
        assert {p["key"] for p in b["port"]["buckets"]} == {r.port for r in loaded.truth.nlb if r.listener == b["key"]}
        low, high = percentile_band(times[b["key"]], 50)
        assert low <= b["handshake_ms"]["values"]["50.0"] <= high


def test_30_tls_versions_and_ciphers(cluster, loaded):
    found = buckets(answer(cluster, 30), "versions")

    assert_top(found, loaded.truth.nlb_versions())
    for b in found:
        ciphers = Counter(r.cipher for r in loaded.truth.nlb if r.version == b["key"])
        assert_top(b["ciphers"]["buckets"], ciphers)


def test_31_top_nlb_clients_with_their_bytes(cluster, loaded):
    found = buckets(answer(cluster, 31), "clients")
    sums = loaded.truth.nlb_bytes_by_client()

    assert_top(found, loaded.truth.nlb_clients(), key=lambda b: ip(b["key"]))
    for b in found:
        assert (b["received"]["value"], b["sent"]["value"]) == sums[ip(b["key"])]


# -- Classic Load Balancer ----------------------------------------------------------------------


def test_32_classic_status_classes_and_load_balancer_5xx(cluster, loaded):
    result = answer(cluster, 32)
    got = {name: b["doc_count"] for name, b in result["aggregations"]["status_classes"]["buckets"].items()}
    expected = loaded.truth.clb_status_classes()

    assert got == {c: expected.get(c, 0) for c in ("2xx", "3xx", "4xx", "5xx")}
    assert result["aggregations"]["lb_5xx"]["doc_count"] == loaded.truth.clb_lb_5xx() > 0


def test_33_slowest_classic_backends_are_the_slow_ones(cluster, loaded):
    found = buckets(answer(cluster, 33), "backends")
    truth = loaded.truth.clb_backend_times_by_backend()

    assert {ip(b["key"]): b["doc_count"] for b in found} == {
        backend: sum(r.backend == backend for r in loaded.truth.clb) for backend in truth}
    slow = {name for name, _ in sorted(truth.items(), key=lambda kv: statistics.median(kv[1]))[-2:]}
    assert {ip(b["key"]) for b in found[:2]} == slow
    for b in found:
        low, high = percentile_band(truth[ip(b["key"])], 50)
        assert low <= b["latency"]["values"]["50.0"] <= high


def test_34_http_requests_and_tcp_connections_add_up(cluster, loaded):
    got = {name: b["doc_count"] for name, b in answer(cluster, 34)["aggregations"]["listeners"]["buckets"].items()}
    http = sum(r.method is not None for r in loaded.truth.clb)

    assert got == {"http": http, "tcp_or_ssl": len(loaded.truth.clb) - http}
    assert 0 < got["tcp_or_ssl"] < got["http"]


# -- ALB connection and health-check logs (found by title: numbers move as sections are added) -----


def titled(title: str) -> int:
    (number,) = [n for n, r in RECIPES.items() if r.title == title]
    return number


def test_tls_handshake_latency_per_listener_within_tolerance(cluster, loaded):
    found = buckets(answer(cluster, titled("TLS handshake latency per listener")), "listeners")
    truth = loaded.truth.handshake_latencies_by_listener()

    assert {b["key"] for b in found} == {80, 443, 8443} and set(truth) == {443, 8443}
    for b in found:
        assert len(b["handshake"]["values"]) == 3  # p50, p95, p99
        if b["key"] == 80:  # a plain listener: no handshake, no latency
            assert set(b["handshake"]["values"].values()) == {None}
            continue
        for percent, value in b["handshake"]["values"].items():
            low, high = percentile_band(truth[b["key"]], float(percent))
            assert low - 0.001 <= value <= high + 0.001, (b["key"], percent, value, low, high)


def test_tls_verification_failures_by_reason(cluster, loaded):
    found = buckets(answer(cluster, titled("TLS verification failures by reason")), "reasons")

    assert_top(found, loaded.truth.connection_failures())
    assert "Failed:ClientCertExpired" in {b["key"] for b in found}


def test_client_certificates_and_when_they_expire(cluster, loaded):
    found = buckets(answer(cluster, titled("Client certificates and when they expire")), "certificates")
    truth = loaded.truth.client_certificates()

    assert {b["key"]: b["doc_count"] for b in found} == {subject: n for subject, (n, _) in truth.items()}
    for b in found:
        assert b["not_after"]["value_as_string"][:19] == truth[b["key"]][1][:19]


def test_targets_failing_health_checks_and_why(cluster, loaded):
    found = buckets(answer(cluster, titled("Targets failing health checks, and why")), "targets")
    truth = loaded.truth.failing_targets()

    assert_top(found, {target: sum(reasons.values()) for target, reasons in truth.items()})
    top = found[0]
    assert top["key"] == f"{generate_logs.FAILING_TARGET}:8080"
    assert {b["key"]: b["doc_count"] for b in top["reasons"]["buckets"]} == dict(truth[top["key"]])


def test_failing_targets_every_5_minutes_add_up_to_the_failed_checks(cluster, loaded):
    intervals = buckets(answer(cluster, titled("Failing targets every 5 minutes")), "per_5m")

    assert sum(b["doc_count"] for b in intervals) == sum(sum(c.values()) for c in loaded.truth.failing_targets().values())
    assert all(1 <= b["failing_targets"]["value"] <= len(loaded.truth.failing_targets()) for b in intervals)


def test_health_check_latency_per_target_group(cluster, loaded):
    found = buckets(answer(cluster, titled("Health-check latency per target group")), "groups")

    assert {b["key"]: (b["doc_count"], b["failed"]["doc_count"]) for b in found} == loaded.truth.health_checks_by_group()


# -- CloudFront (found by title) ------------------------------------------------------------------


def test_cloudfront_requests_and_bytes_per_edge_result_type(cluster, loaded):
    found = buckets(answer(cluster, titled("Requests and bytes per edge result type")), "results")
    expected = loaded.truth.cloudfront_by_result()

    assert {b["key"]: (b["doc_count"], b["bytes"]["value"]) for b in found} == expected
    assert len(expected) >= 6  # hits, misses, errors, redirects ...


def test_cloudfront_cache_hit_ratio_per_hour_counts_every_hit_and_miss(cluster, loaded):
    hours = buckets(answer(cluster, titled("Cache hit ratio per hour")), "per_hour")
    hits = sum(h["cache"]["buckets"]["hit"]["doc_count"] for h in hours)
    misses = sum(h["cache"]["buckets"]["miss"]["doc_count"] for h in hours)
    results = Counter(r.result for r in loaded.truth.cloudfront)

    assert (hits, misses) == (results["Hit"] + results["RefreshHit"] + results["OriginShieldHit"], results["Miss"])
    assert 0.6 < hits / (hits + misses) < 0.9  # the generator's mix


def test_cloudfront_status_classes_and_time_taken_percentiles(cluster, loaded):
    result = answer(cluster, titled("Status classes and time-taken percentiles"))
    got = {name: b["doc_count"] for name, b in result["aggregations"]["status_classes"]["buckets"].items()}
    classes = Counter(f"{r.status // 100}xx" for r in loaded.truth.cloudfront)

    assert got == {c: classes.get(c, 0) for c in ("2xx", "3xx", "4xx", "5xx")}
    for percent in (50, 95, 99):
        low, high = percentile_band(loaded.truth.cloudfront_times_taken(), percent)
        value = result["aggregations"]["time_taken"]["values"][f"{percent:.1f}"]
        assert low - 0.001 <= value <= high + 0.001, (percent, low, value, high)


def test_cloudfront_top_uris(cluster, loaded):
    found = buckets(answer(cluster, titled("Top URIs")), "uris")
    assert_top(found, loaded.truth.cloudfront_uris())
    sent: dict[str, int] = Counter()
    for r in loaded.truth.cloudfront:
        sent[r.uri] += r.bytes_sent
    assert all(b["bytes"]["value"] == sent[b["key"]] for b in found)
    assert "/docs/getting%20started.html" in {b["key"] for b in found}  # as logged


def test_cloudfront_top_referrers_and_user_agents_are_decoded(cluster, loaded):
    result = answer(cluster, titled("Top referrers and user agents"))
    referrers = buckets(result, "referrers")
    agents = buckets(result, "user_agents")

    assert_top(referrers, loaded.truth.cloudfront_referrers())
    assert_top(agents, loaded.truth.cloudfront_user_agents())
    assert "https://news.example.org/a story" in {b["key"] for b in referrers}
    assert all("%20" not in b["key"] for b in agents)


def test_cloudfront_errors_by_detailed_result_type(cluster, loaded):
    found = buckets(answer(cluster, titled("Errors by detailed result type and edge location")), "errors")
    assert sum(b["doc_count"] for b in found) == sum(1 for r in loaded.truth.cloudfront if r.result == "Error") > 0


# -- from where and with what (the session ingests with GeoIP and user agents on) ---------------------------


def test_48_traffic_by_country(cluster, loaded):
    found = buckets(answer(cluster, 48), "countries")
    truth = loaded.truth.by_country()

    assert_top(found, {country: requests for country, (requests, _, _) in truth.items()})
    for b in found:
        _, clients, sent = truth[b["key"]]
        assert b["bytes_out"]["value"] == sent
        assert b["clients"]["value"] == pytest.approx(len(clients), rel=0.02)  # cardinality is an estimate


def test_49_networks_behind_the_5xx(cluster, loaded):
    found = buckets(answer(cluster, 49), "networks")

    assert_top(found, loaded.truth.alb_5xx_networks())
    assert all(b["as_number"]["buckets"][0]["key"] > 0 and b["clients"]["buckets"] for b in found)


def test_50_denied_requests_by_country(cluster, loaded):
    found = buckets(answer(cluster, 50), "countries")

    assert_top(found, loaded.truth.s3_denied_countries())
    assert {b["key"] for b in found} >= {"Germany", "China"}  # where the generator's denied addresses are
