"""scripts/build_zip.py: a self-contained, Lambda-platform, reproducible deployment zip.

These tests run pip against PyPI (as the build itself does); downloads are cached for the session.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_ZIP = REPO_ROOT / "scripts" / "build_zip.py"
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath"}
PINNED_BOTO3 = "boto3==1.44.8"  # as in pyproject.toml: stands in for the runtime's own copy


@pytest.fixture(scope="session")
def pip_env(tmp_path_factory) -> dict:
    return {**os.environ, "PIP_CACHE_DIR": str(tmp_path_factory.mktemp("pip-cache")),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def build(output: Path, env: dict, *options: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(BUILD_ZIP), "--output", str(output), *options],
                            capture_output=True, text=True, env=env, cwd=output.parent)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def local_zip(tmp_path_factory, pip_env) -> Path:
    output = tmp_path_factory.mktemp("local") / "lambda.zip"
    build(output, pip_env, "--python", "local")
    return output


@pytest.fixture(scope="session")
def package_snapshot(tmp_path_factory) -> Path:
    # A frozen copy: the ingest package is being edited while tests run, and both builds must see the same input.
    snapshot = tmp_path_factory.mktemp("snapshot") / "ingest"
    shutil.copytree(REPO_ROOT / "ingest", snapshot, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return snapshot


@pytest.fixture(scope="session")
def arm64_builds(tmp_path_factory, pip_env, package_snapshot) -> tuple[Path, Path, str]:
    first = tmp_path_factory.mktemp("arm64-a") / "lambda.zip"
    second = tmp_path_factory.mktemp("arm64-b") / "lambda.zip"
    options = ("--python", "3.12", "--arch", "arm64", "--package-dir", str(package_snapshot))
    printed = build(first, pip_env, *options).stdout
    build(second, pip_env, *options)
    return first, second, printed


@pytest.fixture(scope="session")
def unpacked_local(tmp_path_factory, local_zip) -> Path:
    target = tmp_path_factory.mktemp("unpacked") / "task"
    with zipfile.ZipFile(local_zip) as archive:
        archive.extractall(target)
    return target


@pytest.fixture(scope="session")
def runtime_site(tmp_path_factory, pip_env) -> Path:
    """What the Lambda runtime provides beyond the standard library: boto3 and its dependencies."""
    site = tmp_path_factory.mktemp("runtime")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--only-binary=:all:",
                    "--target", str(site), PINNED_BOTO3], check=True, env=pip_env, capture_output=True)
    return site


def import_in_clean_interpreter(task_dir: Path, runtime_dir: Path, *modules: str) -> dict:
    """Import `modules` the way Lambda does: /var/task first, then the runtime's libraries, nothing else.

    -I ignores PYTHONPATH, the user site and the current directory; -S leaves out this venv's
    site-packages, so anything not in the zip (or the simulated runtime) fails to import."""
    probe = textwrap.dedent(f"""
        import importlib, json, sys
        sys.path[:0] = [{str(task_dir)!r}, {str(runtime_dir)!r}]
        imported = [importlib.import_module(name) for name in {list(modules)!r}]
        print(json.dumps({{
            "origins": {{name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                        if name.split(".")[0] in {{"ingest", "opensearchpy", "requests_aws4auth", "orjson", "boto3"}}}},
            "handler": callable(getattr(imported[-1], "lambda_handler", None)),
        }}))
    """)
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True,
                            cwd=task_dir.parent, env={"PATH": os.environ.get("PATH", "")})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ----------------------------------------------------------------------------- importable on its own

def test_unzipped_package_and_its_dependencies_import_from_the_zip_alone(unpacked_local, runtime_site):
    probe = import_in_clean_interpreter(unpacked_local, runtime_site,
                                        "opensearchpy", "requests_aws4auth", "orjson", "ingest")
    ours = {name: path for name, path in probe["origins"].items() if not name.startswith("boto3")}
    assert {"ingest", "opensearchpy", "requests_aws4auth", "orjson"} <= ours.keys()
    assert all(path is None or path.startswith(str(unpacked_local)) for path in ours.values()), ours


def test_unzipped_handler_imports_with_only_the_lambda_runtime_libraries(unpacked_local, runtime_site):
    # Fails until ingest/handler.py exists (the lead is writing it).
    probe = import_in_clean_interpreter(unpacked_local, runtime_site, "ingest.handler")
    assert probe["handler"] is True
    assert probe["origins"]["ingest.handler"].startswith(str(unpacked_local))
    if "boto3" in probe["origins"]:
        assert probe["origins"]["boto3"].startswith(str(runtime_site))


# ----------------------------------------------------------------------------- contents

def test_zip_leaves_out_runtime_provided_libraries_caches_tests_and_install_records(local_zip):
    names = zipfile.ZipFile(local_zip).namelist()
    top_levels = {name.split("/", 1)[0] for name in names}
    assert "ingest" in top_levels and "opensearchpy" in top_levels and "requests_aws4auth" in top_levels
    assert not top_levels & RUNTIME_PROVIDED
    assert not [t for t in top_levels if t.split("-", 1)[0].lower() in RUNTIME_PROVIDED]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if "/tests/" in n or "/test/" in n or n.startswith("bin/")]
    dist_info_files = {n.split("/", 1)[1] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    assert not dist_info_files & {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    assert "METADATA" in dist_info_files


def test_arm64_python312_build_contains_only_aarch64_cp312_native_code(arm64_builds):
    archive = zipfile.ZipFile(arm64_builds[0])
    names = archive.namelist()
    native = [n for n in names if n.endswith(".so")]
    assert native, "orjson ships a native extension; finding none means the check is looking in the wrong place"
    assert all(n.endswith(".cpython-312-aarch64-linux-gnu.so") for n in native), native
    wheel_tags = [line.split(": ", 1)[1] for n in names if n.endswith(".dist-info/WHEEL")
                  for line in archive.read(n).decode().splitlines() if line.startswith("Tag: ")]
    platform_tags = [t for t in wheel_tags if not t.endswith("-none-any")]
    assert platform_tags and all(t.startswith("cp312-") and t.endswith("_aarch64") for t in platform_tags), platform_tags
    assert not {n.split("/", 1)[0] for n in names} & RUNTIME_PROVIDED


def test_two_builds_from_the_same_inputs_are_byte_identical(arm64_builds):
    first, second, _ = arm64_builds
    assert first.read_bytes() == second.read_bytes()


def test_entries_have_fixed_timestamps_and_permissions_in_sorted_order(arm64_builds):
    infos = zipfile.ZipFile(arm64_builds[0]).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_build_prints_its_size_and_stays_well_under_five_megabytes(arm64_builds):
    zip_path, _, printed = arm64_builds
    size = zip_path.stat().st_size
    assert f"{size:,} bytes" in printed
    assert size < 5 * 1024 * 1024
