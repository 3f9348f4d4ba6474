"""Settings.from_env: defaults, types, and refusals that name the variable."""
from __future__ import annotations

import dataclasses

import pytest

from ingest.config import Auth, ConfigError, LogFormat, Settings
from ingest.formats import FORMATS

MINIMAL = {
    "OPENSEARCH_URL": "https://search-logs-abc.eu-west-1.es.amazonaws.com",
    "AWS_REGION": "eu-west-1",
    "DEAD_LETTER_BUCKET": "my-dead-letters",
}


def settings(**overrides: str | None) -> Settings:
    environ = {**MINIMAL, **overrides}
    return Settings.from_env({k: v for k, v in environ.items() if v is not None})


def problem(**overrides: str | None) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(**overrides)
    return str(caught.value)


def test_minimal_environment_gives_the_documented_defaults():
    s = settings()
    assert s == Settings(
        opensearch_url="https://search-logs-abc.eu-west-1.es.amazonaws.com",
        auth=Auth.SIGV4,
        service="es",
        region="eu-west-1",
        secret_id=None,
        timeout_seconds=30,
        index_prefixes={name: fmt.index_prefix for name, fmt in FORMATS.items()},
        bulk_max_bytes=5_242_880,
        bulk_max_docs=5000,
        bulk_compress_level=1,
        dead_letter_bucket="my-dead-letters",
        dead_letter_prefix="dead-letter/",
        include_raw_line=False,
        max_line_bytes=262_144,
        max_failure_share=0.5,
        log_format=LogFormat.AUTO,
        time_margin_seconds=20,
        log_level="INFO",
        metrics_namespace="AccessLogsToOpenSearch",
    )


def test_settings_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().bulk_max_docs = 1  # type: ignore[misc]


def test_every_variable_is_read_and_typed():
    s = settings(
        OPENSEARCH_AUTH="basic",
        OPENSEARCH_SECRET_ID="arn:aws:secretsmanager:eu-west-1:123456789012:secret:opensearch-AbCdEf",
        OPENSEARCH_SERVICE="aoss",
        OPENSEARCH_TIMEOUT_SECONDS="45",
        ALB_INDEX_PREFIX="prod-alb",
        S3_ACCESS_INDEX_PREFIX="prod-s3",
        BULK_MAX_BYTES="10485760",
        BULK_MAX_DOCS="2000",
        DEAD_LETTER_PREFIX="dl/",
        INCLUDE_RAW_LINE="TRUE",
        LOG_FORMAT="s3-access",
        TIME_MARGIN_SECONDS="30",
        LOG_LEVEL="debug",
        METRICS_NAMESPACE="Team/AccessLogs",
        MAX_LINE_BYTES="65536",
        MAX_FAILURE_SHARE="0.2",
        BULK_COMPRESS_LEVEL="6",
    )
    assert (s.max_line_bytes, s.max_failure_share, s.bulk_compress_level) == (65536, 0.2, 6)
    assert (s.auth, s.secret_id, s.service) == (
        "basic",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:opensearch-AbCdEf",
        "aoss",
    )
    assert (s.timeout_seconds, s.bulk_max_bytes, s.bulk_max_docs, s.time_margin_seconds) == (45, 10485760, 2000, 30)
    assert (s.index_prefixes["alb"], s.index_prefixes["s3-access"], s.dead_letter_prefix) == ("prod-alb", "prod-s3", "dl/")
    assert s.include_raw_line is True
    assert s.log_format is LogFormat.S3_ACCESS
    assert (s.log_level, s.metrics_namespace) == ("DEBUG", "Team/AccessLogs")


def test_enum_values_compare_equal_to_their_strings():
    assert settings(OPENSEARCH_AUTH="NONE", OPENSEARCH_URL="http://localhost:9200").auth == "none"


def test_empty_variables_count_as_unset():
    assert settings(LOG_FORMAT="", BULK_MAX_DOCS="  ").log_format is LogFormat.AUTO


def test_region_falls_back_to_aws_default_region():
    assert settings(AWS_REGION=None, AWS_DEFAULT_REGION="us-east-2", OPENSEARCH_URL="https://search.example.com",
                    OPENSEARCH_AUTH="sigv4").region == "us-east-2"


def test_trailing_slash_is_dropped_from_the_url():
    assert settings(OPENSEARCH_URL="https://search.example.com/",
                    OPENSEARCH_AUTH="sigv4").opensearch_url == "https://search.example.com"


