"""A format that declares its fields (ingest/formats/fields.py) gets its templates, retention policy
and documentation table from opensearch/templates/build.py. These checks hold the declaration, the
generated files and the parser to each other, for every such format at once:

- the committed files are what build.py writes from the declaration;
- a declared field the common component maps has the common component's type;
- every document the parser makes from each AWS documentation example (tests/formats/data/
  <format>_doc_examples.log) has only declared fields, of the declared types, and fits the
  format's index template.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import os_asset_checks as assets
from ingest.formats import FORMATS
from ingest.formats.fields import TYPES, field, leaves, markdown_table, properties

EXAMPLES = Path(__file__).resolve().parents[1] / "formats" / "data"
DECLARED = sorted(name for name, fmt in FORMATS.items() if getattr(fmt, "fields", None))
build = assets.import_path("templates_build", assets.ASSETS / "templates" / "build.py")


def examples(name: str) -> list[tuple[str, str]]:
    """(example name, line) from the `## name` / line pairs of the format's examples file."""
    path = EXAMPLES / f"{name.replace('-', '_')}_doc_examples.log"
    lines = path.read_text(encoding="utf-8").split("\n")
    return [(lines[i][3:].split()[0], lines[i + 1]) for i in range(len(lines) - 1) if lines[i].startswith("## ")]


def document_leaves(members: str) -> set[str]:
    out: set[str] = set()

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, prefix + key + ".")
            else:
                out.add(prefix + key)

    walk(json.loads("{" + members + "}"), "")
    return out


def test_the_committed_templates_policies_and_tables_are_what_build_py_writes():
    assert build.main(["--check"]) == 0, "run `python opensearch/templates/build.py`"


def test_a_declaration_gives_nested_properties_and_a_numbered_table():
    fields = [field("client:port", ("source.ip", "source.port"), ("ip", "integer")),
              field("tls_handshake_time", "aws.nlb.tls_handshake_time", "long", "milliseconds"),
              field("anything after", "aws.nlb.extra_fields", numbered=False)]
    assert properties(leaves(fields)) == {
        "source": {"properties": {"ip": {"type": "ip"}, "port": {"type": "integer"}}},
        "aws": {"properties": {"nlb": {"properties": {
            "tls_handshake_time": {"type": "long"}, "extra_fields": TYPES["keyword"]}}}}}
    assert markdown_table(fields).splitlines()[2:] == [
        "| client:port (1) | `source.ip`, `source.port` | ip, integer |",
        "| tls_handshake_time (2) | `aws.nlb.tls_handshake_time` | long; milliseconds |",
        "| anything after | `aws.nlb.extra_fields` | keyword |"]


def test_a_field_declared_with_two_types_or_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="declared as ip and as keyword"):
        leaves([field("a", "source.ip", "ip"), field("b", "source.ip", "keyword")])
    with pytest.raises(ValueError, match="unknown type 'string'"):
        field("a", "aws.x.a", "string")


@pytest.mark.parametrize("name", DECLARED)
def test_declared_fields_the_common_component_maps_keep_its_types(name):
    common = build.common_leaves()
    for path, type_name in leaves(FORMATS[name].fields).items():
        if path in common:
            assert common[path]["type"] == TYPES[type_name]["type"], path


@pytest.mark.parametrize("name", DECLARED)
def test_every_aws_documentation_example_gives_declared_fields_that_fit_the_template(name):
    fmt = FORMATS[name]
    declared = set(leaves(fmt.fields)) | {"@timestamp"}
    family_leaves, objects = assets.family_fields(fmt.index_prefix)
    found = examples(name)
    assert found, f"no examples for {name}"
    for example, line in found:
        _, members = fmt.to_json(line)
        undeclared = document_leaves(members) - declared
        assert not undeclared, f"{example}: not declared in {name}.fields: {sorted(undeclared)}"
        doc = json.loads("{" + members + "}")
        assert assets.document_problems(doc, family_leaves, objects) == [], example
