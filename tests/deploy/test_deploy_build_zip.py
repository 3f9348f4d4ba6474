"""scripts/build_zip.py: a self-contained, Lambda-platform, reproducible deployment zip.

These tests run pip against PyPI (as the build itself does); downloads are cached for the session.
The C accelerator in each zip is read with a small ELF reader below (no binutils needed).
"""
from __future__ import annotations

import json
import os
import shutil
import struct
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
NATIVE_ENTRY = "ingest/_native.abi3.so"
# What `make test` may have left in the working tree's package: a host build. The zip must not ship it.
PLANTED_HOST_BUILDS = {"_native.abi3.so": b"\x7fELF planted: a host build left in ingest/",
                       "_native.cpython-311-x86_64-linux-gnu.so": b"\x7fELF planted: a host build left in ingest/"}


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
    for name, content in PLANTED_HOST_BUILDS.items():
        (snapshot / name).write_bytes(content)
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
def x86_64_zip(tmp_path_factory, pip_env, package_snapshot) -> Path:
    output = tmp_path_factory.mktemp("x86_64") / "lambda.zip"
    build(output, pip_env, "--python", "3.13", "--arch", "x86_64", "--package-dir", str(package_snapshot))
    return output


@pytest.fixture(scope="session")
def lambda_zips(arm64_builds, x86_64_zip) -> dict[str, Path]:
    return {"arm64": arm64_builds[0], "x86_64": x86_64_zip}


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
                        if name.split(".")[0] in {{"ingest", "opensearchpy", "requests_aws4auth", "orjson", "isal", "boto3"}}}},
            "handler": callable(getattr(imported[-1], "lambda_handler", None)),
            "modules": {{name: getattr(sys.modules[name], "__file__", None) or "" for name in {list(modules)!r}}},
        }}))
    """)
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True,
                            cwd=task_dir.parent, env={"PATH": os.environ.get("PATH", "")})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ----------------------------------------------------------------------------- importable on its own

def test_unzipped_package_and_its_dependencies_import_from_the_zip_alone(unpacked_local, runtime_site):
    probe = import_in_clean_interpreter(unpacked_local, runtime_site,
                                        "opensearchpy", "requests_aws4auth", "orjson", "isal.igzip",
                                        "isal.isal_zlib", "ingest")
    ours = {name: path for name, path in probe["origins"].items() if not name.startswith("boto3")}
    assert {"ingest", "opensearchpy", "requests_aws4auth", "orjson", "isal.igzip", "isal.isal_zlib"} <= ours.keys()
    assert all(path is None or path.startswith(str(unpacked_local)) for path in ours.values()), ours


def test_the_enrichment_libraries_are_in_the_zip_and_import_from_it(unpacked_local, runtime_site):
    # GeoIP (maxminddb, its C extension) and user agents (ua-parser, its rules and its Rust accelerator)
    # (ua_parser.user_agent_parser imports the rules, ua_parser_builtins.regexes, which cannot come first)
    probe = import_in_clean_interpreter(unpacked_local, runtime_site, "maxminddb.extension",
                                        "ua_parser.user_agent_parser", "ua_parser_rs", "ingest.enrich")
    assert probe["origins"]["ingest.enrich"].startswith(str(unpacked_local))
    for name in ("maxminddb.extension", "ua_parser.user_agent_parser", "ua_parser_rs"):
        assert name in probe["modules"] and probe["modules"][name].startswith(str(unpacked_local)), name


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
    # Ours is abi3 (below); so is ua-parser-rs (Rust, one wheel per CPU for every CPython since 3.10).
    native = [n for n in names if n.endswith(".so") and not n.startswith("ingest/") and not n.endswith(".abi3.so")]
    assert native, "orjson ships a native extension; finding none means the check is looking in the wrong place"
    assert all(n.endswith(".cpython-312-aarch64-linux-gnu.so") for n in native), native
    assert {"isal/igzip_lib.cpython-312-aarch64-linux-gnu.so", "isal/isal_zlib.cpython-312-aarch64-linux-gnu.so"} <= set(native)
    wheel_tags = [line.split(": ", 1)[1] for n in names if n.endswith(".dist-info/WHEEL")
                  for line in archive.read(n).decode().splitlines() if line.startswith("Tag: ")]
    platform_tags = [t for t in wheel_tags if not t.endswith("-none-any")]
    assert platform_tags and all((t.startswith("cp312-") or "-abi3-" in t) and t.endswith("_aarch64")
                                 for t in platform_tags), platform_tags
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


# ----------------------------------------------------------------------------- the C accelerator

EM_X86_64, EM_AARCH64 = 62, 183
SHT_DYNSYM, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 11, 0x6FFFFFFE, 0x6FFFFFFF
STB_WEAK = 2
GLIBC_FLOOR = (2, 17)  # manylinux2014, as for the wheels
# The private (underscore) names of CPython's stable ABI as of 3.11: Misc/stable_abi.toml entries
# added <= 3.11 (all abi_only), less the two that exist only in Py_REF_DEBUG builds. Limited-API
# macros expand to them: Py_DECREF -> _Py_Dealloc, Py_None -> _Py_NoneStruct, PyArg_ParseTuple under
# PY_SSIZE_T_CLEAN -> _PyArg_ParseTuple_SizeT. Any other _Py name means the non-limited API leaked in.
# Public Py* names are not listed: with Py_LIMITED_API set, the headers do not declare the others and
# zig's clang rejects an undeclared call, so the compile itself guards them.
STABLE_ABI_PRIVATE_3_11 = frozenset({
    "_PyArg_ParseTupleAndKeywords_SizeT", "_PyArg_ParseTuple_SizeT", "_PyArg_Parse_SizeT",
    "_PyArg_VaParseTupleAndKeywords_SizeT", "_PyArg_VaParse_SizeT", "_PyErr_BadInternalCall",
    "_PyObject_CallFunction_SizeT", "_PyObject_CallMethod_SizeT", "_PyObject_GC_New", "_PyObject_GC_NewVar",
    "_PyObject_GC_Resize", "_PyObject_New", "_PyObject_NewVar", "_PyState_AddModule", "_PyThreadState_Init",
    "_PyThreadState_Prealloc", "_PyWeakref_CallableProxyType", "_PyWeakref_ProxyType", "_PyWeakref_RefType",
    "_Py_BuildValue_SizeT", "_Py_CheckRecursiveCall", "_Py_Dealloc", "_Py_DecRef", "_Py_EllipsisObject",
    "_Py_FalseStruct", "_Py_IncRef", "_Py_NoneStruct", "_Py_NotImplementedStruct", "_Py_SwappedOp",
    "_Py_TrueStruct", "_Py_VaBuildValue_SizeT",
})


class Elf64:
    """Just enough of a 64-bit little-endian ELF shared object: its machine, dynamic symbols and the
    symbol versions it needs (.gnu.version_r)."""

    def __init__(self, data: bytes):
        assert data[:4] == b"\x7fELF" and data[4:6] == b"\x02\x01", f"not a 64-bit little-endian ELF: {data[:16]!r}"
        self.data = data
        self.machine = struct.unpack_from("<H", data, 18)[0]
        shoff = struct.unpack_from("<Q", data, 0x28)[0]
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        # (sh_type, sh_offset, sh_size, sh_link, sh_info) of every section header
        self.sections = [struct.unpack_from("<4xI16xQQII", data, shoff + i * shentsize) for i in range(shnum)]

    def section(self, kind: int) -> tuple | None:
        return next((section for section in self.sections if section[0] == kind), None)

    def string(self, strtab: int, offset: int) -> str:
        start = self.sections[strtab][1] + offset
        return self.data[start:self.data.index(b"\0", start)].decode()

    def needed_versions(self) -> dict[int, str]:
        """Version index -> name (GLIBC_2.17, ...) of every symbol version the object needs."""
        found: dict[int, str] = {}
        verneed = self.section(SHT_GNU_VERNEED)
        if verneed is None:
            return found
        _, offset, _, strtab, entries = verneed
        for _ in range(entries):
            _, aux_count, _, aux, next_entry = struct.unpack_from("<HHIII", self.data, offset)
            aux_offset = offset + aux
            for _ in range(aux_count):
                _, _, index, name, next_aux = struct.unpack_from("<IHHII", self.data, aux_offset)
                found[index] = self.string(strtab, name)
                aux_offset += next_aux
            offset += next_entry
        return found

    def dynamic_symbols(self) -> tuple[set[str], dict[str, str | None]]:
        """(defined names, {undefined name: needed version or None}); weak undefined ones (a toolchain's
        optional hooks such as __gmon_start__) are left out: they cannot make the load fail."""
        _, offset, size, strtab, _ = self.section(SHT_DYNSYM)
        versym, versions = self.section(SHT_GNU_VERSYM), self.needed_versions()
        defined, undefined = set(), {}
        for i in range(1, size // 24):  # Elf64_Sym is 24 bytes; entry 0 is the null symbol
            name_offset, info, _, shndx = struct.unpack_from("<IBBH", self.data, offset + 24 * i)
            name = self.string(strtab, name_offset)
            if shndx != 0:
                defined.add(name)
            elif info >> 4 != STB_WEAK:
                index = struct.unpack_from("<H", self.data, versym[1] + 2 * i)[0] & 0x7FFF if versym else 0
                undefined[name] = versions.get(index)
        return defined, undefined


def accelerator(zip_path: Path) -> Elf64:
    return Elf64(zipfile.ZipFile(zip_path).read(NATIVE_ENTRY))


@pytest.mark.parametrize("arch, machine", [("arm64", EM_AARCH64), ("x86_64", EM_X86_64)])
def test_each_lambda_zip_carries_the_accelerator_compiled_for_its_own_cpu(lambda_zips, arch, machine):
    names = zipfile.ZipFile(lambda_zips[arch]).namelist()
    assert [n for n in names if n.startswith("ingest/") and n.endswith(".so")] == [NATIVE_ENTRY]
    assert accelerator(lambda_zips[arch]).machine == machine


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_the_accelerator_needs_no_glibc_symbol_version_newer_than_2_17(lambda_zips, arch):
    versions = set(accelerator(lambda_zips[arch]).needed_versions().values())
    assert all(v.startswith("GLIBC_") for v in versions), versions  # libc only: nothing else is loaded
    too_new = {v for v in versions if tuple(map(int, v[len("GLIBC_"):].split("."))) > GLIBC_FLOOR}
    assert not too_new, f"needs {sorted(too_new)}; Lambda wheels are manylinux2014 (glibc 2.17)"


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_the_accelerator_uses_only_the_3_11_stable_abi_and_libc_and_exports_its_module_init(lambda_zips, arch):
    defined, undefined = accelerator(lambda_zips[arch]).dynamic_symbols()
    assert "PyInit__native" in defined  # what `import ingest._native` looks up
    python = {name for name in undefined if name.startswith(("Py", "_Py"))}
    assert "PyModule_Create2" in python or "PyModuleDef_Init" in python, sorted(undefined)
    assert not {name for name in python if name.startswith("_")} - STABLE_ABI_PRIVATE_3_11
    others = {name: version for name, version in undefined.items() if name not in python}
    assert all(version and version.startswith("GLIBC_") for version in others.values()), others


def test_native_files_left_in_the_working_tree_package_are_never_shipped(arm64_builds):
    archive = zipfile.ZipFile(arm64_builds[0])
    native = [n for n in archive.namelist()
              if n.startswith("ingest/") and n.endswith((".so", ".c", ".h", ".o", ".pyd", ".dylib"))]
    assert native == [NATIVE_ENTRY]  # neither the planted host builds nor the C source
    assert archive.read(NATIVE_ENTRY) not in PLANTED_HOST_BUILDS.values()


def test_unzipped_local_build_imports_the_accelerator_with_this_python(unpacked_local, runtime_site):
    probe = import_in_clean_interpreter(unpacked_local, runtime_site, "ingest._native")
    assert probe["origins"]["ingest._native"] == str(unpacked_local / NATIVE_ENTRY)


def test_lambda_build_without_the_cross_compiler_fails_naming_ziglang_and_writes_no_zip(tmp_path):
    # -S: no site-packages, so ziglang (a dev dependency) is not importable, as on a bare machine.
    output = tmp_path / "lambda.zip"
    result = subprocess.run([sys.executable, "-S", str(BUILD_ZIP), "--arch", "arm64", "--python", "3.12",
                             "--output", str(output)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "ziglang" in result.stderr and "pip install" in result.stderr, result.stderr
    assert not output.exists()


def test_local_build_without_a_c_compiler_fails_naming_what_to_install_and_writes_no_zip(tmp_path):
    output = tmp_path / "lambda.zip"
    result = subprocess.run([sys.executable, str(BUILD_ZIP), "--python", "local", "--output", str(output)],
                            capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "CC": str(tmp_path / "no-such-cc")})
    assert result.returncode == 1
    assert "C compiler" in result.stderr and "install" in result.stderr, result.stderr
    assert not output.exists()
