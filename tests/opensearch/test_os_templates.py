"""Index templates, component templates and ISM policies: only keys OpenSearch's strict parsers
accept, and mappings that match the document contract in docs/documents.md."""
from __future__ import annotations

import fnmatch

import pytest

import os_asset_checks as assets
from ingest.formats import FORMATS
from ingest.formats.fields import TYPES, leaves

# OpenSearch's parsers reject unknown keys (ComposableIndexTemplate, ComponentTemplate, Template).
INDEX_TEMPLATE_KEYS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream"}
COMPONENT_TEMPLATE_KEYS = {"template", "version", "_meta"}
TEMPLATE_KEYS = {"settings", "mappings", "aliases"}
# ISM model parsers (index-management Policy/State/Transition/Conditions/ISMTemplate/ActionConfig).
POLICY_KEYS = {"policy_id", "description", "last_updated_time", "schema_version", "error_notification",
               "default_state", "states", "ism_template", "user"}
STATE_KEYS = {"name", "actions", "transitions"}
TRANSITION_KEYS = {"state_name", "conditions"}
CONDITION_KEYS = {"min_index_age", "min_rollover_age", "min_doc_count", "min_size", "cron", "min_state_age",
                  "no_alias"}
ISM_TEMPLATE_KEYS = {"index_patterns", "priority", "last_updated_time"}
ACTION_COMMON_KEYS = {"retry", "timeout"}
ACTION_TYPES = {"delete", "rollover", "read_only", "read_write", "replica_count", "force_merge", "close", "open",
                "index_priority", "snapshot", "notification", "allocation", "shrink", "rollup", "transition",
                "convert_index_to_remote", "alias", "transform", "stop_replication"}
FORBIDDEN_PATTERN_CHARS = set(':"+/\\|?#><, ')

# docs/documents.md, field by field: what every family's mapping must give each documented field.
COMMON_FIELDS = {
    "@timestamp": "date", "event.dataset": "keyword", "event.original": "keyword",
    "log.file.path": "keyword", "log.file.line_number": "long",
    "cloud.provider": "keyword", "cloud.account.id": "keyword", "cloud.region": "keyword",
    "error.type": "keyword", "error.message": "keyword", "tags": "keyword",
    "source.ip": "ip", "http.request.method": "keyword", "url.original": "keyword", "http.version": "keyword",
    "url.path": "keyword", "url.query": "keyword", "http.response.status_code": "integer",
    "http.response.bytes": "long", "user_agent.original": "keyword",
}
ALB_FIELDS = {
    "aws.elb.type": "keyword", "aws.elb.elb": "keyword", "source.port": "integer",
    "destination.ip": "ip", "destination.port": "integer",
    "aws.elb.request_processing_time": "float", "aws.elb.target_processing_time": "float",
    "aws.elb.response_processing_time": "float", "aws.elb.target_status_code": "integer",
    "http.request.bytes": "long", "url.scheme": "keyword", "url.domain": "keyword", "url.port": "integer",
    "aws.elb.ssl_cipher": "keyword", "aws.elb.ssl_protocol": "keyword", "aws.elb.target_group_arn": "keyword",
    "aws.elb.trace_id": "keyword", "aws.elb.domain_name": "keyword", "aws.elb.chosen_cert_arn": "keyword",
    "aws.elb.matched_rule_priority": "integer", "aws.elb.request_creation_time": "date",
    "aws.elb.actions_executed": "keyword", "aws.elb.redirect_url": "keyword", "aws.elb.error_reason": "keyword",
    "aws.elb.target_port_list": "keyword", "aws.elb.target_status_code_list": "keyword",
    "aws.elb.classification": "keyword", "aws.elb.classification_reason": "keyword",
    "aws.elb.conn_trace_id": "keyword", "aws.elb.transformed_host": "keyword",
    "aws.elb.transformed_uri": "keyword", "aws.elb.request_transform_status": "keyword",
    "aws.elb.ip_address": "keyword", "aws.elb.extra_fields": "keyword",
}
S3_FIELDS = {
    "aws.s3access.bucket_owner": "keyword", "aws.s3access.bucket": "keyword", "aws.s3access.requester": "keyword",
    "aws.s3access.request_id": "keyword", "aws.s3access.operation": "keyword", "aws.s3access.key": "keyword",
    "aws.s3access.error_code": "keyword", "aws.s3access.object_size": "long", "aws.s3access.total_time": "long",
    "aws.s3access.turn_around_time": "long", "http.request.referrer": "keyword",
    "aws.s3access.version_id": "keyword", "aws.s3access.host_id": "keyword",
    "aws.s3access.signature_version": "keyword", "aws.s3access.cipher_suite": "keyword",
    "aws.s3access.authentication_type": "keyword", "aws.s3access.host_header": "keyword",
    "aws.s3access.tls_version": "keyword", "aws.s3access.access_point_arn": "keyword",
    "aws.s3access.acl_required": "keyword", "aws.s3access.source_region": "keyword",
    "aws.s3access.extra_fields": "keyword",
}
DOCUMENTED = {"alb-logs": {**COMMON_FIELDS, **ALB_FIELDS}, "s3-access-logs": {**COMMON_FIELDS, **S3_FIELDS}}
# Formats that declare their fields (ingest/formats/fields.py) are documented by that declaration.
DOCUMENTED.update({fmt.index_prefix: {**COMMON_FIELDS, **{path: TYPES[t]["type"] for path, t in leaves(fmt.fields).items()}}
                   for fmt in FORMATS.values() if getattr(fmt, "fields", None)})
