"""NLB access log parsing, specified by AWS's documented examples and the shapes real files take."""
from __future__ import annotations

import pytest

from ingest.formats import FORMATS, ParseError

from .conftest import NLB_EXAMPLES, parse_with

NLB = FORMATS["nlb"]
CERT = "arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99"
SNI = "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com"
# The documented entry without ALPN, one list item per field, so tests can cut or replace fields.
FIELDS = ["tls", "2.0", "2018-12-20T02:59:40", "net/my-network-loadbalancer/c6e77e28c25b2234", "g3d4b5e8bb8464cd",
          "72.21.218.154:51341", "172.100.100.185:443", "5", "2", "98", "246", "-", CERT, "-",
          "ECDHE-RSA-AES128-SHA", "tlsv12", "-", SNI, "-", "-", "-"]


def nlb(line: str) -> dict:
    return parse_with(NLB, line)


def with_fields(*extra: str, **replacements: str) -> str:
    """The documented entry with fields (by 1-based AWS position, e.g. f7=...) replaced, `extra` appended."""
    fields = list(FIELDS)
    for name, value in replacements.items():
        fields[int(name[1:]) - 1] = value
    return " ".join(fields + list(extra))


def test_the_fields_above_are_the_documented_entry_without_alpn():
    assert with_fields() == NLB_EXAMPLES["tls_listener_without_alpn_policy"]


# --- golden documents -----------------------------------------------------------------------------

def test_documented_entry_without_alpn_becomes_exactly_this_document():
    assert nlb(NLB_EXAMPLES["tls_listener_without_alpn_policy"]) == {
        "@timestamp": "2018-12-20T02:59:40Z",
        "source": {"ip": "72.21.218.154", "port": 51341},
        "destination": {"ip": "172.100.100.185", "port": 443},
        "tls": {"cipher": "ECDHE-RSA-AES128-SHA", "version_protocol": "tls", "version": "1.2",
                "client": {"server_name": SNI}},
        "aws": {"nlb": {"type": "tls", "version": "2.0", "elb": "net/my-network-loadbalancer/c6e77e28c25b2234",
                        "listener": "g3d4b5e8bb8464cd", "connection_time": 5, "tls_handshake_time": 2,
                        "received_bytes": 98, "sent_bytes": 246, "chosen_cert_arn": CERT}},
    }


def test_documented_entry_with_alpn_keeps_both_protocols_and_the_client_preferences_as_a_list():
    doc = nlb(NLB_EXAMPLES["tls_listener_with_alpn_policy"])
    assert doc["@timestamp"] == "2020-04-01T08:51:42Z"
    assert doc["aws"]["nlb"] == {
        "type": "tls", "version": "2.0", "elb": "net/my-network-loadbalancer/c6e77e28c25b2234",
        "listener": "g3d4b5e8bb8464cd", "connection_time": 5, "tls_handshake_time": 2, "received_bytes": 98,
        "sent_bytes": 246, "chosen_cert_arn": CERT, "alpn_fe_protocol": "h2", "alpn_be_protocol": "h2",
        "alpn_client_preference_list": ["h2", "http/1.1"]}


def test_tls_connection_creation_time_is_a_utc_time_like_the_connection_end():
    doc = nlb(NLB_EXAMPLES["tls_connection_creation_time"])
    assert doc["@timestamp"] == "2018-12-20T02:59:40Z"
    assert doc["aws"]["nlb"]["tls_connection_creation_time"] == "2018-12-20T02:59:30Z"


@pytest.mark.parametrize("name", NLB_EXAMPLES)
def test_every_documented_entry_parses(name):
    assert nlb(NLB_EXAMPLES[name])["source"]["port"] == 51341


# --- edge cases -----------------------------------------------------------------------------------

def test_a_failed_handshake_has_the_alert_and_no_handshake_time_cipher_or_protocol():
    doc = nlb(with_fields(f9="-", f12="40", f15="-", f16="-"))
    assert "tls_handshake_time" not in doc["aws"]["nlb"]
    assert doc["aws"]["nlb"]["incoming_tls_alert"] == 40
    assert doc["tls"] == {"client": {"server_name": SNI}}


def test_dash_in_every_optional_field_leaves_only_the_connection():
    doc = nlb(with_fields("-", "-", f8="-", f9="-", f10="-", f11="-", f13="-", f15="-", f16="-", f18="-"))
    assert "tls" not in doc
    assert doc["aws"]["nlb"] == {"type": "tls", "version": "2.0", "elb": "net/my-network-loadbalancer/c6e77e28c25b2234",
                                 "listener": "g3d4b5e8bb8464cd"}


def test_ipv6_client_and_destination_split_at_the_last_colon():
    doc = nlb(with_fields(f6="2001:db8:85a3::8a2e:370:7334:51341", f7="[2600:1f18::1]:443"))
    assert doc["source"] == {"ip": "2001:db8:85a3::8a2e:370:7334", "port": 51341}
    assert doc["destination"] == {"ip": "2600:1f18::1", "port": 443}


