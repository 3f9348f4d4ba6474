"""No input line can make the encoder raise or emit invalid JSON for ALB connection and health-check
logs either: every line yields exactly one item (the properties of test_no_line_raises.py, on these
formats' documented lines and on lines with the fields AWS added after the documentation's examples)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.formats import FORMATS

from .conftest import load_examples
from .test_alb_connection import LATER as CONN_LATER
from .test_alb_connection import with_fields as conn_line
from .test_alb_health_check import LATER as HC_LATER
from .test_alb_health_check import with_fields as hc_line
from .test_no_line_raises import SPRINKLES, assert_one_valid_item, assert_paths_agree, lines

CONN, HC = FORMATS["alb-connection"], FORMATS["alb-health-check"]
EXAMPLES = {f"alb-connection:{name}": (CONN, line) for name, line in load_examples("alb_connection_doc_examples.log").items()}
EXAMPLES.update({f"alb-health-check:{name}": (HC, line)
                 for name, line in load_examples("alb_health_check_doc_examples.log").items()})
EXAMPLES["alb-connection:with_later_fields"] = (CONN, conn_line(*CONN_LATER))
EXAMPLES["alb-health-check:with_later_fields"] = (HC, hc_line(*HC_LATER))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_truncation_of_every_documented_line_yields_exactly_one_valid_item(example):
    fmt, line = EXAMPLES[example]
    raw = line.encode()
    for cut in range(1, len(raw) + 1):
        assert_one_valid_item(fmt, raw[:cut])
        assert_paths_agree(fmt, line[:cut])


@pytest.mark.parametrize("fmt", [CONN, HC], ids=["alb-connection", "alb-health-check"])
@given(raw=lines)
@settings(max_examples=300, deadline=None)
def test_random_bytes_yield_exactly_one_valid_item(fmt, raw):
    if raw:
        assert_one_valid_item(fmt, raw)


@given(example=st.sampled_from(sorted(EXAMPLES)), data=st.data())
@settings(max_examples=600, deadline=None)
def test_documented_lines_with_quotes_backslashes_and_control_characters_sprinkled_in(example, data):
    fmt, line = EXAMPLES[example]
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(line)))
        line = line[:at] + data.draw(SPRINKLES) + line[at:]
    assert_one_valid_item(fmt, line.encode())
    assert_paths_agree(fmt, line)


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_documented_line_yields_a_parsed_document_not_a_failure(example):
    fmt, line = EXAMPLES[example]
    assert "tags" not in assert_one_valid_item(fmt, line.encode())
