"""Shared by the whole suite: hypothesis profiles, and a self-signed certificate for TLS tests.

Hypothesis profiles: deterministic by default, random exploration on request.

- `ci` (the default, so `make test`, `.ci/run` and a plain `pytest` all use it): derandomized, so
  every run tries the same examples and a red build means a change, not a lucky draw; no example
  database (nothing carried over between runs); no deadline and no too_slow health check, since
  timing on a shared or busy machine says nothing about correctness.
- `dev`: random exploration with the example database, for hunting new failures locally:
  `HYPOTHESIS_PROFILE=dev pytest tests/formats`. A failure it finds must be added to the tests as
  an explicit example or a named test before it is fixed, so that `ci` keeps checking it.

Tests must not set `derandomize` or `database` themselves. Those that pass `suppress_health_check`
replace the profile's list, so they must name HealthCheck.too_slow again.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", derandomize=False, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def self_signed(tmp_path):
    """(cert.pem, key.pem): a certificate for 127.0.0.1 that no system CA bundle trusts, only itself."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test cluster")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="session")
def geoip_databases(tmp_path_factory):
    """(City, ASN) MaxMind-format test databases, built by scripts/geoip_testdb.py (never downloaded)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import geoip_testdb

    return geoip_testdb.build(tmp_path_factory.mktemp("geoip"))
