"""infra/template.yaml: valid CloudFormation (cfn-lint) and the security/delivery properties we promise."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from cfnlint import api as cfnlint_api
from cfnlint.decode import decode

from ingest.config import index_prefix_variable
from ingest.formats import FORMATS

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}
# Condition keys that narrow an otherwise anonymous principal to a known source.
NARROWING_CONDITION_KEYS = {"aws:sourceip", "aws:sourcearn", "aws:sourceaccount", "aws:sourcevpce", "aws:principalorgid"}


@pytest.fixture(scope="module")
def template() -> dict:
    decoded, problems = decode(str(TEMPLATE_PATH))
    assert not problems, problems
    return decoded


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


def variants(node):
    """Every concrete shape `node` can take, resolving each Fn::If both ways and dropping AWS::NoValue."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        _, when_true, when_false = node["Fn::If"]
        return variants(when_true) + variants(when_false)
    if isinstance(node, dict):
        keys = list(node)
        return [dict(zip(keys, combo)) for combo in itertools.product(*(variants(node[k]) for k in keys))]
    if isinstance(node, list):
        return [[item for item in combo if item != NO_VALUE] for combo in itertools.product(*(variants(i) for i in node))]
    return [node]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_documents(resources: dict) -> list[tuple[str, dict]]:
    """(where, document) for every IAM, queue, bucket and domain policy in the template."""
    found = []
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            found.append((f"{name}.AssumeRolePolicyDocument", properties["AssumeRolePolicyDocument"]))
            found += [(f"{name}.{p['PolicyName']}", p["PolicyDocument"]) for p in properties.get("Policies", [])]
        elif kind in {"AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"}:
            found.append((name, properties["PolicyDocument"]))
        elif kind == "AWS::OpenSearchService::Domain":
            found.append((f"{name}.AccessPolicies", properties["AccessPolicies"]))
    return found


def allow_statements(resources: dict) -> list[tuple[str, dict]]:
    statements = []
    for where, document in policy_documents(resources):
        for concrete in variants(document):
            statements += [(where, s) for s in as_list(concrete["Statement"]) if s["Effect"] == "Allow"]
    return statements


def wildcard_problems(statements: list[tuple[str, dict]]) -> list[str]:
    """What our policy rules forbid: wildcard actions, unscoped resources, unconditioned anonymous principals."""
    problems = []
    for where, statement in statements:
        sid = f"{where}/{statement.get('Sid', '?')}"
        for action in as_list(statement.get("Action", [])):
            if "*" in str(action):
                problems.append(f"{sid}: wildcard action {action}")
        if "NotAction" in statement:
            problems.append(f"{sid}: NotAction grants everything else")
        for resource in as_list(statement.get("Resource", [])):
            if resource == "*":
                problems.append(f"{sid}: Resource *")
        principal = statement.get("Principal")
        anonymous = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", [])))
        if anonymous:
            keys = {key.lower() for operator in statement.get("Condition", {}).values() for key in operator}
            if not keys & NARROWING_CONDITION_KEYS:
                problems.append(f"{sid}: wildcard principal without a source condition")
    return problems


def sub_text(value) -> str:
    """The format string of a Fn::Sub (either form), or a plain string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub[0] if isinstance(sub, list) else sub
    return value if isinstance(value, str) else repr(value)


def log_prefix_parameters(template: dict) -> list[str]:
    return [name for name in template["Parameters"] if name.endswith("LogPrefix")]


def index_prefix_parameter(resources: dict, format_name: str) -> str:
    """The parameter the function's <FORMAT>_INDEX_PREFIX variable is set from."""
    variables = resources["Function"]["Properties"]["Environment"]["Variables"]
    value = variables.get(index_prefix_variable(format_name))
    assert isinstance(value, dict) and set(value) == {"Ref"}, f"{index_prefix_variable(format_name)} is not wired"
    return value["Ref"]


def stack(template: dict, **values: str) -> dict:
    """The template's resources as CloudFormation would create them for these parameter values (defaults for
    the rest): conditions evaluated, each Fn::If resolved, AWS::NoValue dropped, resources whose condition is
    false left out. Refs to parameters, and ${Parameter} in a Fn::Sub string, become their values; pseudo
    parameters, Fn::GetAtt and other functions stay as written."""
    parameters = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    unknown = set(values) - set(parameters)
    assert not unknown, unknown
    parameters.update(values)

    def condition(name: str) -> bool:
        return truth(template["Conditions"][name])

    def truth(node) -> bool:
        (function, argument), = node.items()
        if function == "Condition":
            return condition(argument)
        if function == "Fn::Equals":
            return resolve(argument[0]) == resolve(argument[1])
        if function == "Fn::Not":
            return not truth(argument[0])
        if function == "Fn::And":
            return all(truth(a) for a in argument)
        if function == "Fn::Or":
            return any(truth(a) for a in argument)
        if function == "Fn::Select":  # only the GeoIP conditions use it; they are false with the defaults
            return bool(resolve(node))
        raise AssertionError(f"unknown condition function {function}")

    def resolve(node):
        if isinstance(node, dict) and set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return resolve(when_true if condition(name) else when_false)
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in parameters:
            return parameters[node["Ref"]]
        if isinstance(node, dict) and set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            return {"Fn::Sub": re.sub(r"\$\{(\w+)\}", lambda m: parameters.get(m.group(1), m.group(0)), node["Fn::Sub"])}
        if isinstance(node, dict):
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolved for resolved in (resolve(item) for item in node) if resolved != NO_VALUE]
        return node

    return {name: resolve(resource) for name, resource in template["Resources"].items()
            if "Condition" not in resource or condition(resource["Condition"])}


