"""Build the Lambda code zip and the dependency layer zip, deterministically and without the Pulumi CLI.

Same sources give the same bytes (sorted entries, fixed timestamps and permissions, no caches), so a second
`pulumi up` sees no change. The layer is built with pip for the target platform, trimmed to what the handlers import
(`layer_entry_kept`) and cached under build/ by a key over the requirements, the architecture, the Python version,
the trimming rules and the bytecode: a second run reuses it.

Bytecode: when an interpreter of the target runtime's version is found (`bytecode_compiler`), both zips also carry
`__pycache__/*.cpython-3XX.pyc` compiled by it as unchecked-hash pycs (no timestamps; Lambda's read-only file system
can neither write nor invalidate them), with a fixed hash seed; without one they are source-only. Either way the
bytes depend only on the sources and on that choice.
"""

from __future__ import annotations

import base64
import functools
import glob
import hashlib
import json
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

# Layer trimming: what the layer keeps of what pip installs (names relative to `python/`). Part of the cache key.
# The Lambda Python runtime ships boto3 with its dependencies, compiled; a copy in the layer (source only, first on
# sys.path) would shadow it, so those distributions are dropped (Powertools' jmespath comes with them).
RUNTIME_PROVIDED = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "python_dateutil", "urllib3", "six")
# The parts of Powertools the handlers reach: the Logger (with what the package __init__ imports: metrics, tracing,
# shared) and the batch utility (with the event data classes its processors wrap, jmespath_utils, typing).
POWERTOOLS_KEPT = (
    "__init__.py",
    "package_logger.py",
    "py.typed",
    "exceptions/",
    "warnings/",
    "shared/",
    "logging/",
    "metrics/",
    "tracing/",
    "middleware_factory/",
    "utilities/__init__.py",
    "utilities/batch/",
    "utilities/data_classes/",
    "utilities/jmespath_utils/",
    "utilities/typing/",
)
DROPPED_TOP = ("bin",)  # console scripts: nothing runs them, and pip writes the build machine's path into them
DIST_INFO_KEPT = ("METADATA", "licenses/", "LICENSE", "COPYING", "NOTICE")  # no RECORD: it lists dropped files
LAYER_FORMAT = 2  # bump when layer_entry_kept or the bytecode step changes in a way the tables above do not show


def _files_under(root: str, top: str) -> list[tuple[str, str]]:
    """(absolute path, archive name) of every shippable source file under root/top, sorted by archive name."""
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


def build_code_archive(project_root: str, build_dir: str, python_version: str | None = None) -> str:
    """The function code zip: `handlers/` (as a package) and `archetypes/` at the root.

    With `python_version` (like "3.12") and an interpreter of that version at hand, the zip also holds the handlers'
    bytecode for it. Named by its content (`lambda-code-<sha256 prefix>.zip`), so concurrent runs over different
    sources never overwrite each other's archive and identical sources always give the same path and bytes.
    """
    entries = _files_under(project_root, "handlers") + _files_under(project_root, "archetypes")
    entries = [(path, name) for path, name in entries if name != "handlers/requirements.txt"]
    handle, temporary = tempfile.mkstemp(dir=_ensure(build_dir), prefix="lambda-code-", suffix=".tmp")
    os.close(handle)
    compiler = bytecode_compiler(python_version) if python_version else None
    with tempfile.TemporaryDirectory(prefix="pyc-", dir=build_dir) as bytecode_dir:
        if compiler:
            entries += compile_bytecode(compiler, entries, bytecode_dir)
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


