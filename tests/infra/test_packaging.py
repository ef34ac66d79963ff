"""The code zip is byte-identical for identical sources; the dependency layer is built for the target and cached."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import zipfile

import pytest

from components import packaging
from components.function_records import FUNCTIONS
from components.functions import BUILD_DIR, REQUIREMENTS
from components.stack_settings import PROJECT_ROOT


@pytest.fixture
def source_tree(tmp_path):
    """A copy of handlers/ and archetypes/ we may modify."""
    for top in ("handlers", "archetypes"):
        shutil.copytree(
            os.path.join(PROJECT_ROOT, top), tmp_path / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return tmp_path


def test_same_sources_same_bytes_even_with_new_timestamps_and_caches(source_tree, tmp_path):
    first = packaging.build_code_archive(str(source_tree), str(tmp_path / "one"))
    for directory, _dirs, files in os.walk(source_tree):
        for name in files:
            os.utime(os.path.join(directory, name), (1_900_000_000, 1_900_000_000))
    (source_tree / "handlers" / "__pycache__").mkdir(exist_ok=True)
    (source_tree / "handlers" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"cache")
    (source_tree / "handlers" / "stray.pyc").write_bytes(b"cache")
    second = packaging.build_code_archive(str(source_tree), str(tmp_path / "two"))
    assert pathlib.Path(first).read_bytes() == pathlib.Path(second).read_bytes()
    assert packaging.source_code_hash(first) == packaging.source_code_hash(second)
    assert os.path.basename(first) == os.path.basename(second)


def test_changed_source_changes_the_archive(source_tree, tmp_path):
    before = packaging.build_code_archive(str(source_tree), str(tmp_path / "out"))
    with open(source_tree / "handlers" / "interlock" / "schema.py", "a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    after = packaging.build_code_archive(str(source_tree), str(tmp_path / "out"))
    assert packaging.source_code_hash(before) != packaging.source_code_hash(after)
    assert before != after and os.path.exists(before)


def test_archive_layout_and_metadata(default_run):
    (function,) = [
        f for f in default_run.of_type("aws:lambda/function:Function") if f.inputs["name"] == "team-a-orchestrator"
    ]
    with zipfile.ZipFile(function.inputs["code"].path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert "handlers/__init__.py" in names and "handlers/interlock/__init__.py" in names
    assert "handlers/interlock/schema.py" in names and "handlers/requirements.txt" not in names
    assert any(name.startswith("archetypes/") and name.endswith(".yaml") for name in names)
    sources = [name for name in names if name.startswith("handlers/") and name.endswith(".py")]
    compiled = {importlib.util.cache_from_source(name).replace("cpython-311", "cpython-312") for name in sources}
    assert [name for name in names if "__pycache__" in name or name.endswith(".pyc")] == (
        sorted(compiled) if packaging.bytecode_compiler("3.12") else []
    )  # only the runtime's, of shipped sources
    assert {name.split("/")[0] for name in names} == {"handlers", "archetypes"}
    for info in infos:
        assert info.date_time == packaging.FIXED_TIMESTAMP and info.external_attr >> 16 == 0o644
    for handler in {f.inputs["handler"] for f in default_run.of_type("aws:lambda/function:Function")}:
        assert "/".join(handler.split(".")[:-1]) + ".py" in names, handler


def test_layer_has_wheels_for_the_target_platform(default_run):
    (layer,) = default_run.of_type("aws:lambda/layerVersion:LayerVersion")
    with zipfile.ZipFile(layer.inputs["code"].path) as archive:
        names = archive.namelist()
    assert all(name.startswith("python/") for name in names)
    assert any(name.startswith("python/aws_lambda_powertools/") for name in names)
    assert any(name.startswith("python/yaml/_yaml.cpython-312-aarch64-linux-gnu") for name in names)
    assert not any(name.startswith("python/boto3/") for name in names)


def test_layer_is_cached_by_requirements_architecture_and_python(default_run, monkeypatch, tmp_path):
    cached = packaging.build_dependency_layer(REQUIREMENTS, "arm64", "3.12", BUILD_DIR)
    assert os.path.exists(cached)

    def no_pip(*_args, **_kwargs):
        raise AssertionError("pip ran although the layer is cached")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert packaging.build_dependency_layer(REQUIREMENTS, "arm64", "3.12", BUILD_DIR) == cached
    monkeypatch.undo()
    keys = {
        packaging.layer_cache_key(REQUIREMENTS, arch, version)
        for arch, version in (("arm64", "3.12"), ("x86_64", "3.12"), ("arm64", "3.13"))
    }
    assert len(keys) == 3
    changed = tmp_path / "requirements.txt"
    changed.write_text(pathlib.Path(REQUIREMENTS).read_text(encoding="utf-8") + "\n# pinned differently\n")
    assert packaging.layer_cache_key(str(changed), "arm64", "3.12") not in keys


def test_layer_is_trimmed_to_what_the_handlers_import(default_run):
    (layer,) = default_run.of_type("aws:lambda/layerVersion:LayerVersion")
    with zipfile.ZipFile(layer.inputs["code"].path) as archive:
        names = archive.namelist()
    tops = {name.split("/")[1] for name in names}
    assert {"aws_lambda_powertools", "yaml", "typing_extensions.py", "tzdata"} <= tops
    assert not tops & {"jmespath", "bin", "boto3", "botocore"}  # the runtime's own copies are used
    assert not [name for name in tops if name.startswith("jmespath-")]
    powertools = {"/".join(name.split("/")[2:4]) for name in names if name.startswith("python/aws_lambda_powertools/")}
    assert {"utilities/batch", "utilities/data_classes", "utilities/jmespath_utils", "logging/logger.py"} <= powertools
    dropped = ("event_handler", "utilities/parser", "utilities/idempotency", "utilities/parameters")
    assert not [part for part in powertools if part.startswith(dropped)]
    assert not [name for name in names if name.endswith(("/RECORD", "/INSTALLER", "/WHEEL"))]
    assert "python/aws_lambda_powertools-3.37.0.dist-info/METADATA" in names


@pytest.mark.parametrize(
    "name, kept",
    [
        ("aws_lambda_powertools/logging/logger.py", True),
        ("aws_lambda_powertools/utilities/batch/base.py", True),
        ("aws_lambda_powertools/utilities/__init__.py", True),
        ("aws_lambda_powertools/event_handler/api_gateway.py", False),
        ("aws_lambda_powertools/utilities/parser/models/sqs.py", False),
        ("aws_lambda_powertools/utilities/serialization.py", False),
        ("jmespath/parser.py", False),
        ("jmespath-1.1.0.dist-info/METADATA", False),
        ("python_dateutil-2.9.0.post0.dist-info/METADATA", False),
        ("six.py", False),
        ("bin/jp.py", False),
        ("pyyaml-6.0.3.dist-info/RECORD", False),
        ("pyyaml-6.0.3.dist-info/METADATA", True),
        ("pyyaml-6.0.3.dist-info/licenses/LICENSE", True),
        ("yaml/__init__.py", True),
        ("typing_extensions.py", True),
        ("tzdata/zoneinfo/Europe/Berlin", True),
    ],
)
def test_layer_trimming_rules(name, kept):
    assert packaging.layer_entry_kept(name) is kept


def test_layer_cache_key_follows_the_trimming_rules_and_the_bytecode(monkeypatch):
    key = packaging.layer_cache_key(REQUIREMENTS, "arm64", "3.12")
    monkeypatch.setattr(packaging, "POWERTOOLS_KEPT", (*packaging.POWERTOOLS_KEPT, "utilities/parser/"))
    assert packaging.layer_cache_key(REQUIREMENTS, "arm64", "3.12") != key
    monkeypatch.undo()
    monkeypatch.setattr(packaging, "bytecode_compiler", lambda version: None)
    assert packaging.layer_cache_key(REQUIREMENTS, "arm64", "3.12") != key


def test_bytecode_is_deterministic_unchecked_and_for_the_interpreter_that_compiled_it(tmp_path):
    entries = packaging._files_under(PROJECT_ROOT, "handlers")
    first = packaging.compile_bytecode(sys.executable, entries, str(tmp_path / "one"))
    second = packaging.compile_bytecode(sys.executable, entries, str(tmp_path / "two"))
    assert [name for _path, name in first] == [name for _path, name in second]
    assert len(first) == len([name for _path, name in entries if name.endswith(".py")])
    for (path_one, name), (path_two, _name) in zip(first, second, strict=True):
        with open(path_one, "rb") as one, open(path_two, "rb") as two:
            data = one.read()
            assert data == two.read(), name
        assert data[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(data[4:8], "little") == 0b01, name
    assert packaging.bytecode_compiler("{}.{}".format(*sys.version_info[:2])) == sys.executable
    assert packaging.bytecode_compiler("2.0") is None


_IN_THE_LAMBDA_LAYOUT = r"""
import importlib, json, os, sys
for module in sys.argv[1:]:
    importlib.import_module(f"handlers.{module}")