# --- refusals --------------------------------------------------------------------------------------


def test_unknown_auth_names_the_variable_and_the_accepted_values():
    assert "OPENSEARCH_AUTH must be one of auto, sigv4, basic, none; got 'sigv5'" in problem(OPENSEARCH_AUTH="sigv5")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"OPENSEARCH_URL": None}, "OPENSEARCH_URL must be set"),
        ({"OPENSEARCH_URL": "http://search.example.com"}, "OPENSEARCH_URL must use https"),
        ({"OPENSEARCH_URL": "ftp://search.example.com"}, "OPENSEARCH_URL must start with https://"),
        ({"OPENSEARCH_URL": "search.example.com"}, "OPENSEARCH_URL must"),
        ({"OPENSEARCH_URL": "https://search.example.com/?pretty"}, "OPENSEARCH_URL must not have a query string"),
        ({"OPENSEARCH_URL": "https://search.example.com:99999"}, "OPENSEARCH_URL is not a valid URL"),
        ({"OPENSEARCH_SERVICE": "opensearch"}, "OPENSEARCH_SERVICE must be one of es, aoss; got 'opensearch'"),
        ({"AWS_REGION": None, "OPENSEARCH_URL": "https://search.example.com", "OPENSEARCH_AUTH": "sigv4"},
         "AWS_REGION (or AWS_DEFAULT_REGION) must be set for OPENSEARCH_AUTH=sigv4"),
        ({"OPENSEARCH_AUTH": "basic"}, "OPENSEARCH_SECRET_ID must name the Secrets Manager secret"),
        ({"BULK_MAX_BYTES": "0"}, "BULK_MAX_BYTES must be a whole number between 1 and 104857600; got '0'"),
        ({"BULK_MAX_BYTES": str(100 * 1024 * 1024 + 1)}, "BULK_MAX_BYTES must be a whole number between 1 and 104857600"),
        ({"BULK_MAX_BYTES": "5MB"}, "BULK_MAX_BYTES must be a whole number"),
        ({"BULK_MAX_DOCS": "-1"}, "BULK_MAX_DOCS must be a whole number at least 1; got '-1'"),
        ({"OPENSEARCH_TIMEOUT_SECONDS": "0"}, "OPENSEARCH_TIMEOUT_SECONDS must be a whole number between 1 and 900"),
        ({"TIME_MARGIN_SECONDS": "2.5"}, "TIME_MARGIN_SECONDS must be a whole number"),
        ({"INCLUDE_RAW_LINE": "maybe"}, "INCLUDE_RAW_LINE must be one of true, false"),
        ({"LOG_FORMAT": "cloudtrail"}, "LOG_FORMAT must be one of auto, " + ", ".join(FORMATS) + "; got 'cloudtrail'"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"),
        ({"DEAD_LETTER_BUCKET": None}, "DEAD_LETTER_BUCKET must be set"),
        ({"DEAD_LETTER_BUCKET": "arn:aws:s3:::my-dead-letters"}, "DEAD_LETTER_BUCKET must be a bucket name"),
        ({"DEAD_LETTER_BUCKET": "s3://my-dead-letters"}, "DEAD_LETTER_BUCKET must be a bucket name"),
        ({"DEAD_LETTER_PREFIX": "/dead/"}, "DEAD_LETTER_PREFIX must not start with '/'"),
        ({"ALB_INDEX_PREFIX": "ALB-Logs"}, "ALB_INDEX_PREFIX must be a valid OpenSearch index name prefix"),
        ({"S3_ACCESS_INDEX_PREFIX": "_s3"}, "S3_ACCESS_INDEX_PREFIX must be a valid OpenSearch index name prefix"),
        ({"ALB_INDEX_PREFIX": "alb logs"}, "ALB_INDEX_PREFIX must be a valid OpenSearch index name prefix"),
        ({"ALB_INDEX_PREFIX": "a" * 245}, "ALB_INDEX_PREFIX must be a valid OpenSearch index name prefix"),
        ({"METRICS_NAMESPACE": "AWS/Lambda"}, "METRICS_NAMESPACE must be 1-255 printable ASCII characters"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_the_variable(overrides, expected):
    assert expected in problem(**overrides)


def test_http_is_accepted_only_for_loopback_without_auth():
    for url in ("http://localhost:9200", "http://127.0.0.1:9200", "http://[::1]:9200"):
        assert settings(OPENSEARCH_URL=url, OPENSEARCH_AUTH="none").opensearch_url == url
    assert "must use https" in problem(OPENSEARCH_URL="http://localhost:9200", OPENSEARCH_AUTH="sigv4")
    assert "must use https" in problem(
        OPENSEARCH_URL="http://localhost:9200", OPENSEARCH_AUTH="basic", OPENSEARCH_SECRET_ID="s"
    )
    assert "must use https" in problem(OPENSEARCH_URL="http://10.0.0.5:9200", OPENSEARCH_AUTH="none")


@pytest.mark.parametrize("variable", ["OPENSEARCH_PASSWORD", "OPENSEARCH_USERNAME"])
def test_credentials_in_environment_variables_are_refused_pointing_to_the_secret(variable):
    message = problem(**{variable: "hunter2", "OPENSEARCH_AUTH": "basic", "OPENSEARCH_SECRET_ID": "opensearch"})
    assert f"{variable} must not be set" in message and "OPENSEARCH_SECRET_ID" in message
    assert "hunter2" not in message


def test_credentials_in_the_url_are_refused_without_echoing_them():
    message = problem(OPENSEARCH_URL="https://admin:hunter2@search.example.com")
    assert "OPENSEARCH_URL must not contain credentials" in message and "OPENSEARCH_SECRET_ID" in message
    assert "hunter2" not in message


def test_secret_id_is_ignored_unless_basic_auth():
    assert settings(OPENSEARCH_SECRET_ID="opensearch").secret_id is None


def test_dead_letter_bucket_is_optional_for_local_tools():
    environ = {k: v for k, v in MINIMAL.items() if k != "DEAD_LETTER_BUCKET"}
    assert Settings.from_env(environ, require_dead_letter=False).dead_letter_bucket is None


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        settings(OPENSEARCH_AUTH="sigv5", BULK_MAX_DOCS="lots", LOG_FORMAT="csv")
    assert [p.split(" ")[0] for p in caught.value.problems] == ["OPENSEARCH_AUTH", "BULK_MAX_DOCS", "LOG_FORMAT"]


def test_bulk_max_bytes_accepts_exactly_100_mib():
    assert settings(BULK_MAX_BYTES=str(100 * 1024 * 1024)).bulk_max_bytes == 104857600


# --- OPENSEARCH_AUTH=auto (the default, as on the command line and in the bootstrap) -----------------------


def test_auth_defaults_to_sigv4_for_an_amazon_opensearch_endpoint():
    assert settings(OPENSEARCH_AUTH=None).auth is Auth.SIGV4


def test_auth_defaults_to_none_for_a_local_cluster():
    s = settings(OPENSEARCH_AUTH=None, OPENSEARCH_URL="http://localhost:9200")
    assert (s.auth, s.opensearch_url) == (Auth.NONE, "http://localhost:9200")


def test_auth_auto_refuses_to_guess_for_any_other_host_naming_the_variable():
    message = problem(OPENSEARCH_AUTH="auto", OPENSEARCH_URL="https://search.example.com")
    assert "OPENSEARCH_AUTH=auto cannot tell how to authenticate to 'search.example.com'" in message
    assert "sigv4" in message and "basic" in message and "none" in message


def test_sigv4_region_and_service_come_from_the_endpoint_before_the_functions_own_region():
    s = settings(OPENSEARCH_URL="https://abc123.us-east-2.aoss.amazonaws.com", AWS_REGION="eu-west-1")
    assert (s.auth, s.region, s.service) == (Auth.SIGV4, "us-east-2", "aoss")
    assert settings(AWS_REGION=None, AWS_DEFAULT_REGION=None).region == "eu-west-1"  # from the host alone
    assert settings(OPENSEARCH_SERVICE="es",
                    OPENSEARCH_URL="https://abc123.us-east-2.aoss.amazonaws.com").service == "es"


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "half", "nan"])
def test_a_failure_share_outside_0_to_1_is_refused_naming_the_variable(raw):
    assert "MAX_FAILURE_SHARE must be a share from 0 to 1" in problem(MAX_FAILURE_SHARE=raw)


def test_a_max_line_bytes_below_1_is_refused():
    assert "MAX_LINE_BYTES must be a whole number" in problem(MAX_LINE_BYTES="0")
