"""build_auth: what each mode puts on the wire, credential refresh, and errors that never show secrets."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.credentials import Credentials, RefreshableCredentials
from moto import mock_aws

from ingest.auth import build_auth
from ingest.shipper import OpenSearchSink

from .conftest import make_item

FAR_AWAY = 1e12
SIGV4 = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
                   r"/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})")


class StubSession:
    """Just what build_auth uses of a boto3 Session, so a test controls the credentials object."""

    def __init__(self, credentials, region_name="eu-west-1"):
        self._credentials = credentials
        self.region_name = region_name

    def get_credentials(self):
        return self._credentials


def send_one(url, auth, n=1):
    OpenSearchSink(url, auth).send([make_item(n)], FAR_AWAY)


# -- SigV4 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["es", "aoss"])
def test_sigv4_signs_the_compressed_body_with_region_and_service_in_the_credential_scope(cluster, aws_env, service):
    auth = build_auth("sigv4", region="eu-west-1", service=service, session=boto3.Session())

    send_one(cluster.url, auth)

    [request] = cluster.received
    signature = SIGV4.fullmatch(request.headers["authorization"])
    assert signature, request.headers["authorization"]
    assert signature["key"] == "AKIDEXAMPLE"
    assert (signature["region"], signature["service"]) == ("eu-west-1", service)
    assert re.fullmatch(r"\d{8}T\d{6}Z", request.headers["x-amz-date"])
    assert signature["day"] == request.headers["x-amz-date"][:8]
    assert request.headers["x-amz-security-token"] == "session-token-example"
    assert {"host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"} <= set(signature["signed"].split(";"))
    # The hash covers the bytes actually sent (gzip), or AWS would answer 403 signature mismatch.
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(request.raw_body).hexdigest()


def test_sigv4_takes_the_region_from_the_session_when_not_given(cluster, aws_env):
    send_one(cluster.url, build_auth("sigv4", session=boto3.Session(region_name="ap-southeast-2")))
    assert SIGV4.fullmatch(cluster.received[0].headers["authorization"])["region"] == "ap-southeast-2"


def test_sigv4_signs_each_request_with_the_credentials_current_at_that_moment(cluster):
    clock = {"now": datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)}
    issued = []

    def refresh():
        issued.append(f"ASIAROTATED{len(issued) + 1}")
        return {"access_key": issued[-1], "secret_key": "rotated-secret", "token": f"token-{len(issued)}",
                "expiry_time": (clock["now"] + timedelta(hours=1)).isoformat()}

    credentials = RefreshableCredentials(
        "ASIAFIRST", "first-secret", "token-0", clock["now"] + timedelta(hours=1), refresh, "test",
        time_fetcher=lambda: clock["now"])
    auth = build_auth("sigv4", region="eu-west-1", session=StubSession(credentials))

    send_one(cluster.url, auth, 1)
    clock["now"] += timedelta(hours=2)  # the first credentials have expired
    send_one(cluster.url, auth, 2)

    keys = [SIGV4.fullmatch(r.headers["authorization"])["key"] for r in cluster.received]
    assert keys == ["ASIAFIRST", "ASIAROTATED1"]
    assert [r.headers["x-amz-security-token"] for r in cluster.received] == ["token-0", "token-1"]


def test_sigv4_needs_a_region():
    with pytest.raises(ValueError, match="region"):
        build_auth("sigv4", session=StubSession(Credentials("AKID", "secret"), region_name=None))


def test_sigv4_needs_credentials():
    with pytest.raises(ValueError, match="credentials"):
        build_auth("sigv4", region="eu-west-1", session=StubSession(None))


def test_sigv4_service_must_be_es_or_aoss():
    with pytest.raises(ValueError, match="'es'.*'aoss'"):
        build_auth("sigv4", region="eu-west-1", service="s3", session=StubSession(Credentials("AKID", "secret")))


# -- basic (Secrets Manager) -------------------------------------------------------------------------

SECRET = {"username": "shipper", "password": "pa55:w0rd-never-logged"}


@pytest.fixture
def secrets(aws_env):
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        yield client


def test_basic_auth_sends_the_username_and_password_from_the_secret(cluster, secrets):
    secrets.create_secret(Name="opensearch/shipper", SecretString=json.dumps(SECRET))

    send_one(cluster.url, build_auth("basic", secret_id="opensearch/shipper", session=boto3.Session()))

    expected = base64.b64encode(b"shipper:pa55:w0rd-never-logged").decode()
    assert cluster.received[0].headers["authorization"] == f"Basic {expected}"


def test_basic_auth_reads_the_secret_once_not_per_request(cluster, secrets):
    secrets.create_secret(Name="opensearch/shipper", SecretString=json.dumps(SECRET))
    auth = build_auth("basic", secret_id="opensearch/shipper", session=boto3.Session())
    secrets.delete_secret(SecretId="opensearch/shipper", ForceDeleteWithoutRecovery=True)

    send_one(cluster.url, auth, 1)
    send_one(cluster.url, auth, 2)

    assert [r.headers["authorization"].startswith("Basic ") for r in cluster.received] == [True, True]


def test_basic_auth_repr_hides_the_password(secrets):
    secrets.create_secret(Name="opensearch/shipper", SecretString=json.dumps(SECRET))
    auth = build_auth("basic", secret_id="opensearch/shipper", session=boto3.Session())
    assert "pa55" not in repr(auth) and "shipper" in repr(auth)


@pytest.mark.parametrize("secret_string, complaint", [
    ("pa55:w0rd-never-logged", "not JSON"),
    (json.dumps({"username": "shipper"}), "'username' and 'password'"),
    (json.dumps({"user": "shipper", "pass": "pa55:w0rd-never-logged"}), "'username' and 'password'"),
])
def test_a_malformed_secret_is_reported_by_name_without_its_contents(secrets, secret_string, complaint):
    secrets.create_secret(Name="opensearch/shipper", SecretString=secret_string)

    with pytest.raises(ValueError) as raised:
        build_auth("basic", secret_id="opensearch/shipper", session=boto3.Session())

    assert complaint in str(raised.value) and "opensearch/shipper" in str(raised.value)
    assert "pa55" not in str(raised.value)
    # no chained exception carrying the secret text into a traceback
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__


def test_a_missing_secret_is_reported_with_the_aws_error_code(secrets):
    with pytest.raises(ValueError, match="'opensearch/absent'.*ResourceNotFoundException"):
        build_auth("basic", secret_id="opensearch/absent", session=boto3.Session())


def test_basic_auth_needs_a_secret_id():
    with pytest.raises(ValueError, match="OPENSEARCH_SECRET_ID"):
        build_auth("basic")


# -- none and bad modes --------------------------------------------------------------------------------

def test_none_sends_no_authorization_header(cluster):
    auth = build_auth("none")
    assert auth is None
    send_one(cluster.url, auth)
    assert "authorization" not in cluster.received[0].headers


def test_an_unknown_mode_is_rejected_naming_the_choices():
    with pytest.raises(ValueError, match="'iam'.*sigv4, basic, none"):
        build_auth("iam")
