"""The code zip is byte-identical for identical sources; the dependency layer is built for the target and cached."""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile

import pytest

from components import packaging
from components.stack_settings import PROJECT_ROOT
from components.functions import BUILD_DIR, REQUIREMENTS


@pytest.fixture
def source_tree(tmp_path):
    """A copy of handlers/ and archetypes/ we may modify."""
    for top in ("handlers", "archetypes"):
        shutil.copytree(os.path.join(PROJECT_ROOT, top), tmp_path / top,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
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
    assert open(first, "rb").read() == open(second, "rb").read()
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
    (function,) = [f for f in default_run.of_type("aws:lambda/function:Function")
                   if f.inputs["name"] == "team-a-orchestrator"]
    with zipfile.ZipFile(function.inputs["code"].path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert "handlers/__init__.py" in names and "handlers/interlock/__init__.py" in names
    assert "handlers/interlock/schema.py" in names and "handlers/requirements.txt" not in names
    assert any(name.startswith("archetypes/") and name.endswith(".yaml") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
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
    keys = {packaging.layer_cache_key(REQUIREMENTS, arch, version)
            for arch, version in (("arm64", "3.12"), ("x86_64", "3.12"), ("arm64", "3.13"))}
    assert len(keys) == 3
    changed = tmp_path / "requirements.txt"
    changed.write_text(open(REQUIREMENTS, encoding="utf-8").read() + "\n# pinned differently\n")
    assert packaging.layer_cache_key(str(changed), "arm64", "3.12") not in keys
