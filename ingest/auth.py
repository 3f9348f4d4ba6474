"""Authentication for requests to OpenSearch: SigV4, HTTP basic (password from Secrets Manager), or none.

The one implementation used by the Lambda, `python -m ingest run` and scripts/bootstrap_opensearch.py.
`auto` (the default everywhere) picks sigv4 for an Amazon OpenSearch endpoint and none for a loopback host
(ingest.connection.resolve_auth_mode); SigV4's region and service come from the endpoint's host when not given.

`build_auth` is meant to be called once per cold start (module level in the handler): for `basic` that is
the one Secrets Manager call; for `sigv4` the returned signer reads the live credentials object on every
request, so rotated Lambda role credentials are picked up without rebuilding anything.
"""
from __future__ import annotations

import json
from typing import Any

import requests
from requests_aws4auth import AWS4Auth

from .connection import resolve_auth_mode, resolve_region, resolve_service

AUTH_MODES = ("auto", "sigv4", "basic", "none")
SIGV4_SERVICES = ("es", "aoss")


class BasicAuth(requests.auth.HTTPBasicAuth):
    """HTTP basic auth whose repr never shows the password (reprs end up in logs and tracebacks)."""

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=<redacted>)"


def build_auth(
    mode: str,
    *,
    url: str | None = None,
    region: str | None = None,
    service: str | None = None,
    secret_id: str | None = None,
    session: Any = None,
) -> requests.auth.AuthBase | None:
    """Return a `requests` auth object for `mode`, or None for `none`.

    `url` is the endpoint: `auto` needs it, and SigV4 takes its region and service (es/aoss) from an Amazon
    OpenSearch host when `region`/`service` are not given (then $AWS_REGION, $AWS_DEFAULT_REGION, the profile).
    `session` is a boto3 Session (a new default one when omitted); tests pass their own.
    Raises ValueError saying what is wrong and what to do; never includes secret values in the message.
    """
    if mode not in AUTH_MODES:
        raise ValueError(f"unknown OpenSearch auth mode {mode!r}; expected one of {', '.join(AUTH_MODES)}")
    if mode == "auto":
        if not url:
            raise ValueError("auth mode 'auto' needs the endpoint URL to choose; pass url= or a concrete mode")
        mode = resolve_auth_mode(mode, url)
    if mode == "none":
        return None
    if mode == "sigv4":
        return _sigv4_auth(url=url or "", region=region, service=service, session=session)
    return _basic_auth(secret_id=secret_id, region=region, session=session)


def _default_session(session: Any) -> Any:
    if session is not None:
        return session
    import boto3  # provided by the Lambda runtime; imported late so `none` works without it

    return boto3.Session()


def _sigv4_auth(*, url: str, region: str | None, service: str | None, session: Any) -> AWS4Auth:
    service = resolve_service(url, service)
    if service not in SIGV4_SERVICES:
        raise ValueError(f"unknown SigV4 service {service!r}; expected 'es' (managed domain) or 'aoss' (Serverless)")
    session = _default_session(session)
    region = resolve_region(url, region, session)
    if not region:
        raise ValueError("SigV4 needs an AWS region and the endpoint's host names none; pass --region "
                         "or set AWS_REGION")
    try:
        credentials = session.get_credentials()
    except Exception as error:  # botocore ProfileNotFound, a broken credential_process, ...
        raise ValueError(f"SigV4 could not load AWS credentials ({type(error).__name__}: {error}); "
                         "fix the profile (AWS_PROFILE) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
    if credentials is None:
        raise ValueError("SigV4 needs AWS credentials and none were found; set AWS_PROFILE (or run "
                         "`aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or choose --auth basic/none")
    # The live credentials object, not get_frozen_credentials(): AWS4Auth asks it for fresh keys on every
    # request, so role credentials that rotate while the sandbox lives keep signing correctly.
    return AWS4Auth(refreshable_credentials=credentials, region=region, service=service)


def _basic_auth(*, secret_id: str | None, region: str | None, session: Any) -> BasicAuth:
    if not secret_id:
        raise ValueError("basic auth needs the Secrets Manager secret holding username and password; pass "
                         "--secret-id (OPENSEARCH_SECRET_ID in the Lambda)")
    # An ARN names its region; a plain name is looked up in `region` or the session's default region.
    arn_region = secret_id.split(":")[3] if secret_id.startswith("arn:") and secret_id.count(":") >= 6 else None
    try:
        client = _default_session(session).client("secretsmanager", region_name=arn_region or region or None)
        response = client.get_secret_value(SecretId=secret_id)
    except Exception as error:  # botocore ClientError and friends; keep the AWS error code, nothing else
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        hint = {"NoCredentialsError": "; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                "NoRegionError": "; pass --region or set AWS_REGION (or give the secret's ARN)",
                "ResourceNotFoundException": "; check the secret's name and region",
                "AccessDeniedException": "; the caller needs secretsmanager:GetSecretValue on it"}.get(code, "")
        raise ValueError(f"could not read secret {secret_id!r} from Secrets Manager: {code}{hint}") from None
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