def queue_prefixes(created: dict) -> list[str]:
    configurations = created["LogBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    return [c["Filter"]["S3Key"]["Rules"][0]["Value"] for c in configurations]


def bucket_policy_allows(created: dict) -> list[dict]:
    return [s for s in created["LogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]


def role_statements(resources: dict, sid: str) -> list[dict]:
    policy = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    return [s for concrete in variants(policy) for s in concrete["Statement"] if s.get("Sid") == sid]


# ----------------------------------------------------------------------------- cfn-lint

def test_template_passes_cfn_lint_including_informational_checks():
    matches = cfnlint_api.lint_file(TEMPLATE_PATH, config=cfnlint_api.ManualArgs(include_checks=["I"]))
    assert [str(m) for m in matches] == []


def test_cfn_lint_harness_reports_a_broken_template(tmp_path):
    # Guards the test above against passing vacuously (e.g. linting nothing).
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE_PATH.read_text().replace("Type: AWS::SQS::Queue", "Type: AWS::SQS::Queu", 1))
    assert cfnlint_api.lint_file(broken)


# ----------------------------------------------------------------------------- least privilege

def test_no_allow_statement_has_a_wildcard_action_resource_or_unconditioned_anonymous_principal(resources):
    statements = allow_statements(resources)
    assert len(statements) > 10  # every policy was found, in every Fn::If branch
    assert wildcard_problems(statements) == []


def test_wildcard_checker_flags_each_kind_of_overly_broad_statement():
    bad = [
        ("p", {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}),
        ("p", {"Effect": "Allow", "Action": ["*"], "Resource": "arn:aws:s3:::b/*"}),
        ("p", {"Effect": "Allow", "Action": "es:ESHttp*", "Resource": "arn:aws:es:r:1:domain/d/*"}),
        ("p", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        ("p", {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttpGet", "Resource": "x"}),
        ("p", {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "x"}),
    ]
    assert len(wildcard_problems(bad)) == len(bad)


def test_function_reads_only_objects_under_the_configured_log_prefixes(template, resources):
    prefixes = log_prefix_parameters(template)
    assert prefixes == ["AlbLogPrefix", "NlbLogPrefix", "S3AccessLogPrefix", "CloudFrontLogPrefix"]
    statements = role_statements(resources, "ReadLogObjects")
    assert statements and all(s["Action"] == "s3:GetObject" for s in statements)
    granted = set()
    for statement in statements:
        # With every prefix empty the list is empty (grants nothing); the AtLeastOneLogSource rule forbids that.
        for resource in as_list(statement["Resource"]):
            match = re.fullmatch(r"arn:\$\{AWS::Partition\}:s3:::\$\{LogBucketName\}/\$\{(\w+)\}\*", sub_text(resource))
            assert match and match.group(1) in prefixes, resource
            granted.add(match.group(1))
    assert granted == set(prefixes)
    # An empty prefix disables that source entirely rather than granting bucket/*.
    conditions = [c["Fn::If"][0] for c in resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
                  ["Statement"][2]["Resource"]]
    assert conditions == ["HasAlbPrefix", "HasSeparateNlbPrefix", "HasS3AccessPrefix", "HasCloudFrontPrefix"]


def test_at_least_one_log_source_is_required_and_every_log_prefix_counts(template):
    (assertion,) = template["Rules"]["AtLeastOneLogSource"]["Assertions"]
    all_empty = assertion["Assert"]["Fn::Not"][0]["Fn::And"]
    assert all_empty == [{"Fn::Equals": [{"Ref": name}, ""]} for name in log_prefix_parameters(template)]


@pytest.mark.parametrize("values, readable", [
    ({"AlbLogPrefix": "AWSLogs/", "NlbLogPrefix": "AWSLogs/"}, ["AWSLogs/"]),
    ({"AlbLogPrefix": "alb/AWSLogs/", "NlbLogPrefix": "nlb/AWSLogs/", "S3AccessLogPrefix": "s3/",
      "CloudFrontLogPrefix": "cloudfront/"}, ["alb/AWSLogs/", "nlb/AWSLogs/", "s3/", "cloudfront/"]),
    ({"AlbLogPrefix": "", "NlbLogPrefix": "AWSLogs/"}, ["AWSLogs/"]),
    ({"AlbLogPrefix": "", "CloudFrontLogPrefix": "cf-"}, ["cf-"]),
])
def test_function_reads_each_distinct_log_prefix_once(template, values, readable):
    policy = stack(template, LogBucketName="my-logs", **values)["FunctionRole"]["Properties"]["Policies"][0]
    (statement,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "ReadLogObjects"]
    assert [sub_text(r) for r in statement["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::my-logs/{prefix}*" for prefix in readable]


def test_function_writes_only_under_the_dead_letter_prefix(resources):
    writes = [s for concrete in variants(resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"])
              for s in concrete["Statement"] if "s3:PutObject" in as_list(s["Action"])]
    assert writes
    for statement in writes:
        assert as_list(statement["Action"]) == ["s3:PutObject"]
        assert sub_text(statement["Resource"]).endswith("/${DeadLetterPrefix}*")


def what_the_shipper_sends() -> set[tuple[str, str]]:
    """(HTTP method, path) of every request OpenSearchSink makes, seen by a local server."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from ingest.shipper import OpenSearchSink
    from ingest.sinks import BulkItem

    seen = set()

    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.add((self.command, self.path.split("?")[0]))
            body = json.dumps({"errors": False, "items": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        items = [BulkItem(f'{{"index":{{"_index":"{fmt.index_prefix}-2026.11.25","_id":"x"}}}}\n{{}}\n'.encode(), 1, "raw")
                 for fmt in FORMATS.values()]
        sink = OpenSearchSink(f"http://127.0.0.1:{server.server_address[1]}", None)
        sink.send(items, float("inf"))
        sink.close()
    finally:
        server.shutdown()
        server.server_close()
    return seen


def test_every_formats_index_prefix_setting_comes_from_a_parameter_defaulting_to_the_functions_own(template,
                                                                                                     resources):
    # A format added to ingest.formats.FORMATS fails here until the template passes its <FORMAT>_INDEX_PREFIX.
    for name, fmt in FORMATS.items():
        parameter = template["Parameters"][index_prefix_parameter(resources, name)]
        assert parameter["Default"] == fmt.index_prefix
        assert re.fullmatch(parameter["AllowedPattern"], fmt.index_prefix)
        assert not re.search(parameter["AllowedPattern"], "Upper-Case") and not re.search(
            parameter["AllowedPattern"], "-leading-dash")


def test_opensearch_permissions_are_exactly_the_verbs_the_shipper_sends_on_bulk_and_every_formats_indices(resources):
    # Failure records are indexed into the same <prefix>-YYYY.MM.DD indices as the documents (ingest/bulk.py);
    # the function writes no other index.
    sent = what_the_shipper_sends()
    assert sent == {("POST", "/_bulk")}
    verbs = sorted({f"es:ESHttp{method.title()}" for method, _ in sent})
    statements = role_statements(resources, "BulkIndexIntoLogIndices")
    assert statements
    for statement in statements:
        assert sorted(as_list(statement["Action"])) == verbs
        paths = [sub_text(r).split(":domain/${OpenSearchDomainName}/")[1] for r in statement["Resource"]]
        assert paths == ["_bulk"] + [f"${{{index_prefix_parameter(resources, name)}}}-*" for name in FORMATS]


def test_created_domains_access_policy_grants_the_function_no_more_than_its_own_iam_policy(resources):
    iam = role_statements(resources, "BulkIndexIntoLogIndices")[0]
    domain = next(s for s in resources["Domain"]["Properties"]["AccessPolicies"]["Statement"]
                  if s.get("Sid") == "FunctionRoleIndexes")
    assert domain["Principal"] == {"AWS": {"Fn::GetAtt": ["FunctionRole", "Arn"]}}
    assert sorted(as_list(domain["Action"])) == sorted(as_list(iam["Action"]))
    assert [sub_text(r) for r in as_list(domain["Resource"])] == [sub_text(r) for r in as_list(iam["Resource"])]


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "10.0.0.0/0", "1.2.3.4/4", "0.0.0.0/7", "999.1.1.1/24",
                                  "10.0.0.0/33", "10.0.0.0"])
def test_admin_cidr_refuses_the_whole_internet_and_anything_wider_than_a_slash_8(template, cidr):
    pattern = template["Parameters"]["AdminCidr"]["AllowedPattern"]
    assert not re.fullmatch(pattern, cidr)


@pytest.mark.parametrize("cidr", ["", "203.0.113.0/24", "198.51.100.7/32", "10.0.0.0/8"])
def test_admin_cidr_accepts_a_narrow_ipv4_range_or_nothing(template, cidr):
    pattern = template["Parameters"]["AdminCidr"]["AllowedPattern"]
    assert re.fullmatch(pattern, cidr)


def test_secret_is_readable_only_with_basic_auth_and_only_that_secret(resources):
    policy = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    secret_statement = next(s for s in policy["Statement"]
                            if "Fn::If" in s and s["Fn::If"][1].get("Sid") == "ReadOpenSearchCredentials")
    assert secret_statement["Fn::If"][0] == "UseBasicAuth"
    granted = secret_statement["Fn::If"][1]
    assert granted["Action"] == "secretsmanager:GetSecretValue"
    assert sub_text(granted["Resource"]).endswith(":secret:${OpenSearchSecretName}-??????")


def test_function_consumes_only_its_own_queue(resources):
    (statement,) = role_statements(resources, "ConsumeNotificationQueue")[:1]
    assert statement["Resource"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
    assert not any(a in statement["Action"] for a in ("sqs:SendMessage", "sqs:PurgeQueue", "sqs:DeleteQueue"))


def test_function_may_send_only_to_its_own_queue_to_hand_on_the_rest_of_an_object(resources):
    sends = [s for concrete in variants(resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"])
             for s in concrete["Statement"] if "sqs:SendMessage" in as_list(s["Action"])]
    assert sends and all(s["Sid"] == "ContinueOnNotificationQueue" for s in sends)
    assert all(as_list(s["Action"]) == ["sqs:SendMessage"] for s in sends)
    assert all(s["Resource"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]} for s in sends)
    function = resources["Function"]["Properties"]
    assert function["Environment"]["Variables"]["CONTINUE_QUEUE_URL"] == {"Ref": "NotificationQueue"}
    assert function["RecursiveLoop"] == "Allow"  # continuations are a loop by design; each one advances


def test_queue_accepts_messages_only_from_s3_for_the_log_bucket_in_this_account(resources):
    (statement,) = resources["NotificationQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert sub_text(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == "arn:${AWS::Partition}:s3:::${LogBucketName}"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


# ----------------------------------------------------------------------------- delivery

def test_queue_visibility_timeout_is_at_least_six_times_every_allowed_function_timeout(template, resources):
    queue = resources["NotificationQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {"Fn::FindInMap": ["Timeouts", {"Ref": "FunctionTimeout"}, "VisibilityTimeout"]}
    assert resources["Function"]["Properties"]["Timeout"] == {"Ref": "FunctionTimeout"}
    allowed = template["Parameters"]["FunctionTimeout"]["AllowedValues"]
    assert template["Parameters"]["FunctionTimeout"]["Default"] in allowed
    for timeout in allowed:
        assert template["Mappings"]["Timeouts"][timeout]["VisibilityTimeout"] >= 6 * int(timeout)


def test_queue_redrives_to_a_dead_letter_queue(resources):
    redrive = resources["NotificationQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert resources["DeadLetterQueue"]["DeletionPolicy"] == "Retain"


def test_event_source_mapping_reports_batch_item_failures_with_parameterised_batching(resources):
    mapping = resources["QueueEventSource"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
    assert mapping["BatchSize"] == {"Ref": "BatchSize"}
    assert mapping["MaximumBatchingWindowInSeconds"] == {"Ref": "MaximumBatchingWindowSeconds"}
    function = resources["Function"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert function["Runtime"] == {"Ref": "Runtime"}


def test_new_bucket_sends_every_object_created_event_type_for_each_prefix(template, resources):
    bucket = resources["LogBucket"]
    configurations = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    shapes = [c for concrete in variants(configurations) for c in concrete]
    assert {c["Filter"]["S3Key"]["Rules"][0]["Value"]["Ref"] for c in shapes} == set(log_prefix_parameters(template))
    assert all(c["Event"] == "s3:ObjectCreated:*" for c in shapes)
    assert bucket["DependsOn"] == "NotificationQueuePolicy"


# Where AWS writes (docs/log-formats.md): every load balancer under <prefix>AWSLogs/<account>/elasticloadbalancing/,
# S3 server access logs under the TargetPrefix, CloudFront under its own log prefix. S3 refuses a notification
# configuration whose prefixes overlap for the same event, so equal load balancer prefixes must give one entry.
@pytest.mark.parametrize("values, notified", [
    ({}, ["AWSLogs/"]),
    ({"NlbLogPrefix": "AWSLogs/"}, ["AWSLogs/"]),
    ({"NlbLogPrefix": "nlb/AWSLogs/"}, ["AWSLogs/", "nlb/AWSLogs/"]),
    ({"AlbLogPrefix": "", "NlbLogPrefix": "AWSLogs/"}, ["AWSLogs/"]),
    ({"AlbLogPrefix": "lb/AWSLogs/", "NlbLogPrefix": "lb/AWSLogs/", "S3AccessLogPrefix": "s3-access/",
      "CloudFrontLogPrefix": "cloudfront/"}, ["lb/AWSLogs/", "s3-access/", "cloudfront/"]),
    ({"AlbLogPrefix": "", "CloudFrontLogPrefix": "cloudfront/"}, ["cloudfront/"]),
])
def test_new_bucket_notifies_each_distinct_prefix_once_and_none_overlap(template, values, notified):
    created = stack(template, LogBucketName="my-logs", CreateLogBucket="true", **values)
    prefixes = queue_prefixes(created)
    assert prefixes == notified
    assert not [(a, b) for a, b in itertools.permutations(prefixes, 2) if a.startswith(b)]


@pytest.mark.parametrize("prefix, allowed", [
    ("AWSLogs/", True), ("my-lb/AWSLogs/", True), ("a/b/AWSLogs/", True), ("", True),
    ("my-lb/", False), ("AWSLogs", False), ("AWSLogs/123456789012/", False), ("x/AWSLogs/*", False),
])
def test_load_balancer_prefixes_end_where_aws_appends_its_awslogs_folder(template, prefix, allowed):
    for name in ("AlbLogPrefix", "NlbLogPrefix"):
        assert bool(re.fullmatch(template["Parameters"][name]["AllowedPattern"], prefix)) is allowed


# ----------------------------------------------------------------------------- log delivery into a created bucket

ALL_LOGS = {"AlbLogPrefix": "alb/AWSLogs/", "NlbLogPrefix": "nlb/AWSLogs/", "S3AccessLogPrefix": "s3-access/",
            "CloudFrontLogPrefix": "cloudfront/"}
ELB_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
LOG_DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"


def grants_by_sid(created: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in bucket_policy_allows(created)}


@pytest.mark.parametrize("delivery", ["v2", "legacy"])
def test_created_bucket_lets_each_delivery_service_write_only_under_its_prefix(template, delivery):
    created = stack(template, LogBucketName="my-logs", CreateLogBucket="true", CloudFrontLogDelivery=delivery,
                    **ALL_LOGS)
    grants = grants_by_sid(created)
    writes = {sid: (s["Principal"], sub_text(s["Resource"])) for sid, s in grants.items() if s["Action"] == "s3:PutObject"}
    expected = {
        # ALB access, connection and health-check logs and Classic logs: Elastic Load Balancing's principal.
        "ElbLogDelivery": ({"Service": ELB_PRINCIPAL}, "${LogBucket.Arn}/alb/AWSLogs/${AWS::AccountId}/*"),
        # NLB access logs: the log delivery service.
        "NlbLogDeliveryWrite": ({"Service": LOG_DELIVERY_PRINCIPAL}, "${LogBucket.Arn}/nlb/AWSLogs/${AWS::AccountId}/*"),
        "S3ServerAccessLogDelivery": ({"Service": "logging.s3.amazonaws.com"}, "${LogBucket.Arn}/s3-access/*"),
    }
    if delivery == "v2":
        expected["CloudFrontLogDeliveryWrite"] = ({"Service": LOG_DELIVERY_PRINCIPAL}, "${LogBucket.Arn}/cloudfront/*")
    assert writes == expected
    # Bucket-level: only the ACL check the log delivery service makes before writing.
    acl_checks = {sid for sid, s in grants.items() if s["Action"] == "s3:GetBucketAcl"}
    assert acl_checks == ({"NlbLogDeliveryAclCheck", "CloudFrontLogDeliveryAclCheck"} if delivery == "v2"
                          else {"NlbLogDeliveryAclCheck"})
    assert all(grants[sid]["Resource"] == {"Fn::GetAtt": ["LogBucket", "Arn"]} for sid in acl_checks)
    assert set(grants) == set(writes) | acl_checks


def test_log_delivery_service_grants_are_limited_to_this_accounts_deliveries_as_aws_documents(template):
    grants = grants_by_sid(stack(template, LogBucketName="my-logs", CreateLogBucket="true", **ALL_LOGS))
    # NLB: the log delivery of the load balancer's Region (the bucket's); CloudFront: its deliveries live in us-east-1.
    regions = {"NlbLogDeliveryAclCheck": "${AWS::Region}", "NlbLogDeliveryWrite": "${AWS::Region}",
               "CloudFrontLogDeliveryAclCheck": "us-east-1", "CloudFrontLogDeliveryWrite": "us-east-1"}
    for sid, region in regions.items():
        condition = grants[sid]["Condition"]
        assert condition["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}, sid
        assert sub_text(condition["ArnLike"]["aws:SourceArn"]) == (
            f"arn:${{AWS::Partition}}:logs:{region}:${{AWS::AccountId}}:*"), sid
        if grants[sid]["Action"] == "s3:PutObject":
            assert condition["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control", sid
    assert grants["S3ServerAccessLogDelivery"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_regional_elb_account_is_added_only_when_given(template):
    with_account = grants_by_sid(stack(template, LogBucketName="my-logs", CreateLogBucket="true",
                                       ElbAccountId="127311923021"))["ElbLogDelivery"]
    assert with_account["Principal"] == {
        "Service": ELB_PRINCIPAL, "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::127311923021:root"}}


@pytest.mark.parametrize("values, sids", [
    ({}, {"ElbLogDelivery"}),
    ({"AlbLogPrefix": "", "S3AccessLogPrefix": "s3/"}, {"S3ServerAccessLogDelivery"}),
    ({"NlbLogPrefix": "AWSLogs/"}, {"ElbLogDelivery", "NlbLogDeliveryAclCheck", "NlbLogDeliveryWrite"}),
    ({"AlbLogPrefix": "", "CloudFrontLogPrefix": "cf/"}, {"CloudFrontLogDeliveryAclCheck", "CloudFrontLogDeliveryWrite"}),
    ({"AlbLogPrefix": "", "CloudFrontLogPrefix": "cf/", "CloudFrontLogDelivery": "legacy"}, set()),
])
def test_created_bucket_allows_only_the_deliveries_of_the_configured_logs(template, values, sids):
    assert set(grants_by_sid(stack(template, LogBucketName="my-logs", CreateLogBucket="true", **values))) == sids


@pytest.mark.parametrize("values, ownership", [
    ({}, "BucketOwnerEnforced"),
    ({"CloudFrontLogPrefix": "cf/"}, "BucketOwnerEnforced"),  # v2 writes with bucket-owner-full-control
    ({"CloudFrontLogPrefix": "cf/", "CloudFrontLogDelivery": "legacy"}, "BucketOwnerPreferred"),
    ({"CloudFrontLogDelivery": "legacy"}, "BucketOwnerEnforced"),  # no CloudFront logs: no ACLs
])
def test_created_bucket_enables_acls_only_for_cloudfront_legacy_logging(template, values, ownership):
    bucket = stack(template, LogBucketName="my-logs", CreateLogBucket="true", **values)["LogBucket"]["Properties"]
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": ownership}]}
    assert all(bucket["PublicAccessBlockConfiguration"].values())  # ACLs, when enabled, can still never be public


def test_function_environment_follows_the_configuration_contract(resources):
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", (REPO_ROOT / "docs" / "configuration.md").read_text(), re.M))
    function = resources["Function"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert set(variables) <= documented, set(variables) - documented
    assert {"OPENSEARCH_URL", "OPENSEARCH_AUTH", "DEAD_LETTER_BUCKET", "DEAD_LETTER_PREFIX"} <= set(variables)
    assert not any(re.search(r"PASSWORD|TOKEN|SECRET_VALUE", name) for name in variables)
    assert function["Handler"] == "ingest.handler.lambda_handler"
    assert function["Code"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}}


def test_log_group_has_retention_and_is_the_functions_default_group(resources):
    group = resources["FunctionLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert sub_text(group["LogGroupName"]) == "/aws/lambda/${FunctionName}"
    assert resources["Function"]["DependsOn"] == "FunctionLogGroup"


def test_alarms_watch_dead_letter_depth_errors_and_throttles_and_notify_the_optional_topic(resources):
    alarms = {r["Properties"]["MetricName"]: r["Properties"] for r in resources.values()
              if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"ApproximateNumberOfMessagesVisible", "Errors", "Throttles"}
    assert alarms["ApproximateNumberOfMessagesVisible"]["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], NO_VALUE]}
    assert resources["AlarmTopic"]["Condition"] == "HasAlarmEmail"


def test_created_domain_is_encrypted_https_only_with_fine_grained_access_from_a_generated_secret(resources):
    domain = resources["Domain"]
    assert domain["Condition"] == "CreateDomain"
    properties = domain["Properties"]
    assert properties["EncryptionAtRestOptions"] == {"Enabled": True}
    assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert properties["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    security = properties["AdvancedSecurityOptions"]
    assert security["Enabled"] is True
    password = sub_text(security["MasterUserOptions"]["MasterUserPassword"])
    assert password == "{{resolve:secretsmanager:${MasterUserSecret}:SecretString:password}}"
    assert "GenerateSecretString" in resources["MasterUserSecret"]["Properties"]
    first = properties["AccessPolicies"]["Statement"][0]
    assert first["Principal"] == {"AWS": {"Fn::GetAtt": ["FunctionRole", "Arn"]}}


def test_geoip_databases_on_s3_are_readable_object_by_object_and_nothing_else(template, resources):
    statements = role_statements(resources, "ReadGeoIpDatabases")
    assert statements and {s["Action"] for s in statements} == {"s3:GetObject"} and all(
        s["Effect"] == "Allow" for s in statements)
    objects = {(sub_text(r), r["Fn::Sub"][1]["Object"]["Fn::Select"][1]["Fn::Split"][1]["Fn::Sub"])
               for s in statements for r in s["Resource"]}
    assert objects == {("arn:${AWS::Partition}:s3:::${Object}", "${GeoIpCityDb}s3://"),
                       ("arn:${AWS::Partition}:s3:::${Object}", "${GeoIpAsnDb}s3://")}
    conditions = template["Conditions"]
    assert conditions["GeoIpDbOnS3"] == {"Fn::Or": [{"Condition": "CityDbOnS3"}, {"Condition": "AsnDbOnS3"}]}


def test_enrichment_parameters_reach_the_function_and_a_layer_is_optional(template, resources):
    function = resources["Function"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert variables["GEOIP_CITY_DB"] == {"Ref": "GeoIpCityDb"}
    assert variables["GEOIP_ASN_DB"] == {"Ref": "GeoIpAsnDb"}
    assert variables["USER_AGENT_PARSING"] == {"Ref": "UserAgentParsing"}
    assert function["Layers"] == {"Fn::If": ["HasGeoIpLayer", [{"Ref": "GeoIpLayerArn"}], NO_VALUE]}
    parameters = template["Parameters"]
    assert parameters["UserAgentParsing"]["Default"] == "false"
    for name in ("GeoIpCityDb", "GeoIpAsnDb"):
        pattern = re.compile(parameters[name]["AllowedPattern"])
        assert parameters[name]["Default"] == ""
        assert all(pattern.match(v) for v in ("", "/opt/GeoLite2-City.mmdb", "s3://geo-data/GeoLite2-ASN.mmdb"))
        assert not any(pattern.match(v) for v in ("GeoLite2.mmdb", "s3://geo-data", "https://x/y.mmdb"))
