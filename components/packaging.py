"""Build the Lambda code zip and the dependency layer zip, deterministically and without the Pulumi CLI.

Same sources give the same bytes (sorted entries, fixed timestamps and permissions, no caches), so a second
`pulumi up` sees no change. The layer is built with pip for the target platform and cached under build/ by a key
over the requirements, the architecture and the Python version: a second run reuses it.
"""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


def _files_under(root: str, top: str) -> list[tuple[str, str]]:
    """(absolute path, archive name) of every shippable file under root/top, sorted by archive name."""
    found = []
    for directory, subdirs, files in os.walk(os.path.join(root, top)):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS and not name.startswith(".")]
        for name in files:
            if name.endswith(SKIPPED_SUFFIXES) or name.startswith("."):
                continue
            path = os.path.join(directory, name)
            found.append((path, os.path.relpath(path, root).replace(os.sep, "/")))
    return sorted(found, key=lambda pair: pair[1])


def write_deterministic_zip(entries: list[tuple[str, str]], destination: str) -> str:
    """Zip (path, archive name) entries with fixed metadata; returns the destination path (written atomically)."""
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(destination), suffix=".tmp")
    os.close(handle)
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path, name in sorted(entries, key=lambda pair: pair[1]):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            with open(path, "rb") as source:
                archive.writestr(info, source.read(), compresslevel=9)
    os.chmod(temporary, 0o644)
    os.replace(temporary, destination)
    return destination


def build_code_archive(project_root: str, build_dir: str) -> str:
    """The function code zip: `handlers/` (as a package) and `archetypes/` at the root.

    Named by its content (`lambda-code-<sha256 prefix>.zip`), so concurrent runs over different sources never
    overwrite each other's archive and identical sources always give the same path and bytes.
    """
    entries = _files_under(project_root, "handlers") + _files_under(project_root, "archetypes")
    entries = [(path, name) for path, name in entries if name != "handlers/requirements.txt"]
    handle, temporary = tempfile.mkstemp(dir=_ensure(build_dir), prefix="lambda-code-", suffix=".tmp")
    os.close(handle)
    write_deterministic_zip(entries, temporary)
    with open(temporary, "rb") as archive:
        digest = hashlib.sha256(archive.read()).hexdigest()[:16]
    destination = os.path.join(build_dir, f"lambda-code-{digest}.zip")
    os.replace(temporary, destination)
    return destination


def _ensure(directory: str) -> str:
    os.makedirs(directory, exist_ok=True)
    return directory


def source_code_hash(path: str) -> str:
    """Base64 SHA-256 of a file, the form Lambda reports as CodeSha256."""
    with open(path, "rb") as handle:
        return base64.b64encode(hashlib.sha256(handle.read()).digest()).decode()


def layer_cache_key(requirements_path: str, architecture: str, python_version: str) -> str:
    """Key of a built layer: changes with the requirements, the target architecture or the Python version."""
    with open(requirements_path, "rb") as handle:
        digest = hashlib.sha256(handle.read())
    digest.update(f"|{PIP_PLATFORMS[architecture]}|{python_version}".encode())
    return digest.hexdigest()[:16]


def build_dependency_layer(requirements_path: str, architecture: str, python_version: str, build_dir: str) -> str:
    """The layer zip (`python/` at its root) with wheels for the Lambda platform; reused when already built.

    `python_version` is like "3.12". Raises RuntimeError with pip's output when the wheels cannot be fetched.
    """
    key = layer_cache_key(requirements_path, architecture, python_version)
    destination = os.path.join(build_dir, f"layer-{architecture}-py{python_version}-{key}.zip")
    if os.path.exists(destination):
        return destination
    os.makedirs(build_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix="layer-", dir=build_dir)
    try:
        target = os.path.join(staging, "python")
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", target, "--platform", PIP_PLATFORMS[architecture], "--implementation", "cp",
            "--python-version", python_version, "--only-binary=:all:", "--requirement", requirements_path,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"building the dependency layer failed ({' '.join(command)}):\n{result.stderr}")
        entries = [(path, name) for path, name in _files_under(staging, "python")]
        write_deterministic_zip(entries, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination
