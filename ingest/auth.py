"""Authentication for requests to OpenSearch: SigV4, HTTP basic (password from Secrets Manager), or none.

`build_auth` is meant to be called once per cold start (module level in the handler): for `basic` that is
the one Secrets Manager call; for `sigv4` the returned signer reads the live credentials object on every
request, so rotated Lambda role credentials are picked up without rebuilding anything.
"""
from __future__ import annotations

import json
from typing import Any

import requests
from requests_aws4auth import AWS4Auth

AUTH_MODES = ("sigv4", "basic", "none")
SIGV4_SERVICES = ("es", "aoss")


class BasicAuth(requests.auth.HTTPBasicAuth):
    """HTTP basic auth whose repr never shows the password (reprs end up in logs and tracebacks)."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=<redacted>)"


def build_auth(
    mode: str,
    *,
    region: str | None = None,
    service: str = "es",
    secret_id: str | None = None,
    session: Any = None,
) -> requests.auth.AuthBase | None:
    """Return a `requests` auth object for `mode`, or None for `none`.

    `session` is a boto3 Session (a new default one when omitted); tests pass their own.
    Raises ValueError naming what is wrong; never includes secret values in the message.
    """
    if mode == "none":
        return None
    if mode == "sigv4":
        return _sigv4_auth(region=region, service=service, session=session)
    if mode == "basic":
        return _basic_auth(secret_id=secret_id, session=session)
    raise ValueError(f"unknown OpenSearch auth mode {mode!r}; expected one of {', '.join(AUTH_MODES)}")


def _default_session(session: Any) -> Any:
    if session is not None:
        return session
    import boto3  # provided by the Lambda runtime; imported late so `none` works without it

    return boto3.Session()


def _sigv4_auth(*, region: str | None, service: str, session: Any) -> AWS4Auth:
    if service not in SIGV4_SERVICES:
        raise ValueError(f"unknown SigV4 service {service!r}; expected 'es' (managed domain) or 'aoss' (Serverless)")
    session = _default_session(session)
    region = region or getattr(session, "region_name", None)
    if not region:
        raise ValueError("SigV4 auth needs an AWS region (set AWS_REGION or pass region=)")
    credentials = session.get_credentials()
    if credentials is None:
        raise ValueError("SigV4 auth needs AWS credentials, and none were found in the environment")
    # The live credentials object, not get_frozen_credentials(): AWS4Auth asks it for fresh keys on every
    # request, so role credentials that rotate while the sandbox lives keep signing correctly.
    return AWS4Auth(refreshable_credentials=credentials, region=region, service=service)


def _basic_auth(*, secret_id: str | None, session: Any) -> BasicAuth:
    if not secret_id:
        raise ValueError("basic auth needs a Secrets Manager secret id (OPENSEARCH_SECRET_ID)")
    client = _default_session(session).client("secretsmanager")
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as error:  # botocore ClientError and friends; keep the AWS error code, nothing else
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        raise ValueError(f"could not read secret {secret_id!r} from Secrets Manager: {code}") from None
    secret_text = response.get("SecretString")
    if secret_text is None:
        raise ValueError(f"secret {secret_id!r} has no SecretString; expected JSON with username and password")
    try:
        secret = json.loads(secret_text)
    except ValueError:
        # `from None`: the decode error carries the secret text in its `doc` attribute
        raise ValueError(f"secret {secret_id!r} is not JSON; expected {{\"username\": …, \"password\": …}}") from None
    if not isinstance(secret, dict) or not secret.get("username") or not secret.get("password"):
        raise ValueError(f"secret {secret_id!r} must be a JSON object with non-empty 'username' and 'password'")
    return BasicAuth(str(secret["username"]), str(secret["password"]))
