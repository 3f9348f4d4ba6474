"""scripts/deploy.py: what it would do (dry run), how it merges bucket notifications, how it fails."""
from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "deploy.py"
spec = importlib.util.spec_from_file_location("deploy_script", SCRIPT)
deploy = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = deploy  # dataclasses look their module up while the class is built
spec.loader.exec_module(deploy)

ENDPOINT = "https://search-logs-abc.eu-west-1.es.amazonaws.com"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:access-logs-NotificationQueue-abc"


@pytest.fixture
def fake_zip(tmp_path) -> Path:
    path = tmp_path / "lambda.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ingest/__init__.py", "")
    return path


def refuse_sessions(**_):
    raise AssertionError("a dry run must not create an AWS session")


def dry_run(*extra: str, zip_path: Path | None = None) -> tuple[int, str]:
    out = io.StringIO()
    argv = ["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--log-bucket", "alb-logs",
            "--opensearch-url", ENDPOINT, "--domain-name", "logs", *extra]
    if zip_path:
        argv += ["--zip", str(zip_path)]
    args = deploy.parse_args(argv)
    deployer = deploy.Deployer(args, session_factory=refuse_sessions,
                               run=lambda argv: pytest.fail(f"dry run executed {argv}"), out=out)
    return deploy.deploy(args, deployer), out.getvalue()


# ----------------------------------------------------------------------------- dry run

def test_dry_run_prints_every_step_in_order_and_touches_nothing(fake_zip):
    code, output = dry_run("--bootstrap", zip_path=fake_zip)
    assert code == 0
    lines = output.splitlines()
    assert all(line.startswith("[dry-run]") for line in lines[:-1])
    steps = [next(i for i, line in enumerate(lines) if marker in line) for marker in (
        "s3.put_object(", "cloudformation.create_change_set(", "cloudformation.execute_change_set(",
        "s3.get_bucket_notification_configuration(", "s3.put_bucket_notification_configuration(",
        "bootstrap_opensearch.py")]
    assert steps == sorted(steps)
    assert lines[-1] == "dry run: nothing was changed"


def test_dry_run_uploads_the_zip_under_its_content_hash(fake_zip):
    _, output = dry_run(zip_path=fake_zip)
    key = deploy.code_key("access-logs-to-opensearch/", fake_zip.read_bytes())
    assert f"Key='{key}'" in output
    assert f'"ParameterKey": "CodeS3Key", "ParameterValue": "{key}"' in output


def test_dry_run_passes_the_deployment_choices_as_stack_parameters(fake_zip):
    _, output = dry_run("--arch", "x86_64", "--python", "3.12", "--parameter", "MemorySize=2048",
                        "--alarm-email", "ops@example.com", zip_path=fake_zip)
    change_set = next(line for line in output.splitlines() if "create_change_set(" in line)
    for name, value in {"Architecture": "x86_64", "Runtime": "python3.12", "MemorySize": "2048",
                        "OpenSearchUrl": ENDPOINT, "OpenSearchAuth": "sigv4", "OpenSearchDomainName": "logs",
                        "LogBucketName": "alb-logs", "AlarmEmail": "ops@example.com"}.items():
        assert f'"ParameterKey": "{name}", "ParameterValue": "{value}"' in change_set
    assert "CAPABILITY_IAM" in change_set


def test_dry_run_without_a_prebuilt_zip_shows_the_build_command():
    _, output = dry_run("--arch", "arm64", "--python", "3.13")
    assert "[dry-run] run: " in output and "build_zip.py --arch arm64 --python 3.13 --output" in output


def test_dry_run_bootstrap_calls_the_colleagues_script_with_sigv4_and_region(fake_zip):
    _, output = dry_run("--bootstrap", zip_path=fake_zip)
    command = next(line for line in output.splitlines() if "bootstrap_opensearch.py" in line)
    assert command.endswith(f"bootstrap_opensearch.py --opensearch-url {ENDPOINT} --auth sigv4 --region eu-west-1")


def test_code_only_dry_run_updates_just_the_function_code(fake_zip):
    _, output = dry_run("--code-only", zip_path=fake_zip)
    assert "lambda.update_function_code(FunctionName='access-logs-to-opensearch'" in output
    assert "cloudformation" not in output and "notification" not in output


def test_created_log_bucket_gets_its_notifications_from_the_stack_not_the_script(fake_zip):
    _, output = dry_run("--create-log-bucket", zip_path=fake_zip)
    assert "bucket_notification_configuration" not in output
    assert '"ParameterKey": "CreateLogBucket", "ParameterValue": "true"' in output


# ----------------------------------------------------------------------------- notifications on an existing bucket

