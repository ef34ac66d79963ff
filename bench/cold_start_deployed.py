"""Cold start of each Lambda as deployed: the real code zip and layer, unpacked read-only in the Lambda layout.

Each layout is a temporary directory with `task/` (the code zip, like /var/task), `opt/python/` (the layer, like
/opt/python) and `runtime/`, which stands in for the boto3 the Lambda Python runtime ships: the virtualenv's
pinned boto3, botocore, jmespath, s3transfer, dateutil, urllib3 and six, compiled by the target interpreter as the
runtime image ships them. The probes run in fresh target interpreters with `-S`, `PYTHONPATH` = task, opt/python,
runtime (Lambda's order: the layer comes before the runtime's packages) and `PYTHONDONTWRITEBYTECODE=1` on
read-only files, so nothing the zips do not ship is cached between runs (checked after the runs).

Layouts, side by side:
- old: the layer as pip installs it (untrimmed, source only) and the code zip without bytecode;
- trimmed: the layer components/packaging.py builds now, its bytecode removed (what a machine without an
  interpreter of the runtime's version ships);
- new: the layer and code zip components/packaging.py builds now (trimmed, with bytecode when an interpreter of
  the target version is on this machine);
- boto3 in layer: new, plus the pinned boto3 and botocore compiled into the layer (the alternative to the
  runtime's copy).
The layer is built for THIS machine's architecture (the Lambda target is arm64 unless configured: only PyYAML's C
extension differs) with the same requirements and trimming. Figures per handler: init (import + first-use
clients) + Logger (+ the batch utility for the stream-router), against the baseline `import boto3` + one client
with the runtime's boto3 alone; wall-clock and CPU medians over fresh interpreters, and peak RSS.

    .venv/bin/python bench/cold_start_deployed.py [--runs N] [--python PATH]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.dirname(os.path.abspath(__file__))]

from cold_start import _BASELINE, _HANDLER, _PROBE, HANDLERS, POWERTOOLS_FIRST_USE  # noqa: E402

from components import packaging  # noqa: E402
from components.functions import REQUIREMENTS  # noqa: E402

TARGET_RATIO = 1.3
RUNTIME_MODULES = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six")
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
BASELINE = "baseline: import boto3 + 1 client"


def unpack_read_only(archive: str, destination: str, bytecode: bool = True) -> None:
    """Unpack a zip as Lambda does (read-only files and directories); without `bytecode`, skip its pycs."""
    with zipfile.ZipFile(archive) as source:
        for name in source.namelist():
            if bytecode or not name.endswith(".pyc"):
                source.extract(name, destination)
    _set_writable(destination, False)


def _set_writable(root: str, writable: bool) -> None:
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, 0o755 if writable else 0o555)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644 if writable else 0o444)


def lambda_path(layout: str) -> list[str]:
    """sys.path entries of a layout directory, in the Lambda runtime's order."""
    return [os.path.join(layout, "task"), os.path.join(layout, "opt", "python"), os.path.join(layout, "runtime")]


def bytecode_files(root: str) -> int:
    return sum(name.endswith(".pyc") for _dir, _subdirs, files in os.walk(root) for name in files)


