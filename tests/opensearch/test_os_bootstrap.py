"""scripts/bootstrap_opensearch.py at the HTTP level: a loopback server records what the script
sends and answers the way OpenSearch and Dashboards do (including their failure shapes)."""
from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws
from requests.structures import CaseInsensitiveDict

import os_asset_checks as assets

bootstrap = assets.import_path("bootstrap_opensearch", assets.REPO / "scripts" / "bootstrap_opensearch.py")

COMPONENTS = sorted(p.stem for p in assets.COMPONENT_DIR.glob("*.json"))


class Recorded:
    def __init__(self, method, path, headers, body):
        self.method, self.body = method, body
        self.headers = CaseInsensitiveDict(headers)  # HTTP header names are case-insensitive
        parts = urlsplit(path)
        self.path, self.query = parts.path, parse_qs(parts.query)

    def json(self):
        return json.loads(self.body)

    def multipart(self) -> dict[str, tuple[str, bytes]]:
        """{field name: (filename, content)} of a multipart/form-data body."""
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        return {part.get_param("name", header="content-disposition"):
                (part.get_filename(), part.get_payload(decode=True)) for part in message.iter_parts()}


def import_count(req: Recorded) -> int:
    _, content = req.multipart()["file"]
    return len([line for line in content.splitlines() if line.strip()])


def cluster_responses(req: Recorded):
    """A cluster with nothing installed yet, and Dashboards that imports whatever it is given."""
    if req.method == "PUT" and req.path.startswith(("/_component_template/", "/_index_template/")):
        return 200, {"acknowledged": True}
    if req.method == "GET" and req.path.startswith("/_plugins/_ism/policies/"):
        return 404, {"error": {"type": "status_exception", "reason": "Policy not found"}, "status": 404}
    if req.method == "PUT" and req.path.startswith("/_plugins/_ism/policies/"):
        policy_id = req.path.rsplit("/", 1)[1]
        return (200 if "if_seq_no" in req.query else 201), {"_id": policy_id, "_version": 1, "_seq_no": 0,
                                                             "_primary_term": 1, "policy": req.json()}
    if req.method == "POST" and req.path == "/_dashboards/api/saved_objects/_import":
        n = import_count(req)
        return 200, {"successCount": n, "success": True,
                     "successResults": [{"type": "x", "id": str(i), "meta": {}} for i in range(n)]}
    return 400, {"error": f"unexpected {req.method} {req.path}"}


