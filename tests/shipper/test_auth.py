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


def test_sigv4_needs_a_region(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ValueError, match="region.*pass --region or set AWS_REGION"):
        build_auth("sigv4", url="https://search.example.com",
                   session=StubSession(Credentials("AKID", "secret"), region_name=None))


@pytest.mark.parametrize("endpoint, region, service", [
    ("https://search-logs-abc.ap-southeast-2.es.amazonaws.com", "ap-southeast-2", "es"),
    ("https://vpc-logs-abc.us-gov-west-1.es.amazonaws.com", "us-gov-west-1", "es"),
    ("https://search-logs-abc.aos.eu-central-1.on.aws", "eu-central-1", "es"),
    ("https://abc123.eu-west-3.aoss.amazonaws.com", "eu-west-3", "aoss"),
])
def test_sigv4_without_a_region_signs_for_the_region_and_service_the_endpoint_names(cluster, monkeypatch,
                                                                                    endpoint, region, service):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    auth = build_auth("sigv4", url=endpoint, session=StubSession(Credentials("AKID", "secret"), region_name=None))

    send_one(cluster.url, auth)

    signature = SIGV4.fullmatch(cluster.received[0].headers["authorization"])
    assert (signature["region"], signature["service"]) == (region, service)


def test_the_endpoints_region_wins_over_the_environments_default_region(cluster, monkeypatch):
    # AWS refuses a signature scoped to any other region than the domain's.
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    auth = build_auth("sigv4", url="https://search-logs-abc.eu-north-1.es.amazonaws.com",
                      session=StubSession(Credentials("AKID", "secret"), region_name="us-east-1"))
    send_one(cluster.url, auth)
    assert SIGV4.fullmatch(cluster.received[0].headers["authorization"])["region"] == "eu-north-1"


def test_an_explicit_region_and_service_win_over_the_endpoints(cluster):
    auth = build_auth("sigv4", url="https://search-logs-abc.eu-north-1.es.amazonaws.com", region="us-west-2",
                      service="aoss", session=StubSession(Credentials("AKID", "secret")))
    send_one(cluster.url, auth)
    signature = SIGV4.fullmatch(cluster.received[0].headers["authorization"])
    assert (signature["region"], signature["service"]) == ("us-west-2", "aoss")


# -- auto (the default) -----------------------------------------------------------------------------

def test_auto_signs_requests_to_an_amazon_opensearch_endpoint(cluster):
    auth = build_auth("auto", url="https://search-logs-abc.eu-west-1.es.amazonaws.com",
                      session=StubSession(Credentials("AKID", "secret")))
    send_one(cluster.url, auth)
    assert SIGV4.fullmatch(cluster.received[0].headers["authorization"])["service"] == "es"


@pytest.mark.parametrize("url", ["http://localhost:9200", "https://127.0.0.1:9200", "http://[::1]:9200"])
def test_auto_sends_no_credentials_to_this_machine(url):
    assert build_auth("auto", url=url, session=StubSession(None)) is None


def test_auto_refuses_to_guess_for_any_other_host_and_says_how_to_choose():
    with pytest.raises(ValueError, match=r"cannot tell how to authenticate to 'search\.example\.com'.*"
                                         r"sigv4 .*basic .*none"):
        build_auth("auto", url="https://search.example.com:9200", session=StubSession(None))


def test_sigv4_without_credentials_says_where_to_put_them():
    with pytest.raises(ValueError, match="credentials and none were found.*AWS_PROFILE"):
        build_auth("sigv4", url="https://search-logs-abc.eu-west-1.es.amazonaws.com", session=StubSession(None))


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
    with pytest.raises(ValueError, match="--secret-id.*OPENSEARCH_SECRET_ID"):
        build_auth("basic")


# -- none and bad modes --------------------------------------------------------------------------------

def test_none_sends_no_authorization_header(cluster):
    auth = build_auth("none")
    assert auth is None
    send_one(cluster.url, auth)
    assert "authorization" not in cluster.received[0].headers


def test_an_unknown_mode_is_rejected_naming_the_choices():
    with pytest.raises(ValueError, match="'iam'.*auto, sigv4, basic, none"):
        build_auth("iam")