def _runtime_standin(destination: str, interpreter: str) -> None:
    """The runtime's own boto3 and its dependencies, from this virtualenv, compiled by the target interpreter."""
    entries = []
    for module in RUNTIME_MODULES:
        origin = importlib.util.find_spec(module).origin
        if os.path.basename(origin) == "__init__.py":
            shutil.copytree(
                os.path.dirname(origin),
                os.path.join(destination, module),
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            os.makedirs(destination, exist_ok=True)
            shutil.copy(origin, destination)
    for directory, _subdirs, files in os.walk(destination):
        entries += [
            (os.path.join(directory, name), os.path.relpath(os.path.join(directory, name), destination))
            for name in files
            if name.endswith(".py")
        ]
    packaging.compile_bytecode(interpreter, entries, destination)
    _set_writable(destination, False)


def _boto3_into_layer(layer_dir: str, architecture: str, python_version: str, interpreter: str, scratch: str) -> None:
    pins = os.path.join(scratch, "boto3-requirements.txt")
    with open(pins, "w", encoding="utf-8") as handle:
        handle.writelines(f"{name}=={importlib.metadata.version(name)}\n" for name in ("boto3", "botocore"))
    _set_writable(layer_dir, True)
    packaging.install_requirements(pins, architecture, python_version, layer_dir)
    entries = [
        (os.path.join(directory, name), os.path.relpath(os.path.join(directory, name), layer_dir))
        for directory, _subdirs, files in os.walk(layer_dir)
        for name in files
        if name.endswith(".py") and "__pycache__" not in directory
    ]
    packaging.compile_bytecode(interpreter, entries, layer_dir)
    _set_writable(layer_dir, False)


def build_layouts(scratch: str, interpreter: str, python_version: str, build_dir: str) -> dict[str, str]:
    """The layout directories by name (see the module docstring); the baseline's has the runtime only."""
    architecture = ARCHITECTURES[platform.machine().lower()]
    runtime = os.path.join(scratch, "runtime")
    _runtime_standin(runtime, interpreter)
    old_layer = os.path.join(scratch, "old-layer")
    packaging.install_requirements(REQUIREMENTS, architecture, python_version, os.path.join(old_layer, "python"))
    sources = {
        "old": (packaging.build_code_archive(ROOT, build_dir), None, True),
        "trimmed": (
            packaging.build_code_archive(ROOT, build_dir),
            packaging.build_dependency_layer(REQUIREMENTS, architecture, python_version, build_dir),
            False,
        ),
        "new": (
            packaging.build_code_archive(ROOT, build_dir, python_version),
            packaging.build_dependency_layer(REQUIREMENTS, architecture, python_version, build_dir),
            True,
        ),
    }
    sources["boto3 in layer"] = sources["new"]
    layouts = {}
    for name, (code, layer, bytecode) in sources.items():
        layout = os.path.join(scratch, name.replace(" ", "-"))
        unpack_read_only(code, os.path.join(layout, "task"), bytecode)
        if layer:
            unpack_read_only(layer, os.path.join(layout, "opt"), bytecode)
        else:
            shutil.copytree(old_layer, os.path.join(layout, "opt"))
            _set_writable(os.path.join(layout, "opt"), False)
        os.symlink(runtime, os.path.join(layout, "runtime"))
        layouts[name] = layout
    _boto3_into_layer(
        os.path.join(layouts["boto3 in layer"], "opt", "python"), architecture, python_version, interpreter, scratch
    )
    layouts[BASELINE] = os.path.join(scratch, "baseline")
    os.makedirs(layouts[BASELINE])
    os.symlink(runtime, os.path.join(layouts[BASELINE], "runtime"))
    return layouts


def _sample(interpreter: str, layout: str, body: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(lambda_path(layout)),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    out = subprocess.run(
        [interpreter, "-S", "-c", _PROBE.format(body=body)],
        cwd=layout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(interpreter: str, layouts: dict[str, str], runs: int) -> dict[tuple[str, str], dict]:
    """Median figures per (layout, module); rounds interleave every cell so load drifts hit all of them alike."""
    cells = {(BASELINE, "baseline"): _BASELINE}
    for layout in (name for name in layouts if name != BASELINE):
        cells.update(
            {
                (layout, module): _HANDLER.format(
                    module=module, services=services, first_use=POWERTOOLS_FIRST_USE.get(module, ())
                )
                for module, services in HANDLERS.items()
            }
        )
    for (layout, _module), body in cells.items():
        _sample(interpreter, layouts[layout], body)  # warm the OS file cache
    samples: dict[tuple[str, str], list[dict]] = {cell: [] for cell in cells}
    for _ in range(runs):
        for (layout, module), body in cells.items():
            samples[(layout, module)].append(_sample(interpreter, layouts[layout], body))
    return {
        cell: {key: statistics.median(s[key] for s in rows) for key in ("logger_ms", "cpu_ms", "peak_mb")}
        for cell, rows in samples.items()
    }


def _layer_summary(layout: str) -> str:
    root = os.path.join(layout, "opt", "python")
    files = [os.path.join(d, n) for d, _s, names in os.walk(root) for n in names]
    size = sum(os.path.getsize(path) for path in files) / 1e6
    return f"{len(files)} files, {size:.1f} MB, {sum(path.endswith('.pyc') for path in files)} pyc"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", help="target interpreter (default: a python3.12 on this machine, else this one)")
    args = parser.parse_args()
    interpreter = args.python or packaging.bytecode_compiler("3.12") or sys.executable
    python_version = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    scratch = tempfile.mkdtemp(prefix="cold-start-")
    try:
        layouts = build_layouts(scratch, interpreter, python_version, os.path.join(scratch, "build"))
        before = {name: bytecode_files(layout) for name, layout in layouts.items()}
        figures = measure(interpreter, layouts, args.runs)
        written = [name for name, layout in layouts.items() if bytecode_files(layout) != before[name]]
        _report(figures, layouts, python_version, interpreter, args.runs, written)
        return 0 if not written and _worst(figures, "new") <= TARGET_RATIO else 1
    finally:
        _set_writable(scratch, True)
        shutil.rmtree(scratch, ignore_errors=True)


def _worst(figures: dict, layout: str) -> float:
    base = figures[(BASELINE, "baseline")]["logger_ms"]
    return max(cell["logger_ms"] / base for (name, _module), cell in figures.items() if name == layout)


def _report(figures: dict, layouts: dict, python_version: str, interpreter: str, runs: int, written: list) -> None:
    names = [name for name in layouts if name != BASELINE]
    base = figures[(BASELINE, "baseline")]
    print(
        f"Python {python_version} ({interpreter}), {platform.machine()}; baseline {base['logger_ms']:.0f} ms wall, "
        f"{base['cpu_ms']:.0f} ms CPU, {base['peak_mb']:.1f} MB peak RSS"
    )
    for name in names:
        print(f"  {name:15} layer: {_layer_summary(layouts[name])}")
    print("\ninit + Logger, wall ms (x baseline) / CPU ms (x baseline) / peak MB")
    print(f"{'handler':14}" + "".join(f"{name:>34}" for name in names))
    for module in HANDLERS:
        cells = []
        for name in names:
            cell = figures[(name, module)]
            cells.append(
                f"{cell['logger_ms']:5.0f} ({cell['logger_ms'] / base['logger_ms']:.2f}) / "
                f"{cell['cpu_ms']:4.0f} ({cell['cpu_ms'] / base['cpu_ms']:.2f}) / {cell['peak_mb']:3.0f}"
            )
        print(f"{module:14}" + "".join(f"{text:>34}" for text in cells))
    print(
        f"\n{runs} fresh interpreters per cell, medians; target: every handler within {TARGET_RATIO}x of the "
        f"baseline in the new layout (worst wall {_worst(figures, 'new'):.2f}x)."
    )
    if written:
        print(f"bytecode was written during the runs in: {', '.join(written)} (the layout leaked a cache)")


if __name__ == "__main__":
    sys.exit(main())