def bytecode_compiler(python_version: str) -> str | None:
    """An interpreter of `python_version` ("3.12") on this machine, or None: this one, `python3.12` on PATH, or a
    pyenv install ($PYENV_ROOT or ~/.pyenv). Its bytecode is what the Lambda runtime of that version loads."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [sys.executable, shutil.which(f"python{python_version}")]
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{python_version}.*", "bin", "python3")))
    for candidate in filter(None, candidates):
        facts = _interpreter_facts(candidate)
        if facts and facts[0] == python_version:
            return candidate
    return None


@functools.cache
def _interpreter_facts(interpreter: str) -> tuple[str, str] | None:
    """(major.minor, bytecode magic number in hex) of an interpreter; None when it does not run."""
    code = "import importlib.util, sys; print('%d.%d' % sys.version_info[:2], importlib.util.MAGIC_NUMBER.hex())"
    try:
        probe = subprocess.run([interpreter, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    facts = probe.stdout.split()
    return (facts[0], facts[1]) if probe.returncode == 0 and len(facts) == 2 else None


_COMPILE = """
import importlib.util, json, os, py_compile, sys
for path, name in json.load(sys.stdin):
    target = os.path.join(sys.argv[1], importlib.util.cache_from_source(name))
    try:
        py_compile.compile(path, cfile=target, dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        continue
    print(json.dumps([target, importlib.util.cache_from_source(name)]))
"""


def compile_bytecode(interpreter: str, entries: list[tuple[str, str]], destination: str) -> list[tuple[str, str]]:
    """Compile the `.py` entries with `interpreter` into `destination` (laid out like the archive); returns the
    (path, archive name) entries of the pycs. A file that does not compile for that version stays source-only."""
    sources = [[path, name] for path, name in entries if name.endswith(".py")]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}  # set constants marshal in hash order
    result = subprocess.run(
        [interpreter, "-s", "-c", _COMPILE, destination],
        input=json.dumps(sources),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"compiling bytecode with {interpreter} failed:\n{result.stderr}")
    return [tuple(json.loads(line)) for line in result.stdout.splitlines()]


def layer_entry_kept(name: str) -> bool:
    """Whether the layer keeps the file `name` (relative to `python/`) that pip installed."""
    top, _, rest = name.partition("/")
    if top in DROPPED_TOP:
        return False
    distribution = top.split("-")[0] if top.endswith(".dist-info") else top.removesuffix(".py")
    if distribution.lower() in RUNTIME_PROVIDED:
        return False
    if top == "aws_lambda_powertools":
        return rest.startswith(POWERTOOLS_KEPT)
    if top.endswith(".dist-info"):
        return rest.startswith(DIST_INFO_KEPT)
    return True


def layer_cache_key(requirements_path: str, architecture: str, python_version: str) -> str:
    """Key of a built layer: changes with the requirements, the target architecture, the Python version, the
    trimming rules and whether bytecode (and for which interpreter magic) is included."""
    with open(requirements_path, "rb") as handle:
        digest = hashlib.sha256(handle.read())
    rules = (LAYER_FORMAT, RUNTIME_PROVIDED, POWERTOOLS_KEPT, DROPPED_TOP, DIST_INFO_KEPT)
    digest.update(f"|{PIP_PLATFORMS[architecture]}|{python_version}|{rules!r}|{_bytecode_tag(python_version)}".encode())
    return digest.hexdigest()[:16]


def _bytecode_tag(python_version: str) -> str:
    compiler = bytecode_compiler(python_version)
    return f"pyc-{_interpreter_facts(compiler)[1]}" if compiler else "source-only"


def install_requirements(requirements_path: str, architecture: str, python_version: str, target: str) -> None:
    """pip-install the requirements' wheels for the Lambda platform into `target`, untrimmed and source-only.

    Raises RuntimeError with pip's output when the wheels cannot be fetched."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        target,
        "--platform",
        PIP_PLATFORMS[architecture],
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--requirement",
        requirements_path,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building the dependency layer failed ({' '.join(command)}):\n{result.stderr}")


def build_dependency_layer(requirements_path: str, architecture: str, python_version: str, build_dir: str) -> str:
    """The layer zip (`python/` at its root) with wheels for the Lambda platform, trimmed and (when an interpreter
    of `python_version` is at hand) with bytecode; reused when already built.

    `python_version` is like "3.12". Raises RuntimeError with pip's output when the wheels cannot be fetched.
    """
    key = layer_cache_key(requirements_path, architecture, python_version)
    destination = os.path.join(build_dir, f"layer-{architecture}-py{python_version}-{key}.zip")
    if os.path.exists(destination):
        return destination
    os.makedirs(build_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix="layer-", dir=build_dir)
    try:
        install_requirements(requirements_path, architecture, python_version, os.path.join(staging, "python"))
        entries = [
            (path, name)
            for path, name in _files_under(staging, "python")
            if layer_entry_kept(name.removeprefix("python/"))
        ]
        compiler = bytecode_compiler(python_version)
        if compiler:
            entries += compile_bytecode(compiler, entries, os.path.join(staging, "bytecode"))
        write_deterministic_zip(entries, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination
