"""TLS is verified by default: a certificate the client does not trust stops the request, with no retry."""
from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ingest.shipper import BulkRequestError, OpenSearchSink

from .conftest import make_item

FAR_AWAY = 1e12


@pytest.fixture
def https_cluster(cluster, self_signed):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    cluster.server.socket = context.wrap_socket(cluster.server.socket, server_side=True)
    return cluster, f"https://127.0.0.1:{cluster.server.server_address[1]}"


def test_an_untrusted_certificate_fails_the_request_without_retrying(https_cluster, fake_time):
    cluster, url = https_cluster
    sink = OpenSearchSink(url, None, sleep=fake_time.sleep, clock=fake_time.clock)

    with pytest.raises(BulkRequestError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        sink.send([make_item(1)], FAR_AWAY)

    assert fake_time.sleeps == []
    assert cluster.received == []


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # said once, when it is made
@pytest.mark.parametrize("variable", [None, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_with_verify_certs_off_an_untrusted_certificate_is_accepted_whatever_the_ca_bundle_variables_say(
        https_cluster, fake_time, monkeypatch, variable):
    # requests merges these variables over session.verify = False on every request (trust_env)
    import certifi

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    if variable:
        monkeypatch.setenv(variable, certifi.where())
    cluster, url = https_cluster
    with pytest.warns(UserWarning, match="verify_certs=False is insecure"):
        sink = OpenSearchSink(url, None, verify_certs=False, sleep=fake_time.sleep, clock=fake_time.clock)

    assert sink.send([make_item(1)], FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001"]]


def test_a_certificate_signed_by_the_given_ca_bundle_is_accepted(https_cluster, self_signed, fake_time, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cluster, url = https_cluster
    sink = OpenSearchSink(url, None, ca_certs=str(self_signed[0]), sleep=fake_time.sleep, clock=fake_time.clock)

    assert sink.send([make_item(1)], FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001"]]


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_the_given_ca_bundle_wins_over_a_ca_bundle_environment_variable(https_cluster, self_signed, fake_time,
                                                                        monkeypatch, variable):
    # requests merges these variables over session.verify on every request (trust_env); the CA the user
    # names must still be the one trusted. certifi's bundle does not contain our self-signed CA.
    import certifi

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv(variable, certifi.where())
    cluster, url = https_cluster
    sink = OpenSearchSink(url, None, ca_certs=str(self_signed[0]), sleep=fake_time.sleep, clock=fake_time.clock)

    assert sink.send([make_item(1)], FAR_AWAY) == []
    assert [r.ids for r in cluster.received] == [["id-0001"]]


def test_without_a_given_ca_bundle_the_environment_bundle_is_still_honoured(https_cluster, self_signed, fake_time,
                                                                            monkeypatch):
    # Pinning only applies to a CA the user named; otherwise requests' usual trust (incl. the variable) applies.
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(self_signed[0]))
    cluster, url = https_cluster
    sink = OpenSearchSink(url, None, sleep=fake_time.sleep, clock=fake_time.clock)

    assert sink.send([make_item(1)], FAR_AWAY) == []


def test_a_ca_bundle_that_does_not_exist_is_refused_naming_the_option(tmp_path):
    with pytest.raises(ValueError, match=r"--ca-bundle .*missing\.pem: no such file"):
        OpenSearchSink("https://127.0.0.1:9", None, ca_certs=str(tmp_path / "missing.pem"))