def test_merge_keeps_other_subscribers_and_replaces_our_previous_entries():
    existing = {
        "ResponseMetadata": {"HTTPStatusCode": 200},
        "LambdaFunctionConfigurations": [{"Id": "thumbnails", "LambdaFunctionArn": "arn:aws:lambda:x", "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}}],
        "QueueConfigurations": [
            {"Id": "someone-else", "QueueArn": "arn:aws:sqs:eu-west-1:1:other", "Events": ["s3:ObjectRemoved:*"]},
            {"Id": "access-logs-to-opensearch-0", "QueueArn": QUEUE_ARN, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "old-prefix/"}]}}},
        ],
        "EventBridgeConfiguration": {},
    }
    merged = deploy.merge_notification_configuration(existing, QUEUE_ARN, ["AWSLogs/", "s3-access/"])
    assert "ResponseMetadata" not in merged
    assert merged["LambdaFunctionConfigurations"] == existing["LambdaFunctionConfigurations"]
    assert merged["EventBridgeConfiguration"] == {}
    ids = [c["Id"] for c in merged["QueueConfigurations"]]
    assert ids == ["someone-else", "access-logs-to-opensearch-0", "access-logs-to-opensearch-1"]
    ours = merged["QueueConfigurations"][1:]
    assert [c["Filter"]["Key"]["FilterRules"][0]["Value"] for c in ours] == ["AWSLogs/", "s3-access/"]
    assert all(c["Events"] == ["s3:ObjectCreated:*"] for c in ours)
    assert deploy.merge_notification_configuration(merged, QUEUE_ARN, ["AWSLogs/", "s3-access/"]) == merged


@mock_aws
def test_notifications_are_put_on_an_existing_bucket_without_dropping_its_other_notifications(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    s3 = boto3.client("s3", region_name="eu-west-1")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    s3.create_bucket(Bucket="alb-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    other = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="other")["QueueUrl"],
                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ours = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="ours")["QueueUrl"],
                                    AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket="alb-logs", NotificationConfiguration={"QueueConfigurations": [
        {"Id": "keep-me", "QueueArn": other, "Events": ["s3:ObjectRemoved:*"]}]})

    args = deploy.parse_args(["--code-bucket", "artifacts", "--log-bucket", "alb-logs", "--opensearch-url", ENDPOINT,
                              "--region", "eu-west-1"])
    deployer = deploy.Deployer(args, session_factory=lambda **kw: boto3.Session(**kw), out=io.StringIO())
    deployer.put_bucket_notifications(ours)

    configurations = s3.get_bucket_notification_configuration(Bucket="alb-logs")["QueueConfigurations"]
    by_id = {c["Id"]: c for c in configurations}
    assert set(by_id) == {"keep-me", "access-logs-to-opensearch-0"}
    assert by_id["access-logs-to-opensearch-0"]["QueueArn"] == ours
    assert by_id["access-logs-to-opensearch-0"]["Events"] == ["s3:ObjectCreated:*"]


# ----------------------------------------------------------------------------- refusing bad setups

@pytest.mark.parametrize("alb, s3_access, dead_letter", [
    ("logs/", "logs/s3/", "dead-letter/"),      # log prefixes overlap: S3 rejects the notifications
    ("", "", "dead-letter/"),                   # nothing to ingest
    ("logs/", "", "logs/dead-letter/"),         # dead letters would re-trigger the function
])
def test_overlapping_or_missing_prefixes_are_refused_before_anything_happens(alb, s3_access, dead_letter, fake_zip):
    with pytest.raises(deploy.DeployError):
        deploy.check_prefixes(alb, s3_access, dead_letter, same_bucket=True)


def test_missing_credentials_stop_the_deploy_with_a_clear_message_and_exit_code_2(tmp_path, fake_zip):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="eu-west-1")  # no instance-metadata lookups
    result = subprocess.run([sys.executable, str(SCRIPT), "--code-bucket", "artifacts", "--log-bucket", "alb-logs",
                             "--opensearch-url", ENDPOINT, "--zip", str(fake_zip)],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "no AWS credentials found" in result.stderr and "nothing was changed" in result.stderr


def test_opensearch_url_must_be_https(capsys):
    with pytest.raises(SystemExit):
        deploy.parse_args(["--code-bucket", "a", "--log-bucket", "b", "--opensearch-url", "http://plain:9200"])
    assert "must be https://" in capsys.readouterr().err


def test_update_keeps_previous_values_of_parameters_not_given_this_time():
    entries = deploy.change_set_parameters({"CodeS3Key": "new.zip"}, previous={"CodeS3Key", "MemorySize"})
    assert entries == [{"ParameterKey": "CodeS3Key", "ParameterValue": "new.zip"},
                       {"ParameterKey": "MemorySize", "UsePreviousValue": True}]


# ----------------------------------------------------------------------------- one architecture, checked

def zip_with_native(tmp_path: Path, machine: int) -> Path:
    """A zip whose ingest/_native.abi3.so is an ELF header for `machine` (62 x86_64, 183 aarch64)."""
    header = b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(44)
    path = tmp_path / f"lambda-{machine}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ingest/__init__.py", "")
        archive.writestr("ingest/_native.abi3.so", header)
    return path