def test_tls_versions_split_into_ecs_protocol_and_version():
    assert nlb(with_fields(f16="tlsv13"))["tls"]["version"] == "1.3"
    assert nlb(with_fields(f16="tlsv10"))["tls"] == {
        "cipher": "ECDHE-RSA-AES128-SHA", "version_protocol": "tls", "version": "1.0", "client": {"server_name": SNI}}
    # A form not seen before is kept whole rather than lost.
    assert nlb(with_fields(f16="dtls1"))["tls"]["version"] == "dtls1"


def test_a_url_encoded_alpn_preference_list_is_decoded():
    doc = nlb(with_fields(f19="h2", f20="http/1.1", f21="%22h2%22%2C%22http%2F1.1%22"))
    assert doc["aws"]["nlb"]["alpn_client_preference_list"] == ["h2", "http/1.1"]


def test_fractional_milliseconds_and_a_zoned_time_are_accepted():
    doc = nlb(with_fields(f3="2024-06-01T10:00:00.123Z", f8="5.25", f9="0.5"))
    assert doc["@timestamp"] == "2024-06-01T10:00:00.123Z"
    assert (doc["aws"]["nlb"]["connection_time"], doc["aws"]["nlb"]["tls_handshake_time"]) == (5.25, 0.5)


def test_a_pre_alpn_line_of_18_fields_parses():
    doc = nlb(" ".join(FIELDS[:18]))
    assert doc["tls"]["client"]["server_name"] == SNI
    assert "alpn_fe_protocol" not in doc["aws"]["nlb"]


def test_the_probable_tls_keyexchange_and_later_fields_are_kept_placeholders_dropped():
    doc = nlb(with_fields("2018-12-20T02:59:30", "X25519MLKEM768", "-", "future", "-"))
    assert doc["aws"]["nlb"]["tls_keyexchange"] == "X25519MLKEM768"
    assert doc["aws"]["nlb"]["extra_fields"] == ["future"]
    assert "extra_fields" not in nlb(with_fields("-", "-", "-", "-"))["aws"]["nlb"]


def test_quotes_and_backslashes_are_escaped_not_trusted():
    doc = nlb(with_fields(f18='a"b\\c'))
    assert doc["tls"]["client"]["server_name"] == 'a"b\\c'


@pytest.mark.parametrize("line, reason", [
    (" ".join(FIELDS[:12]), "expected at least 18"),  # truncated
    (with_fields(f3="2018-13-20T02:59:40"), "impossible timestamp"),
    (with_fields("2018-02-30T00:00:00"), "impossible timestamp"),
    (with_fields(f8="five"), "field connection_time"),
    (with_fields(f6="72.21.218.154"), "field client:port"),
    (with_fields("2018-12-20"), "field tls_connection_creation_time"),
    (NLB_EXAMPLES["tls_listener_without_alpn_policy"].replace(" ", "  ", 1), "field version"),
])
def test_a_line_that_does_not_parse_says_why(line, reason):
    for safe in (True, False):
        with pytest.raises(ParseError, match=reason):
            NLB.to_json(line, safe)


def test_the_reserved_serial_and_named_group_are_kept_under_their_names_when_logged():
    # AWS documents both as reserved (`-`); a value there is kept, under the field's own name.
    nlb_doc = nlb(with_fields(f14="7E1A2B3C", f17="x25519"))["aws"]["nlb"]
    assert (nlb_doc["chosen_cert_serial"], nlb_doc["tls_named_group"]) == ("7E1A2B3C", "x25519")


def test_a_bracketed_ipv6_client_loses_its_brackets_and_nothing_else():
    doc = nlb(with_fields(f6="[2001:db8::1]:51341", f7="[2600:1f18::1]:443"))
    assert doc["source"] == {"ip": "2001:db8::1", "port": 51341}
    assert doc["destination"] == {"ip": "2600:1f18::1", "port": 443}
    # Not an IP (OpenSearch refuses the document, which goes to the dead letter): still as logged.
    doc = nlb(with_fields(f6="XFF:51341", f7="XFF:443"))
    assert (doc["source"]["ip"], doc["destination"]["ip"]) == ("XFF", "XFF")


def test_the_alpn_preference_list_loses_only_the_quotes_around_each_name():
    doc = nlb(with_fields(f19="h2", f20="h2", f21='"h2","XMPP-X"'))
    assert doc["aws"]["nlb"]["alpn_client_preference_list"] == ["h2", "XMPP-X"]


def test_the_reason_quotes_an_invalid_field_up_to_60_characters():
    with pytest.raises(ParseError) as refused:
        NLB.to_json(with_fields(f8="9" * 59 + "xy" + "z" * 40), False)
    assert str(refused.value) == "field connection_time is not valid: '" + "9" * 59 + "x'"
