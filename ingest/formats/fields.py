"""One declaration of a format's fields: what AWS calls each field, which document fields it fills,
and their types. From it come the format's component template (opensearch/templates/build.py), its
table in docs/documents.md (the same script) and the conformance checks (tests/opensearch), so a
new format writes its fields down once, beside its parser.

Only data lives here: the Lambda imports it with the formats, at no measurable cost.
"""
from __future__ import annotations

from dataclasses import dataclass

# Field types, as OpenSearch mappings. `keyword` values longer than ignore_above are kept in
# _source but not indexed (a long URL must not get a whole document rejected).
TYPES: dict[str, dict] = {
    "keyword": {"type": "keyword", "ignore_above": 1024},
    "long_keyword": {"type": "keyword", "ignore_above": 2048},
    "key_keyword": {"type": "keyword", "ignore_above": 4096},
    "url_keyword": {"type": "keyword", "ignore_above": 8191},
    "text_keyword": {"type": "keyword", "ignore_above": 8191, "fields": {"text": {"type": "text"}}},
    "long": {"type": "long"},
    "integer": {"type": "integer"},
    "float": {"type": "float"},
    "double": {"type": "double"},
    "date": {"type": "date"},
    "ip": {"type": "ip"},
    "boolean": {"type": "boolean"},
}
# How the documentation table names each type.
TYPE_WORDS = {
    "keyword": "keyword", "long_keyword": "keyword", "key_keyword": "keyword", "url_keyword": "keyword",
    "text_keyword": "keyword + text", "long": "long", "integer": "integer", "float": "float",
    "double": "double", "date": "date", "ip": "ip", "boolean": "boolean",
}


@dataclass(frozen=True)
class Field:
    """One field of a log line (or a value derived from one).

    `aws`: the field as AWS documents it (its position is its place in the format's list);
    `doc`: the document field(s) it fills, dotted (`source.ip`); each gets `types` in turn, the last
    type repeating, so `("source.ip", "source.port")` with `("ip", "integer")`;
    `note`: what the table says beyond the type (units, what `-` becomes);
    `numbered`: False for what is no field of the line itself (e.g. the fields AWS appends later)."""

    aws: str
    doc: tuple[str, ...]
    types: tuple[str, ...]
    note: str = ""
    numbered: bool = True

    def __post_init__(self):
        for t in self.types:
            if t not in TYPES:
                raise ValueError(f"field {self.aws}: unknown type {t!r}; one of {', '.join(TYPES)}")

    def typed(self) -> list[tuple[str, str]]:
        """(document field, type name) for each document field this fills."""
        return [(path, self.types[min(i, len(self.types) - 1)]) for i, path in enumerate(self.doc)]


def field(aws: str, doc: str | tuple[str, ...], types: str | tuple[str, ...] = "keyword", note: str = "",
          numbered: bool = True) -> Field:
    """A Field, from one document field or several and one type or several."""
    return Field(aws, (doc,) if isinstance(doc, str) else tuple(doc),
                 (types,) if isinstance(types, str) else tuple(types), note, numbered)


def leaves(fields: tuple[Field, ...] | list[Field]) -> dict[str, str]:
    """{document field: type name} over all of a format's fields; a field declared twice must
    agree with itself."""
    out: dict[str, str] = {}
    for f in fields:
        for path, type_name in f.typed():
            if out.setdefault(path, type_name) != type_name:
                raise ValueError(f"{path} is declared as {out[path]} and as {type_name}")
    return out


def properties(paths: dict[str, str]) -> dict:
    """The nested `properties` mapping of {dotted field: type name}."""
    root: dict = {}
    for path, type_name in paths.items():
        node = root
        *parents, leaf = path.split(".")
        for name in parents:
            node = node.setdefault(name, {"properties": {}})["properties"]
        node[leaf] = dict(TYPES[type_name])
    return root


def markdown_table(fields: tuple[Field, ...] | list[Field]) -> str:
    """The documentation table: AWS field (#) | document field | type."""
    rows = ["| AWS field (#) | document field | type |", "|---|---|---|"]
    number = 0
    for f in fields:
        number += f.numbered
        docs = ", ".join(f"`{path}`" for path in f.doc)
        words = []
        for _, type_name in f.typed():
            if TYPE_WORDS[type_name] not in words:
                words.append(TYPE_WORDS[type_name])
        kind = ", ".join(words) + (f"; {f.note}" if f.note else "")
        rows.append(f"| {f.aws} ({number}) | {docs} | {kind} |" if f.numbered else f"| {f.aws} | {docs} | {kind} |")
    return "\n".join(rows) + "\n"