TEXT_SUBFIELDS = {"url.original", "url.path", "user_agent.original", "error.message"}


def test_every_asset_file_is_valid_json():
    for path in sorted(assets.ASSETS.rglob("*.json")):
        assets.load_json(path)  # raises with the file name on a syntax error


def test_component_templates_use_only_keys_opensearch_accepts():
    for name, body in assets.component_templates().items():
        assert set(body) <= COMPONENT_TEMPLATE_KEYS, f"{name}: {set(body) - COMPONENT_TEMPLATE_KEYS}"
        assert "template" in body, f"{name}: `template` is required"
        assert set(body["template"]) <= TEMPLATE_KEYS, name


def test_index_templates_use_only_keys_opensearch_accepts():
    for name, body in assets.index_templates().items():
        assert set(body) <= INDEX_TEMPLATE_KEYS, f"{name}: {set(body) - INDEX_TEMPLATE_KEYS}"
        assert body.get("index_patterns"), f"{name}: index_patterns is required"
        assert set(body.get("template", {})) <= TEMPLATE_KEYS, name
        assert "data_stream" not in body, f"{name}: daily indices written with `index`, not a data stream"
        for pattern in body["index_patterns"]:
            assert not (set(pattern) & FORBIDDEN_PATTERN_CHARS), f"{name}: bad pattern {pattern!r}"


def test_each_family_has_an_index_template_for_its_daily_indices():
    templates = assets.index_templates()
    assert set(templates) == set(assets.FAMILIES)
    for name, pattern in assets.FAMILIES.items():
        assert templates[name]["index_patterns"] == [pattern]
        assert fnmatch.fnmatch(f"{name}-2024.01.31", pattern)


def test_composable_template_priorities_are_distinct():
    priorities = [body.get("priority", 0) for body in assets.index_templates().values()]
    assert len(priorities) == len(set(priorities)), priorities


def test_composed_of_names_exist_as_component_templates():
    components = set(assets.component_templates())
    for name, body in assets.index_templates().items():
        missing = set(body.get("composed_of", [])) - components
        assert not missing, f"{name} composes missing component templates {missing}"


def test_no_two_index_templates_match_the_same_index_name():
    # Only the highest-priority composable template applies; overlapping families would lose fields.
    templates = assets.index_templates()
    for name in assets.FAMILIES:
        matching = [t for t, body in templates.items()
                    if any(fnmatch.fnmatch(f"{name}-2024.01.31", p) for p in body["index_patterns"])]
        assert matching == [name]


@pytest.mark.parametrize("family", sorted(assets.FAMILIES))
def test_mapping_keeps_unknown_fields_unindexed_and_never_guesses_dates(family):
    mapping = assets.merged_mappings(family)
    assert mapping.get("dynamic") in (False, "false"), "unknown fields must be kept in _source, not rejected"
    assert mapping.get("date_detection") is False


@pytest.mark.parametrize("family", sorted(assets.FAMILIES))
def test_every_documented_field_has_the_documented_type(family):
    leaves, _ = assets.family_fields(family)
    wrong = {f: (leaves.get(f, {}).get("type"), t) for f, t in DOCUMENTED[family].items()
             if leaves.get(f, {}).get("type") != t}
    assert not wrong, f"(mapped, documented): {wrong}"


@pytest.mark.parametrize("family", sorted(assets.FAMILIES))
def test_text_subfields_exist_only_where_full_text_helps(family):
    leaves, _ = assets.family_fields(family)
    text_fields = {path for path, spec in leaves.items() if spec["type"] == "text"}
    assert text_fields == {f"{f}.text" for f in TEXT_SUBFIELDS}
    for path in TEXT_SUBFIELDS:
        assert leaves[path]["type"] == "keyword", f"{path} must stay aggregatable"


@pytest.mark.parametrize("family", sorted(assets.FAMILIES))
def test_the_raw_line_is_stored_but_not_indexed(family):
    original = assets.family_fields(family)[0]["event.original"]
    assert original.get("index") is False and original.get("doc_values") is False


