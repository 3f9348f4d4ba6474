"""scripts/bootstrap_opensearch.py against the real cluster: every asset installed, twice in a row,
and the index templates shaping the indices that the Lambda's bulk writes create."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import DEFAULT_PREFIXES, GENERATED, REPO, run_bootstrap

pytestmark = pytest.mark.integration

TEMPLATES = REPO / "opensearch" / "templates"
FAMILY_TEMPLATE = dict(DEFAULT_PREFIXES)  # every format's index template is named after its prefix


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def merge(into: dict, new: dict) -> None:
    for name, spec in new.items():
        if name in into and "properties" in into[name] and "properties" in spec:
            merge(into[name]["properties"], spec["properties"])
        else:
            into[name] = json.loads(json.dumps(spec))


def declared_mapping(family: str) -> dict:
    """The mapping the template files declare for a family: its components in order."""
    template = load(TEMPLATES / "index" / f"{FAMILY_TEMPLATE[family]}.json")
    mapping: dict = {"properties": {}}
    for component in template["composed_of"]:
        layer = load(TEMPLATES / "component" / f"{component}.json")["template"].get("mappings", {})
        for key, value in layer.items():
            if key == "properties":
                merge(mapping["properties"], value)
            else:
                mapping[key] = value
    return mapping


def normalised(template: dict) -> dict:
    """OpenSearch answers `dynamic: false` as "false" and every index setting as a string; compare
    like with like."""
    out = json.loads(json.dumps(template).replace('"dynamic": false', '"dynamic": "false"'))
    settings = out.get("template", {}).get("settings")
    if settings is not None:
        out["template"]["settings"] = _strings(settings)
    return out


def _strings(node):
    return {k: _strings(v) for k, v in node.items()} if isinstance(node, dict) else str(node)


def test_the_bootstrap_installs_everything_and_a_second_run_converges(cluster, loaded):
    (first, out1, err1), (second, out2, err2) = loaded.bootstrap_runs

    assert first == 0, err1
    assert second == 0, err2
    for out in (out1, out2):
        for name in ("access-logs-settings", "access-logs-common-mappings", "alb-logs-mappings",
                     "s3-access-logs-mappings"):
            assert f"[ok] _component_template {name}" in out
        for prefix in cluster.prefixes.values():
            assert f"[ok] _index_template {prefix}" in out


def test_the_installed_templates_are_the_files(cluster, loaded):
    for path in sorted((TEMPLATES / "component").glob("*.json")):
        [installed] = cluster.ok("GET", f"_component_template/{path.stem}")["component_templates"]
        assert normalised(installed["component_template"]) == normalised(load(path))
    for family, stem in FAMILY_TEMPLATE.items():
        prefix = cluster.prefixes[family]
        [installed] = cluster.ok("GET", f"_index_template/{prefix}")["index_templates"]
        expected = load(TEMPLATES / "index" / f"{stem}.json")
        assert installed["index_template"]["composed_of"] == expected["composed_of"]
        assert installed["index_template"]["index_patterns"] == [f"{prefix}-*"]
        assert installed["index_template"]["priority"] == expected["priority"]


def test_retention_policies_are_installed_where_the_cluster_has_ism_and_skipped_plainly_where_not(cluster, loaded):
    (_, out, _), _ = loaded.bootstrap_runs
    has_ism = cluster.request("GET", "_plugins/_ism/policies").status_code == 200

    if has_ism:
        for prefix in cluster.prefixes.values():
            policy = cluster.ok("GET", f"_plugins/_ism/policies/{prefix}-retention")["policy"]
            assert policy["ism_template"][0]["index_patterns"] == [f"{prefix}-*"]
        assert "[skipped] ISM" not in out
    else:
        assert "[skipped] ISM retention policies: this cluster has no ISM" in out
        assert "[ok] ISM policy" not in out


@pytest.mark.parametrize("family", GENERATED)
def test_a_new_daily_index_would_get_the_declared_mapping_and_settings(cluster, loaded, family):
    prefix = cluster.prefixes[family]
    simulated = cluster.ok("POST", f"_index_template/_simulate_index/{prefix}-2030.01.01")

    assert normalised(simulated["template"]["mappings"]) == normalised(declared_mapping(family))
    index = simulated["template"]["settings"]["index"]
    assert index["codec"] == "best_compression" and index["refresh_interval"] == "30s"


@pytest.mark.parametrize("family", GENERATED)
def test_every_index_the_lambda_created_has_the_template_mapping(cluster, loaded, family):
    prefix = cluster.prefixes[family]
    mappings = cluster.ok("GET", f"{prefix}-*/_mapping")
    settings = cluster.ok("GET", f"{prefix}-*/_settings")

    assert mappings, f"no {prefix}-* index was created"
    for index, body in mappings.items():
        assert normalised(body["mappings"]) == normalised(declared_mapping(family)), index
        assert settings[index]["settings"]["index"]["codec"] == "best_compression"
        assert settings[index]["settings"]["index"]["mapping"]["total_fields"]["limit"] == "1000"


def test_a_third_bootstrap_after_the_data_arrived_still_succeeds_and_changes_no_mapping(cluster, loaded):
    before = cluster.ok("GET", f"{cluster.pattern('alb')},{cluster.pattern('s3-access')}/_mapping")

    code, _, err = run_bootstrap(cluster)

    assert code == 0, err
    assert cluster.ok("GET", f"{cluster.pattern('alb')},{cluster.pattern('s3-access')}/_mapping") == before