class Server:
    """Records requests; `respond(recorded) -> (status, json)` decides the answer."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self.respond = cluster_responses
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                req = Recorded(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                outer.requests.append(req)
                status, payload = outer.respond(req)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = handle_one

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def find(self, method, path) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]


@pytest.fixture
def server():
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def run(server, *extra, **kwargs) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--opensearch-url", server.url, "--dashboards-url", f"{server.url}/_dashboards", "--auth", "none", *extra]
    code = bootstrap.main(argv, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


# Every format's index template and retention policy, in FORMATS order; one import per dashboard file.
DASHBOARD_FILES = [p for p in (assets.DASHBOARDS_DIR / f"{family}.ndjson" for family in assets.FAMILIES) if p.exists()]
EXPECTED_CALLS = (
    [("PUT", f"/_component_template/{c}") for c in COMPONENTS]
    + [("PUT", f"/_index_template/{family}") for family in assets.FAMILIES]
    + [call for family in assets.FAMILIES
       for call in (("GET", f"/_plugins/_ism/policies/{family}-retention"),
                    ("PUT", f"/_plugins/_ism/policies/{family}-retention"))]
    + [("POST", "/_dashboards/api/saved_objects/_import")] * len(DASHBOARD_FILES)
)


def test_installs_components_then_index_templates_then_ism_then_saved_objects(server):
    code, out, err = run(server)
    assert (code, err) == (0, "")
    assert server.calls() == EXPECTED_CALLS
    assert out.count("[ok]") == len(COMPONENTS) + 2 * len(assets.FAMILIES) + len(DASHBOARD_FILES)


def test_template_and_policy_bodies_are_the_committed_assets_as_json(server):
    run(server)
    for name in COMPONENTS:
        (req,) = server.find("PUT", f"/_component_template/{name}")
        assert req.headers["Content-Type"] == "application/json"
        assert req.json() == assets.load_json(assets.COMPONENT_DIR / f"{name}.json")
    for name in assets.FAMILIES:
        (req,) = server.find("PUT", f"/_index_template/{name}")
        assert req.json() == assets.load_json(assets.INDEX_TEMPLATE_DIR / f"{name}.json")
        (req,) = server.find("PUT", f"/_plugins/_ism/policies/{name}-retention")
        assert req.json() == assets.load_json(assets.ISM_DIR / f"{name}-retention.json")
        assert req.query == {}, "a new policy is created without if_seq_no"


def test_saved_objects_go_as_multipart_ndjson_with_xsrf_and_tenant_headers(server):
    code, _, _ = run(server, "--tenant", "analysts")
    assert code == 0
    imports = server.find("POST", "/_dashboards/api/saved_objects/_import")
    sent = {}
    for req in imports:
        assert req.query == {"overwrite": ["true"]}
        assert req.headers["osd-xsrf"] == "true"
        assert "kbn-xsrf" not in req.headers
        assert req.headers["securitytenant"] == "analysts"
        assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        parts = req.multipart()
        assert list(parts) == ["file"]
        filename, content = parts["file"]
        assert filename.endswith(".ndjson")
        sent[filename] = [json.loads(line) for line in content.splitlines()]
    for path in assets.DASHBOARDS_DIR.glob("*.ndjson"):
        committed = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        assert sent[path.name] == committed


def test_default_tenant_is_global_and_an_empty_tenant_sends_no_header(server):
    run(server)
    assert {r.headers["securitytenant"] for r in server.find("POST", "/_dashboards/api/saved_objects/_import")} \
        == {"global"}
    server.requests.clear()
    run(server, "--tenant", "")
    assert all("securitytenant" not in r.headers for r in server.requests)


def test_existing_policy_is_updated_with_its_seq_no_and_primary_term(server):
    def existing_policies(req):
        if req.method == "GET" and req.path.startswith("/_plugins/_ism/policies/"):
            return 200, {"_id": req.path.rsplit("/", 1)[1], "_version": 3, "_seq_no": 17, "_primary_term": 2,
                         "policy": {"description": "old"}}
        if req.method == "PUT" and req.path.startswith("/_plugins/_ism/policies/") and "if_seq_no" not in req.query:
            return 409, {"error": {"type": "version_conflict_engine_exception"}, "status": 409}
        return cluster_responses(req)

    server.respond = existing_policies
    code, out, err = run(server)
    assert (code, err) == (0, "")
    puts = [r for r in server.requests if r.method == "PUT" and r.path.startswith("/_plugins/_ism/policies/")]
    assert len(puts) == len(assets.FAMILIES)
    assert all(r.query == {"if_seq_no": ["17"], "if_primary_term": ["2"]} for r in puts)
    assert "updated" in out


def test_a_create_that_conflicts_rereads_the_policy_and_updates_it(server):
    state = {"created_by_someone_else": False}

    def race(req):
        if req.path == "/_plugins/_ism/policies/alb-logs-retention":
            if req.method == "GET":
                if state["created_by_someone_else"]:
                    return 200, {"_id": "alb-logs-retention", "_seq_no": 5, "_primary_term": 1, "policy": {}}
                return 404, {"status": 404}
            if "if_seq_no" not in req.query:
                state["created_by_someone_else"] = True
                return 409, {"error": {"type": "version_conflict_engine_exception"}, "status": 409}
        return cluster_responses(req)

    server.respond = race
    code, _, err = run(server)
    assert (code, err) == (0, "")
    alb = [(r.method, r.query) for r in server.requests if r.path == "/_plugins/_ism/policies/alb-logs-retention"]
    assert alb == [("GET", {}), ("PUT", {}), ("GET", {}), ("PUT", {"if_seq_no": ["5"], "if_primary_term": ["1"]})]


def test_success_false_inside_a_200_import_fails_the_run(server):
    def missing_reference(req):
        if req.path.endswith("/_import"):
            return 200, {"successCount": 0, "success": False, "errors": [{
                "id": "alb-top-urls", "type": "visualization", "title": "Top URL paths",
                "error": {"type": "missing_references",
                          "references": [{"type": "index-pattern", "id": "alb-index-pattern"}]}}]}
        return cluster_responses(req)

    server.respond = missing_reference
    code, _, err = run(server)
    assert code == 1
    assert "[FAILED]" in err and "success=False" in err
    assert "alb-top-urls" in err and "missing_references" in err
    assert len(server.find("POST", "/_dashboards/api/saved_objects/_import")) == 1, "stops at the first failure"


def test_an_import_that_reports_fewer_objects_than_sent_fails(server):
    def partial(req):
        if req.path.endswith("/_import"):
            return 200, {"successCount": 3, "success": True}
        return cluster_responses(req)

    server.respond = partial
    code, _, err = run(server)
    assert code == 1 and "imported 3 of" in err


def test_a_rejected_template_stops_before_anything_depends_on_it(server):
    def reject_settings(req):
        if req.path == f"/_component_template/{COMPONENTS[0]}":
            return 400, {"error": {"type": "x_content_parse_exception",
                                   "reason": "[1:2] [component_template] unknown field [allow_auto_create]"},
                         "status": 400}
        return cluster_responses(req)

    server.respond = reject_settings
    code, _, err = run(server)
    assert code == 1
    assert "HTTP 400" in err and "unknown field [allow_auto_create]" in err and COMPONENTS[0] in err
    assert server.calls() == [("PUT", f"/_component_template/{COMPONENTS[0]}")]


def test_dry_run_sends_nothing_and_prints_every_request(server):
    code, out, _ = run(server, "--dry-run")
    assert code == 0
    assert server.requests == []
    for method, path in EXPECTED_CALLS:
        assert f"{method} {server.url}{path}" in out
    assert "osd-xsrf: true" in out and "nothing was sent" in out


def test_running_twice_converges_by_updating_instead_of_failing(server):
    created: dict[str, dict] = {}

    def stateful(req):
        if req.path.startswith("/_plugins/_ism/policies/"):
            policy_id = req.path.rsplit("/", 1)[1]
            if req.method == "GET":
                if policy_id not in created:
                    return 404, {"status": 404}
                return 200, {"_id": policy_id, "_seq_no": created[policy_id]["seq"], "_primary_term": 1}
            if policy_id in created and "if_seq_no" not in req.query:
                return 409, {"status": 409}
            created[policy_id] = {"seq": created.get(policy_id, {"seq": -1})["seq"] + 1}
        return cluster_responses(req)

    server.respond = stateful
    assert run(server)[0] == 0
    first = [r.body for r in server.requests if r.method == "PUT"]
    server.requests.clear()
    assert run(server)[0] == 0
    assert [r.body for r in server.requests if r.method == "PUT"] == first
    ism_puts = [r for r in server.requests if r.method == "PUT" and "/_ism/" in r.path]
    assert all(r.query["if_seq_no"] == ["0"] for r in ism_puts)


def test_retention_days_and_renamed_prefixes_reach_every_request(server):
    code, _, _ = run(server, "--retention-days", "7", "--alb-prefix", "web-alb", "--shards", "2", "--replicas", "0")
    assert code == 0
    (template,) = server.find("PUT", "/_index_template/web-alb")
    assert template.json()["index_patterns"] == ["web-alb-*"]
    (policy,) = server.find("PUT", "/_plugins/_ism/policies/web-alb-retention")
    body = policy.json()["policy"]
    assert body["ism_template"][0]["index_patterns"] == ["web-alb-*"]
    assert body["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "7d"}
    assert "7 days" in body["description"]
    (s3_policy,) = server.find("PUT", "/_plugins/_ism/policies/s3-access-logs-retention")
    assert s3_policy.json()["policy"]["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "7d"}
    (settings,) = server.find("PUT", "/_component_template/access-logs-settings")
    assert settings.json()["template"]["settings"]["index"]["number_of_shards"] == 2
    assert settings.json()["template"]["settings"]["index"]["number_of_replicas"] == 0
    titles = []
    for req in server.find("POST", "/_dashboards/api/saved_objects/_import"):
        _, content = req.multipart()["file"]
        titles += [o["attributes"]["title"] for o in map(json.loads, content.splitlines()) if o["type"] == "index-pattern"]
    others = [f"{p.stem}-*" for p in DASHBOARD_FILES if p.stem != "alb-logs"]  # under their own prefixes
    assert sorted(titles) == sorted(["web-alb-*", *others])


def test_attach_existing_adds_the_policy_and_tolerates_already_managed_indices(server):
    def add(req):
        if req.path.startswith("/_plugins/_ism/add/"):
            return 200, {"updated_indices": 1, "failures": True, "failed_indices": [
                {"index_name": "alb-logs-2024.01.01", "index_uuid": "u",
                 "reason": "This index already has a policy, use the update policy API to update index policies"}]}
        return cluster_responses(req)

    server.respond = add
    code, _, err = run(server, "--attach-existing")
    assert (code, err) == (0, "")
    (req,) = server.find("POST", "/_plugins/_ism/add/alb-logs-*")
    assert req.json() == {"policy_id": "alb-logs-retention"}


def test_basic_auth_password_comes_from_secrets_manager_and_is_never_printed(server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    password = "s3cr3t-Pa55-word"
    with mock_aws():
        boto3.client("secretsmanager").create_secret(
            Name="opensearch/admin", SecretString=json.dumps({"username": "admin", "password": password}))
        out, err = io.StringIO(), io.StringIO()
        code = bootstrap.main(["--opensearch-url", server.url, "--dashboards-url", f"{server.url}/_dashboards",
                               "--auth", "basic", "--secret-id", "opensearch/admin"], out=out, err=err)
    assert code == 0
    expected = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    assert {r.headers["Authorization"] for r in server.requests} == {expected}
    assert password not in out.getvalue() + err.getvalue()
    assert expected not in out.getvalue() + err.getvalue()


def test_sigv4_signs_every_request_for_service_es_including_the_multipart_body(server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    code, out, err = run(server, "--auth", "sigv4", "--region", "eu-west-1")  # the later --auth wins
    assert (code, err) == (0, "")
    assert server.requests
    for req in server.requests:
        auth = req.headers["Authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/eu-west-1/es/aws4_request" in auth
        assert req.headers["x-amz-security-token"] == "session-token"
        assert "x-amz-content-sha256" in auth.split("SignedHeaders=")[1]
        assert req.headers["x-amz-content-sha256"] == hashlib.sha256(req.body).hexdigest()
    assert "AWS4-HMAC-SHA256" not in out


def test_credentials_never_travel_over_plain_http_to_a_remote_host(server):
    err = io.StringIO()
    code = bootstrap.main(["--opensearch-url", "http://search.example.com", "--auth", "basic",
                           "--username", "admin"], out=io.StringIO(), err=err)
    assert code == 1 and "must use https" in err.getvalue()
    assert server.requests == []


def test_dashboards_url_defaults_to_the_dashboards_path_on_amazon_opensearch_service():
    out = io.StringIO()
    code = bootstrap.main(["--opensearch-url", "https://search-logs-abc.eu-west-1.es.amazonaws.com", "--dry-run"],
                          out=out, err=io.StringIO())
    assert code == 0
    assert ("POST https://search-logs-abc.eu-west-1.es.amazonaws.com/_dashboards/api/saved_objects/_import"
            "?overwrite=true") in out.getvalue()


@pytest.mark.parametrize("endpoint, region, service", [
    ("https://search-logs-abc.ap-southeast-2.es.amazonaws.com", "ap-southeast-2", "es"),
    ("https://abc123.eu-west-3.aoss.amazonaws.com", "eu-west-3", "aoss"),
])
def test_auth_auto_signs_for_the_region_and_service_an_amazon_endpoint_names(monkeypatch, endpoint, region, service):
    from requests_aws4auth import AWS4Auth

    monkeypatch.setenv("AWS_REGION", "us-east-1")  # the endpoint's own region wins: AWS refuses any other
    args = bootstrap.parse_args(["--opensearch-url", endpoint])
    auth = bootstrap.build_auth(args, session=boto3.Session(aws_access_key_id="AKID", aws_secret_access_key="s",
                                                            region_name="us-east-1"))
    assert isinstance(auth, AWS4Auth)
    assert (auth.region, auth.service) == (region, service)


def test_auth_auto_sends_no_credentials_to_a_local_cluster(server):
    out, err = io.StringIO(), io.StringIO()
    code = bootstrap.main(["--opensearch-url", server.url, "--dashboards-url", f"{server.url}/_dashboards"],
                          out=out, err=err, session=object())  # any AWS use would fail on this session
    assert (code, err.getvalue()) == (0, "")
    assert server.requests and all("Authorization" not in r.headers for r in server.requests)


def test_auth_auto_refuses_to_guess_for_another_host_in_one_line():
    err = io.StringIO()
    code = bootstrap.main(["--opensearch-url", "https://search.example.com"], out=io.StringIO(), err=err)
    assert code == 1
    assert err.getvalue().count("\n") == 1
    assert "cannot tell how to authenticate to 'search.example.com'" in err.getvalue()


def test_a_missing_secret_is_one_line_with_the_aws_error_code_and_what_to_check(server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    err = io.StringIO()
    with mock_aws():
        code = bootstrap.main(["--opensearch-url", server.url, "--auth", "basic", "--secret-id", "opensearch/absent"],
                              out=io.StringIO(), err=err)
    assert code == 1 and err.getvalue().count("\n") == 1
    assert "'opensearch/absent'" in err.getvalue() and "ResourceNotFoundException; check" in err.getvalue()
    assert server.requests == []


def test_sigv4_without_aws_credentials_is_one_line_saying_where_to_put_them(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    err = io.StringIO()
    code = bootstrap.main(["--opensearch-url", "https://search-logs-abc.eu-west-1.es.amazonaws.com"],
                          out=io.StringIO(), err=err)
    assert code == 1 and err.getvalue().count("\n") == 1
    assert "credentials" in err.getvalue() and "AWS_PROFILE" in err.getvalue()


def test_an_untrusted_certificate_fails_in_one_line_naming_ca_bundle(server, self_signed):
    import ssl

    cert_file, key_file = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    err = io.StringIO()
    code = bootstrap.main(["--opensearch-url", server.url.replace("http:", "https:"), "--auth", "none"],
                          out=io.StringIO(), err=err)
    assert code == 1 and err.getvalue().count("\n") == 1
    assert "not trusted" in err.getvalue() and "--ca-bundle" in err.getvalue()


def test_the_ca_bundle_given_wins_over_requests_ca_bundle(server, self_signed, monkeypatch):
    import ssl

    import certifi

    cert_file, key_file = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    url = server.url.replace("http:", "https:")
    err = io.StringIO()
    code = bootstrap.main(["--opensearch-url", url, "--dashboards-url", f"{url}/_dashboards", "--auth", "none",
                           "--ca-bundle", str(cert_file)], out=io.StringIO(), err=err)
    assert (code, err.getvalue()) == (0, "")