@pytest.mark.parametrize("family", sorted(assets.FAMILIES))
def test_keyword_ignore_above_stays_under_the_lucene_term_limit(family):
    # A keyword term longer than 32766 bytes fails the whole document (a 400 for good); values come
    # from request lines and headers that clients control. 8191 chars * 4 UTF-8 bytes fits.
    for path, spec in assets.family_fields(family)[0].items():
        if spec["type"] == "keyword" and spec.get("index", True):
            assert 0 < spec.get("ignore_above", 0) <= 8191, path


def test_settings_suit_log_indices():
    settings = assets.component_templates()["access-logs-settings"]["template"]["settings"]
    index = settings["index"]
    assert set(settings) == {"index"}
    assert index["codec"] == "best_compression"
    assert index["refresh_interval"] == "30s"
    assert index["number_of_shards"] >= 1 and index["number_of_replicas"] >= 0
    for family in assets.FAMILIES:
        assert "access-logs-settings" in assets.index_templates()[family]["composed_of"]


def _check_policy(name: str, body: dict) -> None:
    assert set(body) == {"policy"}, name
    policy = body["policy"]
    assert set(policy) <= POLICY_KEYS, f"{name}: {set(policy) - POLICY_KEYS}"
    assert policy.get("description"), f"{name}: description is required"
    states = {s["name"]: s for s in policy["states"]}
    assert len(states) == len(policy["states"]), f"{name}: duplicate state names"
    assert policy["default_state"] in states
    for state in policy["states"]:
        assert set(state) <= STATE_KEYS, f"{name}/{state['name']}"
        for transition in state.get("transitions", []):
            assert set(transition) <= TRANSITION_KEYS
            assert transition["state_name"] in states, f"{name}: unknown state {transition['state_name']}"
            conditions = transition.get("conditions", {})
            assert set(conditions) <= CONDITION_KEYS
            assert len(conditions) <= 1, f"{name}: one condition per transition"
        actions = state.get("actions", [])
        for action in actions:
            types = set(action) - ACTION_COMMON_KEYS
            assert len(types) == 1 and types <= ACTION_TYPES, f"{name}: action {action}"
        delete_at = [i for i, a in enumerate(actions) if "delete" in a]
        if delete_at:
            assert delete_at == [len(actions) - 1], f"{name}: nothing may follow delete"
            assert not state.get("transitions"), f"{name}: a delete state has no transitions"
    templates = policy["ism_template"]
    for template in templates if isinstance(templates, list) else [templates]:
        assert set(template) <= ISM_TEMPLATE_KEYS
        assert template["index_patterns"] and template.get("priority", 0) >= 0
        for pattern in template["index_patterns"]:
            assert not pattern.startswith("_") and "#" not in pattern and ":" not in pattern


def test_ism_policies_are_accepted_by_the_ism_parser_rules():
    policies = assets.ism_policies()
    assert policies
    for name, body in policies.items():
        _check_policy(name, body)


def test_ism_policy_checker_rejects_known_mistakes():
    good = assets.ism_policies()["alb-logs-retention"]
    broken_variants = []
    no_description = json_copy(good)
    del no_description["policy"]["description"]
    broken_variants.append(no_description)
    two_conditions = json_copy(good)
    two_conditions["policy"]["states"][0]["transitions"][0]["conditions"]["min_doc_count"] = 5
    broken_variants.append(two_conditions)
    delete_with_transition = json_copy(good)
    delete_with_transition["policy"]["states"][1]["transitions"] = [{"state_name": "hot"}]
    broken_variants.append(delete_with_transition)
    for broken in broken_variants:
        with pytest.raises(AssertionError):
            _check_policy("broken", broken)


def json_copy(value):
    import json
    return json.loads(json.dumps(value))


def test_each_family_has_a_retention_policy_attached_to_its_new_indices():
    policies = assets.ism_policies()
    for family, pattern in assets.FAMILIES.items():
        policy = policies[f"{family}-retention"]["policy"]
        assert policy["ism_template"][0]["index_patterns"] == [pattern]
        ages = [t["conditions"]["min_index_age"] for s in policy["states"] for t in s.get("transitions", [])]
        assert ages == ["30d"], "default retention is 30 days"
        assert any("delete" in a for s in policy["states"] for a in s.get("actions", []))


def test_ism_template_priorities_are_distinct():
    # Overlapping ism_template patterns at equal priority are rejected; distinct priorities keep
    # renamed prefixes that happen to overlap installable.
    priorities = [b["policy"]["ism_template"][0]["priority"] for b in assets.ism_policies().values()]
    assert len(priorities) == len(set(priorities))
