"""Lambda settings from environment variables (the table in docs/configuration.md).

Read once at cold start with ``Settings.from_env()``. Every problem found is reported at once in a
``ConfigError`` whose message names the variable, the accepted values and what was given.

Judgment calls (documented here because the table is terse):
  * ``OPENSEARCH_AUTH`` defaults to ``auto``, as on the command line and in the bootstrap: ``sigv4`` for an
    Amazon OpenSearch endpoint (``*.es.amazonaws.com``, ``*.aoss.amazonaws.com``, ``*.aos.<region>.on.aws``),
    ``none`` for a loopback host, and a configuration error for any other host. ``Settings.auth`` is always
    the resolved mode. SigV4's region is the endpoint's own when its host names one (else ``AWS_REGION``,
    ``AWS_DEFAULT_REGION``) and ``OPENSEARCH_SERVICE`` defaults to the endpoint's (``aoss`` for Serverless).
  * ``OPENSEARCH_URL`` must be ``https://``. Plain ``http://`` is accepted only for a loopback host
    (localhost, 127.0.0.1, ::1) together with ``OPENSEARCH_AUTH=none`` — a local test cluster; nothing
    signed or password-protected ever travels unencrypted. Credentials in the URL
    (``https://user:pass@…``), query strings and fragments are refused; a path prefix (reverse proxy)
    is kept, a trailing ``/`` dropped.
  * No secret is accepted from the environment: ``OPENSEARCH_PASSWORD`` / ``OPENSEARCH_USERNAME`` are
    refused with a pointer to ``OPENSEARCH_SECRET_ID``. ``OPENSEARCH_SECRET_ID`` is ignored unless
    ``OPENSEARCH_AUTH=basic``.
  * An empty variable counts as unset (CloudFormation often passes "" for an optional parameter).
  * Enumerations and booleans are case-insensitive; values are normalised to lower case
    (``LOG_LEVEL`` to upper case).
"""
from __future__ import annotations

import enum
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Mapping, TypeVar
from urllib.parse import urlsplit

from .connection import endpoint_region_service, resolve_auth_mode
from .formats import FORMATS

__all__ = ["ConfigError", "Settings", "Auth", "LogFormat", "MAX_BULK_BYTES"]

MAX_BULK_BYTES = 100 * 1024 * 1024  # the largest HTTP payload any Amazon OpenSearch Service instance accepts
MAX_LAMBDA_SECONDS = 900
LOOPBACK_HOSTS = {"localhost"}
# A daily index is "<prefix>-YYYY.MM.DD"; OpenSearch index names are at most 255 bytes.
DAILY_SUFFIX_LENGTH = len("-2024.01.31")
INDEX_FORBIDDEN_CHARS = set(' "*\\<>|,#:?/') | {"\t", "\n"}
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_ENV_VARS = ("OPENSEARCH_PASSWORD", "OPENSEARCH_USERNAME")


class ConfigError(ValueError):
    """One or more environment variables are wrong; ``problems`` lists each, naming the variable."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid configuration: " + "; ".join(problems))
        self.problems = list(problems)


class Auth(enum.StrEnum):
    SIGV4 = "sigv4"
    BASIC = "basic"
    NONE = "none"


class SigV4Service(enum.StrEnum):
    ES = "es"  # Amazon OpenSearch Service managed domains
    AOSS = "aoss"  # Amazon OpenSearch Serverless


# LOG_FORMAT: auto, or a format's name (LogFormat.ALB is "alb", LogFormat.ALB_CONNECTION "alb-connection").
LogFormat = enum.StrEnum("LogFormat", {"AUTO": "auto", **{name.upper().replace("-", "_"): name for name in FORMATS}})


def index_prefix_variable(format_name: str) -> str:
    """The environment variable naming a format's index prefix: ALB_INDEX_PREFIX, S3_ACCESS_INDEX_PREFIX…"""
    return format_name.upper().replace("-", "_") + "_INDEX_PREFIX"


def default_index_prefixes() -> dict[str, str]:
    return {name: fmt.index_prefix for name, fmt in FORMATS.items()}


@dataclass(frozen=True)
class Settings:
    opensearch_url: str
    auth: Auth = Auth.SIGV4
    service: SigV4Service = SigV4Service.ES
    region: str | None = None  # from AWS_REGION / AWS_DEFAULT_REGION; required for sigv4
    secret_id: str | None = None  # Secrets Manager secret holding {"username", "password"}; basic only
    timeout_seconds: int = 30
    index_prefixes: dict[str, str] = field(default_factory=default_index_prefixes)  # format name -> prefix
    bulk_max_bytes: int = 5 * 1024 * 1024
    bulk_max_docs: int = 5000
    bulk_compress_level: int = 1  # gzip level of bulk bodies: 0-3 igzip (fast), 4-9 zlib (smaller)
    bulk_send_threads: int | None = None  # 1: send while parsing on, 0: in line; None: the pipeline's default
    dead_letter_bucket: str | None = None
    dead_letter_prefix: str = "dead-letter/"
    include_raw_line: bool = False
    max_line_bytes: int = 256 * 1024  # a longer line is a failure record, whole in the dead letter
    max_failure_share: float = 0.5  # objects with more unparsed lines are flagged (ObjectsMostlyUnparsed)
    log_format: LogFormat = LogFormat.AUTO
    time_margin_seconds: int = 20
    log_level: str = "INFO"
    metrics_namespace: str = "AccessLogsToOpenSearch"
    continue_queue_url: str | None = None  # where the rest of an object that ran out of time is handed on
    geoip_city_db: str | None = None  # path or s3:// URI of a MaxMind-format City database (source.geo.*)
    geoip_asn_db: str | None = None  # path or s3:// URI of a MaxMind-format ASN database (source.as.*)
    user_agent_parsing: bool = False  # user_agent.name, version, os.*, device.name

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, *, require_dead_letter: bool = True) -> Settings:
        """Build Settings from ``environ``; raise ConfigError listing every bad variable.

        ``require_dead_letter=False`` is for local tools (backfill to files) that have no bucket."""
        reader = _Reader(environ)
        for name in SECRET_ENV_VARS:
            if reader.get(name) is not None:
                reader.problem(
                    f"{name} must not be set: secrets are never read from environment variables; store "
                    '{"username": ..., "password": ...} in Secrets Manager and set OPENSEARCH_SECRET_ID '
                    "with OPENSEARCH_AUTH=basic"
                )

        auth = _auth(reader)
        url = _check_url(reader, auth)
        endpoint = endpoint_region_service(url) if url else None
        service = reader.enum("OPENSEARCH_SERVICE", SigV4Service,
                              SigV4Service(endpoint[1]) if endpoint else SigV4Service.ES)

        # The endpoint's own region first: AWS refuses a signature for any other (the function may run elsewhere).
        region = (endpoint[0] if endpoint else None) or reader.get("AWS_REGION") or reader.get("AWS_DEFAULT_REGION")
        if auth == Auth.SIGV4 and region is None:
            reader.problem("AWS_REGION (or AWS_DEFAULT_REGION) must be set for OPENSEARCH_AUTH=sigv4 when "
                           "OPENSEARCH_URL does not name a region; got nothing")

        secret_id = reader.get("OPENSEARCH_SECRET_ID")
        if auth == Auth.BASIC and secret_id is None:
            reader.problem(
                "OPENSEARCH_SECRET_ID must name the Secrets Manager secret (name or ARN) holding the "
                "username and password when OPENSEARCH_AUTH=basic; got nothing"
            )
        if auth != Auth.BASIC:
            secret_id = None

        dead_letter_bucket = reader.get("DEAD_LETTER_BUCKET")
        if dead_letter_bucket is None:
            if require_dead_letter:
                reader.problem(
                    "DEAD_LETTER_BUCKET must be set: items that cannot be indexed are written there; got nothing"
                )
        elif not BUCKET_NAME.match(dead_letter_bucket) or ".." in dead_letter_bucket:
            reader.problem(
                "DEAD_LETTER_BUCKET must be a bucket name (3-63 characters: a-z, 0-9, '.', '-'; "
                f"not an ARN or s3:// URI); got {dead_letter_bucket!r}"
            )

        dead_letter_prefix = reader.get("DEAD_LETTER_PREFIX", "dead-letter/", empty_is_unset=False)
        if dead_letter_prefix.startswith("/"):
            reader.problem(f"DEAD_LETTER_PREFIX must not start with '/'; got {dead_letter_prefix!r}")

        log_level = (reader.get("LOG_LEVEL") or "INFO").upper()
        if log_level == "WARN":
            log_level = "WARNING"
        if log_level not in LOG_LEVELS:
            reader.problem(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {reader.get('LOG_LEVEL')!r}")

        settings = cls(
            opensearch_url=url,
            auth=auth,
            service=service,
            region=region,
            secret_id=secret_id,
            timeout_seconds=reader.integer("OPENSEARCH_TIMEOUT_SECONDS", 30, minimum=1, maximum=MAX_LAMBDA_SECONDS),
            index_prefixes={name: _index_prefix(reader, index_prefix_variable(name), fmt.index_prefix)
                            for name, fmt in FORMATS.items()},
            bulk_max_bytes=reader.integer("BULK_MAX_BYTES", 5 * 1024 * 1024, minimum=1, maximum=MAX_BULK_BYTES),
            bulk_max_docs=reader.integer("BULK_MAX_DOCS", 5000, minimum=1),
            bulk_compress_level=reader.integer("BULK_COMPRESS_LEVEL", 1, minimum=0, maximum=9),
            bulk_send_threads=reader.integer("BULK_SEND_THREADS", None, minimum=0, maximum=1),
            dead_letter_bucket=dead_letter_bucket,
            dead_letter_prefix=dead_letter_prefix,
            include_raw_line=reader.boolean("INCLUDE_RAW_LINE", False),
            max_line_bytes=reader.integer("MAX_LINE_BYTES", 256 * 1024, minimum=1, maximum=MAX_BULK_BYTES),
            max_failure_share=reader.share("MAX_FAILURE_SHARE", 0.5),
            log_format=reader.enum("LOG_FORMAT", LogFormat, LogFormat.AUTO),
            time_margin_seconds=reader.integer("TIME_MARGIN_SECONDS", 20, minimum=0, maximum=MAX_LAMBDA_SECONDS - 1),
            log_level=log_level,
            metrics_namespace=_metrics_namespace(reader),
            continue_queue_url=_queue_url(reader),
            geoip_city_db=_database_location(reader, "GEOIP_CITY_DB"),
            geoip_asn_db=_database_location(reader, "GEOIP_ASN_DB"),
            user_agent_parsing=reader.boolean("USER_AGENT_PARSING", False),
        )
        if reader.problems:
            raise ConfigError(reader.problems)
        return settings


E = TypeVar("E", bound=enum.Enum)


class _Reader:
    """Reads variables and collects problems instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def get(self, name: str, default: str | None = None, *, empty_is_unset: bool = True) -> str | None:
        value = self.environ.get(name)
        if value is None or (empty_is_unset and value.strip() == ""):
            return default
        return value.strip()

    def enum(self, name: str, kind: type[E], default: E, *, extra: tuple[str, ...] = ()) -> E:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            return kind(raw.lower())
        except ValueError:
            accepted = ", ".join([*extra, *(member.value for member in kind)])
            self.problem(f"{name} must be one of {accepted}; got {raw!r}")
            return default

    def integer(self, name: str, default: int | None, *, minimum: int, maximum: int | None = None) -> int | None:
        raw = self.get(name)
        if raw is None:
            return default
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        try:
            value = int(raw.replace("_", ""), 10)
        except ValueError:
            self.problem(f"{name} must be a whole number {bounds}; got {raw!r}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            self.problem(f"{name} must be a whole number {bounds}; got {raw!r}")
            return default
        return value

    def share(self, name: str, default: float) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 1:
            self.problem(f"{name} must be a share from 0 to 1 (e.g. 0.5); got {raw!r}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        self.problem(f"{name} must be one of true, false (also 1/0, yes/no, on/off); got {raw!r}")
        return default


def _auth(reader: _Reader) -> Auth:
    """OPENSEARCH_AUTH, with `auto` (the default) resolved from OPENSEARCH_URL as the command line does."""
    raw = (reader.get("OPENSEARCH_AUTH") or "auto").lower()
    if raw != "auto":
        return reader.enum("OPENSEARCH_AUTH", Auth, Auth.SIGV4, extra=("auto",))
    url = reader.get("OPENSEARCH_URL")
    if url is None:
        return Auth.SIGV4  # OPENSEARCH_URL's own problem is reported
    try:
        return Auth(resolve_auth_mode("auto", url, option="OPENSEARCH_AUTH"))
    except ValueError as error:
        reader.problem(str(error))
        return Auth.SIGV4


def _check_url(reader: _Reader, auth: Auth) -> str:
    raw = reader.get("OPENSEARCH_URL")
    if raw is None:
        reader.problem(
            "OPENSEARCH_URL must be set, e.g. https://search-logs-abc.eu-west-1.es.amazonaws.com; got nothing"
        )
        return ""
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        reader.problem(f"OPENSEARCH_URL is not a valid URL ({exc})")
        return raw
    if parts.username is not None or parts.password is not None:
        # Do not echo the value: it contains credentials.
        reader.problem(
            "OPENSEARCH_URL must not contain credentials (user:password@); use OPENSEARCH_AUTH=basic "
            "with OPENSEARCH_SECRET_ID"
        )
        return ""
    if not host:
        reader.problem(f"OPENSEARCH_URL must be https://<host>[:port]; got {raw!r}")
        return raw
    if parts.query or parts.fragment:
        reader.problem(f"OPENSEARCH_URL must not have a query string or fragment; got {raw!r}")
    scheme = parts.scheme.lower()
    if scheme == "http":
        if not (_is_loopback(host) and auth == Auth.NONE):
            reader.problem(
                "OPENSEARCH_URL must use https (http is accepted only for localhost/127.0.0.1/::1 "
                f"with OPENSEARCH_AUTH=none); got {raw!r}"
            )
    elif scheme != "https":
        reader.problem(f"OPENSEARCH_URL must start with https://; got {raw!r}")
    return raw.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _index_prefix(reader: _Reader, name: str, default: str) -> str:
    value = reader.get(name, default)
    rule = (
        f"{name} must be a valid OpenSearch index name prefix (lower case; no spaces or any of "
        '" * \\ < > | , # : ? /; not starting with - _ + or .'
    )
    if (
        value != value.lower()
        or any(ch in INDEX_FORBIDDEN_CHARS for ch in value)
        or value[0] in "-_+."
        or len(value.encode()) + DAILY_SUFFIX_LENGTH > 255
    ):
        reader.problem(f"{rule}; at most {255 - DAILY_SUFFIX_LENGTH} bytes); got {value!r}")
        return default
    return value


def _queue_url(reader: _Reader) -> str | None:
    value = reader.get("CONTINUE_QUEUE_URL")
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(parts.path.strip("/").split("/")) != 2:
        reader.problem("CONTINUE_QUEUE_URL must be an SQS queue URL, "
                       f"https://sqs.<region>.amazonaws.com/<account>/<queue>; got {value!r}")
        return None
    return value


def _database_location(reader: _Reader, name: str) -> str | None:
    """An absolute path (a Lambda layer's /opt/…) or s3://bucket/key; whether it reads is checked at cold
    start, when it is opened (ingest/enrich.py)."""
    value = reader.get(name)
    if value is None:
        return None
    if value.startswith("s3://"):
        bucket, _, key = value[len("s3://"):].partition("/")
        if BUCKET_NAME.match(bucket) and key and not key.endswith("/"):
            return value
    elif value.startswith("/"):
        return value
    reader.problem(f"{name} must be an absolute path (e.g. /opt/geoip/GeoLite2-City.mmdb from a layer) or "
                   f"s3://bucket/key of a MaxMind-format database; got {value!r}")
    return None


def _metrics_namespace(reader: _Reader) -> str:
    value = reader.get("METRICS_NAMESPACE", "AccessLogsToOpenSearch")
    printable_ascii = all(32 <= ord(ch) < 127 for ch in value)
    if not printable_ascii or len(value) > 255 or value.startswith("AWS/"):
        reader.problem(
            "METRICS_NAMESPACE must be 1-255 printable ASCII characters and not start with 'AWS/' "
            f"(reserved for AWS services); got {value!r}"
        )
        return "AccessLogsToOpenSearch"
    return value

