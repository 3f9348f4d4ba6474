"""scripts/build_native.py and the make rule around it.

These compile a tiny stand-in with the same shape as ingest/_native.c (limited API, module `_native`),
so they test the build, not the accelerator; the zips' real extension is checked in
test_deploy_build_zip.py.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_NATIVE = REPO_ROOT / "scripts" / "build_native.py"
ELF_MACHINES = {"arm64": 183, "x86_64": 62}

STAND_IN = r"""
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *count_newlines(PyObject *Py_UNUSED(self), PyObject *arg) {
    char *data; Py_ssize_t size, n = 0;
    if (PyBytes_AsStringAndSize(arg, &data, &size) < 0) return NULL;
    for (char *p = data; (p = memchr(p, '\n', (size_t)(data + size - p))) != NULL; p++) n++;
    return PyLong_FromSsize_t(n);
}

static PyMethodDef methods[] = {{"count_newlines", count_newlines, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_native", .m_size = -1, .m_methods = methods};
PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""


def run(*args: str, env: dict | None = None, python: tuple[str, ...] = (sys.executable,)) -> subprocess.CompletedProcess:
    return subprocess.run([*python, str(BUILD_NATIVE), *args], capture_output=True, text=True,
                          env=env if env is not None else os.environ.copy())


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "pkg" / "_native.c"
    path.parent.mkdir()
    path.write_text(STAND_IN)
    return path


def test_default_build_puts_an_importable_abi3_module_next_to_its_source_and_prints_one_line(source):
    first = run("--source", str(source))
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("\n") == 1 and "built" in first.stdout and "_native.abi3.so" in first.stdout
    assert first.stderr == ""  # -Wall -Wextra clean code compiles silently
    built = source.parent / "_native.abi3.so"
    probe = subprocess.run([sys.executable, "-c", "import _native; print(_native.count_newlines(b'a\\nb\\n'))"],
                           capture_output=True, text=True, cwd=source.parent)
    assert probe.stdout.strip() == "2", probe.stderr
    again = run("--source", str(source))  # idempotent: rebuilding in place just works
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in source.parent.iterdir()) == ["_native.abi3.so", "_native.c"]
    assert built.stat().st_size > 0


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
def test_lambda_build_is_elf_for_the_requested_cpu_and_the_same_bytes_from_any_checkout(source, tmp_path, arch):
    elsewhere = tmp_path / "another" / "checkout" / "_native.c"
    elsewhere.parent.mkdir(parents=True)
    shutil.copy(source, elsewhere)
    outputs = []
    for index, src in enumerate((source, elsewhere)):
        out = tmp_path / f"out-{index}"
        result = run("--arch", arch, "--out", str(out), "--source", str(src))
        assert result.returncode == 0, result.stderr
        outputs.append((out / "_native.abi3.so").read_bytes())
    assert struct.unpack_from("<H", outputs[0], 18)[0] == ELF_MACHINES[arch]
    assert outputs[0] == outputs[1]  # no build path in the binary: zips stay reproducible


def test_lambda_build_refuses_to_write_into_the_package_without_an_explicit_output_directory(source):
    result = run("--arch", "arm64", "--source", str(source))
    assert result.returncode == 2 and "--out" in result.stderr
    assert not (source.parent / "_native.abi3.so").exists()


def test_compile_error_fails_with_the_compiler_message_and_leaves_no_file_behind(source):
    source.write_text(STAND_IN.replace("return PyLong_FromSsize_t(n);", "return PyLong_FromSsize_t(n)"))
    result = run("--source", str(source))
    assert result.returncode == 1
    assert "build_native: error: compiling" in result.stderr and "_native.c:" in result.stderr
    assert sorted(p.name for p in source.parent.iterdir()) == ["_native.c"]


def test_missing_host_compiler_is_named_with_what_to_install(source, tmp_path):
    result = run("--source", str(source), env={**os.environ, "CC": str(tmp_path / "no-such-cc")})
    assert result.returncode == 1
    assert "no C compiler" in result.stderr and "apt-get install gcc" in result.stderr


def test_without_a_system_compiler_the_host_build_uses_zig_so_python_alone_is_enough(source, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CC"}
    env["PATH"] = str(tmp_path)  # no cc, gcc or clang to be found
    result = run("--source", str(source), env=env)
    assert result.returncode == 0, result.stderr
    assert (source.parent / "_native.abi3.so").is_file()


def test_missing_ziglang_is_named_with_how_to_install_it(source, tmp_path):
    # -S: no site-packages, so the dev dependency ziglang is not importable, as before `make`.
    result = run("--arch", "arm64", "--out", str(tmp_path / "out"), "--source", str(source),
                 python=(sys.executable, "-S"))
    assert result.returncode == 1
    assert "ziglang" in result.stderr and "pip install -e '.[dev]'" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("goal", ["test", "demo"])
def test_make_goal_rebuilds_the_accelerator_when_its_source_changes_before_running(goal):
    # -n prints without running; -W pretends ingest/_native.c was just modified.
    result = subprocess.run(["make", "-n", "-W", "ingest/_native.c", goal], capture_output=True, text=True,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    build = [i for i, line in enumerate(lines) if "scripts/build_native.py" in line]
    assert build, result.stdout
    after = "pytest" if goal == "test" else "ingest run"
    assert build[0] < next(i for i, line in enumerate(lines) if after in line)


@pytest.mark.skipif(not (REPO_ROOT / ".git").exists() or shutil.which("git") is None, reason="not a git checkout")
def test_built_extensions_in_the_package_are_ignored_by_git():
    for path in ("ingest/_native.abi3.so", "ingest/_native.cpython-311-x86_64-linux-gnu.so"):
        assert subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=REPO_ROOT).returncode == 0, path