def test_build_zip_deploy_and_template_default_to_the_same_architecture():
    build_zip_spec = importlib.util.spec_from_file_location("build_zip_for_defaults", REPO_ROOT / "scripts" / "build_zip.py")
    build_zip = importlib.util.module_from_spec(build_zip_spec)
    build_zip_spec.loader.exec_module(build_zip)
    from cfnlint.decode import decode

    template, _ = decode(str(REPO_ROOT / "infra" / "template.yaml"))
    deploy_arch = deploy.parse_args(["--code-bucket", "a", "--code-only"]).arch
    assert build_zip.parse_args([]).arch == deploy_arch == template["Parameters"]["Architecture"]["Default"]


@pytest.mark.parametrize("script", ["build_zip.py", "deploy.py"])
def test_help_shows_the_default_architecture(script):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / script), "--help"], capture_output=True,
                            text=True, check=True)
    assert "(default: arm64)" in " ".join(result.stdout.split())


def test_a_zip_built_for_another_architecture_is_refused_in_one_line_before_any_upload(tmp_path):
    x86_zip = zip_with_native(tmp_path, 62)
    with pytest.raises(deploy.DeployError) as raised:
        dry_run("--arch", "arm64", zip_path=x86_zip)
    message = str(raised.value)
    assert "native code for x86_64" in message and "not for --arch arm64" in message
    assert "build_zip.py --arch arm64" in message and "\n" not in message


def test_a_zip_built_for_the_functions_architecture_is_deployed(tmp_path):
    code, output = dry_run("--arch", "arm64", zip_path=zip_with_native(tmp_path, 183))
    assert code == 0 and "s3.put_object(" in output


def test_main_reports_a_wrong_architecture_zip_in_one_line_with_exit_2(tmp_path, capsys):
    code = deploy.main(["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--code-only",
                        "--arch", "x86_64", "--zip", str(zip_with_native(tmp_path, 183))],
                       session_factory=refuse_sessions)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("deploy: error: ") and "native code for arm64" in err


# ----------------------------------------------------------------------------- auth default

def test_auth_auto_means_sigv4_for_an_amazon_endpoint_and_a_created_domain():
    common = ["--code-bucket", "a", "--log-bucket", "b"]
    assert deploy.parse_args([*common, "--opensearch-url", ENDPOINT]).auth == "sigv4"
    assert deploy.parse_args([*common, "--create-domain"]).auth == "sigv4"


def test_auth_auto_refuses_to_guess_for_another_cluster(capsys):
    with pytest.raises(SystemExit) as raised:
        deploy.parse_args(["--code-bucket", "a", "--log-bucket", "b", "--opensearch-url", "https://search.example.com"])
    assert raised.value.code == 2
    assert "--auth basic --secret-name NAME" in capsys.readouterr().err


# ----------------------------------------------------------------------------- AdminCidr

@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "10.0.0.0/0", "1.0.0.0/7", "2001:db8::/32", "not-a-cidr"])
def test_an_admin_cidr_open_to_the_internet_is_refused_before_anything_happens(cidr, fake_zip):
    args, deployer = _dry_run_args("--parameter", f"AdminCidr={cidr}", zip_path=fake_zip)
    with pytest.raises(deploy.DeployError, match="AdminCidr"):
        deploy.deploy(args, deployer)
    assert deployer.out.getvalue() == ""  # not even a dry-run step was printed


def test_a_narrow_admin_cidr_is_passed_to_the_stack(fake_zip):
    _, output = dry_run("--parameter", "AdminCidr=203.0.113.0/24", zip_path=fake_zip)
    assert '"ParameterKey": "AdminCidr", "ParameterValue": "203.0.113.0/24"' in output


def _dry_run_args(*extra, zip_path):
    out = io.StringIO()
    argv = ["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--log-bucket", "alb-logs",
            "--opensearch-url", ENDPOINT, "--domain-name", "logs", "--zip", str(zip_path), *extra]
    args = deploy.parse_args(argv)
    deployer = deploy.Deployer(args, session_factory=refuse_sessions,
                               run=lambda argv: pytest.fail(f"dry run executed {argv}"), out=out)
    assert out.getvalue() == ""
    return args, deployer


# ----------------------------------------------------------------------------- AWS errors in one line

@mock_aws
def test_an_aws_api_error_is_one_line_naming_the_call_and_what_to_check(fake_zip, monkeypatch, capsys):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    code = deploy.main(["--region", "eu-west-1", "--code-bucket", "no-such-bucket", "--code-only", "--zip",
                        str(fake_zip)], session_factory=lambda **kw: boto3.Session(**kw))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("deploy: error: PutObject: NoSuchBucket")