from handlers import stream_router
from handlers.interlock import archetypes, log
log.logger().info("from the layer")
assert archetypes.load_dir(os.path.join(os.environ["PYTHONPATH"].split(os.pathsep)[0], "archetypes"))
record = {"eventID": "1", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "7",
          "Keys": {"PK": {"S": "PIPELINE#p"}, "SK": {"S": "MARKER#bad"}}, "NewImage": {}}}
answer = stream_router.handler({"Records": [record]}, None)
import pkgutil, aws_lambda_powertools
kept = [name for _finder, name, _pkg in pkgutil.walk_packages(aws_lambda_powertools.__path__, "aws_lambda_powertools.")]
for name in kept:
    importlib.import_module(name)
origins = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
           if name.split(".")[0] in ("handlers", "aws_lambda_powertools", "yaml", "typing_extensions", "jmespath",
                                     "boto3", "botocore")}
print(json.dumps({"answer": answer, "origins": origins, "kept": len(kept),
                  "cached": sorted(name for name, module in sys.modules.items()
                                   if name.startswith("handlers") and os.path.exists(module.__cached__ or ""))}))
"""


def test_every_handler_runs_from_the_built_zips_alone(tmp_path):
    """The layer built for this machine (same requirements and trimming), unpacked with the code zip in the Lambda
    layout, serves every handler module, the Logger, YAML and the batch utility; the repository is not on sys.path
    and boto3 and its dependencies come from a stand-in for the runtime's own."""
    version = "{}.{}".format(*sys.version_info[:2])
    machines = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
    architecture = machines[platform.machine().lower()]
    layer = packaging.build_dependency_layer(REQUIREMENTS, architecture, version, BUILD_DIR)
    code = packaging.build_code_archive(PROJECT_ROOT, str(tmp_path / "build"), version)
    zipfile.ZipFile(code).extractall(tmp_path / "task")
    zipfile.ZipFile(layer).extractall(tmp_path / "opt")
    (tmp_path / "runtime").mkdir()
    for module in ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six"):
        origin = importlib.util.find_spec(module).origin
        source = os.path.dirname(origin) if origin.endswith("__init__.py") else origin
        os.symlink(source, tmp_path / "runtime" / os.path.basename(source))
    path = [str(tmp_path / "task"), str(tmp_path / "opt" / "python"), str(tmp_path / "runtime")]
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join(path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:x",
        "TABLE_NAME": "t",
        "POWERTOOLS_SERVICE_NAME": "test",
    }
    modules = sorted({record.module for record in FUNCTIONS})
    result = subprocess.run(
        [sys.executable, "-S", "-c", _IN_THE_LAMBDA_LAYOUT, *modules],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["answer"] == {"batchItemFailures": [{"itemIdentifier": "7"}]}
    assert report["kept"] > 50
    where = {
        "handlers": path[0],
        "aws_lambda_powertools": path[1],
        "yaml": path[1],
        "typing_extensions": path[1],
        "jmespath": path[2],
        "boto3": path[2],
        "botocore": path[2],
    }
    for name, origin in report["origins"].items():
        assert origin is None or origin.startswith(where[name.split(".")[0]] + os.sep), (name, origin)
    assert {"aws_lambda_powertools.utilities.batch", "yaml", "jmespath", "handlers.trigger"} <= set(report["origins"])
    assert {f"handlers.{module}" for module in modules} <= set(report["cached"])  # loaded from the shipped bytecode


def test_bench_unpacks_read_only_in_the_lambda_order(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the bench script puts its own directory first
    spec = importlib.util.spec_from_file_location(
        "cold_start_deployed", os.path.join(PROJECT_ROOT, "bench", "cold_start_deployed.py")
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("handlers/a.py", "A = 1\n")
        handle.writestr("handlers/__pycache__/a.cpython-312.pyc", b"\0")
    bench.unpack_read_only(str(archive), str(tmp_path / "source-only" / "task"), bytecode=False)
    bench.unpack_read_only(str(archive), str(tmp_path / "compiled" / "task"))
    assert bench.bytecode_files(str(tmp_path / "source-only")) == 0
    assert bench.bytecode_files(str(tmp_path / "compiled")) == 1
    assert os.stat(tmp_path / "source-only" / "task" / "handlers" / "a.py").st_mode & 0o777 == 0o444
    assert os.stat(tmp_path / "source-only" / "task" / "handlers").st_mode & 0o777 == 0o555
    assert bench.lambda_path("/l") == ["/l/task", "/l/opt/python", "/l/runtime"]
    bench._set_writable(str(tmp_path), True)
