"""How to reach an OpenSearch endpoint: which auth to use, which region/service to sign for, which CA to trust.

One implementation for the Lambda (`ingest.config` / `ingest.shipper`), the command line (`python -m ingest`)
and scripts/bootstrap_opensearch.py:

* `endpoint_region_service(url)`: the region and SigV4 service an Amazon OpenSearch endpoint names in its
  host (`*.<region>.es.amazonaws.com` and `*.aos.<region>.on.aws` → es, `*.<region>.aoss.amazonaws.com` → aoss).
* `resolve_auth_mode("auto", url)`: the default everywhere. `sigv4` for an Amazon OpenSearch endpoint,
  `none` for a loopback host (localhost, 127.0.0.1, ::1: a local test cluster); any other host is an error
  asking the user to choose, because guessing wrong either sends unsigned requests or signs for nobody.
* `pin_ca_bundle(session, path)`: the CA file the user names is the one trusted. `requests` otherwise lets
  REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace it on every request (trust_env), silently. Without a CA file
  the default trust (system or certifi bundle, and those variables) is unchanged.
* `opensearch_client(...)`: the opensearch-py client the shipper uses, built with the above.

Only the standard library is imported at module level: the Lambda's cold start imports this.
"""
from __future__ import annotations

import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

AUTH_CHOICES = ("auto", "sigv4", "basic", "none")
LOOPBACK_NAMES = {"localhost"}
# search-logs-abc.eu-west-1.es.amazonaws.com, vpc-logs-abc.eu-west-1.es.amazonaws.com(.cn),
# abc.eu-west-1.aoss.amazonaws.com (Serverless), search-logs-abc.aos.eu-west-1.on.aws (dual stack)
_AWS_HOSTS = (
    (re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d+)\.es\.amazonaws\.com(?:\.cn)?$"), "es"),
    (re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d+)\.aoss\.amazonaws\.com(?:\.cn)?$"), "aoss"),
    (re.compile(r"\.aos\.([a-z]{2}(?:-[a-z]+)+-\d+)\.on\.aws$"), "es"),
)


def endpoint_region_service(url: str) -> tuple[str, str] | None:
    """(region, "es" or "aoss") when `url` is an Amazon OpenSearch Service / Serverless endpoint, else None."""
    host = (urlsplit(url).hostname or "").lower()
    for pattern, service in _AWS_HOSTS:
        match = pattern.search(host)
        if match:
            return match.group(1), service
    return None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_auth_mode(mode: str | None, url: str, *, option: str = "--auth") -> str:
    """The concrete mode (sigv4, basic, none) for `mode`, which may be "auto" (or None, the same).

    `option` names the setting in the error message (--auth on the command line, OPENSEARCH_AUTH in the Lambda).
    """
    mode = (mode or "auto").lower()
    if mode != "auto":
        return mode
    if endpoint_region_service(url) is not None:
        return "sigv4"
    host = urlsplit(url).hostname
    if is_loopback(host):
        return "none"
    raise ValueError(
        f"{option}=auto cannot tell how to authenticate to {host or url!r} (it is neither an Amazon OpenSearch "
        f"endpoint nor this machine); set {option} to sigv4 (IAM), basic (a Secrets Manager secret) or none"
    )


def resolve_region(url: str, region: str | None = None, session: Any = None) -> str | None:
    """The SigV4 region: `region` if given, else the endpoint's own, else the boto3 session's (profile,
    $AWS_DEFAULT_REGION), else $AWS_REGION. The endpoint's beats the environment's: AWS refuses a signature
    scoped to any other region than the domain's."""
    if region:
        return region
    endpoint = endpoint_region_service(url) if url else None
    if endpoint:
        return endpoint[0]
    session_region = getattr(session, "region_name", None) if session is not None else None
    return session_region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def resolve_service(url: str, service: str | None = None) -> str:
    """The SigV4 service: `service` if given, else the endpoint's (aoss for Serverless), else es."""
    if service:
        return service
    endpoint = endpoint_region_service(url) if url else None
    return endpoint[1] if endpoint else "es"


# -- TLS ---------------------------------------------------------------------------------------------

CA_OPTION = "--ca-bundle"


def check_ca_bundle(path: str | None, option: str = CA_OPTION) -> str | None:
    if path is None:
        return None
    if not os.path.isfile(path):
        raise ValueError(f"{option} {path}: no such file; give the PEM file of the CA that signed the "
                         "cluster's certificate")
    return path


def pin_ca_bundle(session: Any, ca_bundle: str | bool | None) -> Any:
    """Make `session` (a requests.Session) trust exactly `ca_bundle` (False: verify nothing), whatever
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE say. With `ca_bundle` None the session is left as it is. Returns the
    session."""
    if ca_bundle is None:
        return session
    session.verify = ca_bundle
    merge = session.merge_environment_settings

    def merge_environment_settings(url, proxies, stream, verify, cert):
        settings = merge(url, proxies, stream, verify, cert)
        if verify is None or verify is True:  # nothing more specific asked for this one request
            settings["verify"] = ca_bundle
        return settings

    # Proxies and .netrc still come from the environment (trust_env stays on); only the CA is pinned.
    session.merge_environment_settings = merge_environment_settings
    return session


def is_tls_failure(error: BaseException) -> bool:
    """Whether `error` (or what it wraps) is a certificate/TLS failure."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        name = type(error).__name__
        if name in ("SSLError", "SSLCertVerificationError") or "CERTIFICATE_VERIFY_FAILED" in str(error) \
                or "certificate verify failed" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def tls_reason(text: str) -> str:
    """The useful part of a TLS failure text (urllib3 wraps it three levels deep)."""
    for pattern in (r"certificate verify failed: [^()'\"]+", r"\[SSL: [A-Z_]+\][^()'\"]*"):
        match = re.search(pattern, text)
        if match:
            return match.group(0).strip()
    return text[:200]


def tls_hint(option: str = CA_OPTION) -> str:
    return (f"if the cluster's certificate comes from a private CA, pass {option} FILE with that CA "
            "(it takes precedence over REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE)")


def http_session(auth: Any = None, ca_bundle: str | None = None) -> Any:
    """A requests.Session with `auth` on every request and `ca_bundle` (if any) pinned."""
    import requests

    session = requests.Session()
    session.auth = auth
    return pin_ca_bundle(session, check_ca_bundle(ca_bundle))


def opensearch_client(url: str, auth: Any = None, *, ca_bundle: str | None = None, verify_certs: bool = True,
                      **options: Any) -> Any:
    """An opensearch-py client over `requests` for `url`, signing/authenticating with `auth` and trusting
    `ca_bundle` when given (pinned: environment variables cannot replace it). `options` go to OpenSearch()."""
    from opensearchpy import OpenSearch, RequestsHttpConnection

    check_ca_bundle(ca_bundle)

    class _Connection(RequestsHttpConnection):
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            if not kwargs.get("verify_certs", True):
                # requests would otherwise verify against REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE when set, ignoring
                # session.verify = False
                pin_ca_bundle(self.session, False)
            else:
                pin_ca_bundle(self.session, kwargs.get("ca_certs"))

    return OpenSearch(hosts=[url], http_auth=auth, connection_class=_Connection, verify_certs=verify_certs,
                      ca_certs=ca_bundle, **options)
