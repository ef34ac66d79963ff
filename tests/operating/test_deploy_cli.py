"""deploy.py against a fake `pulumi` executable (tests/operating/fake_pulumi.py) placed first on PATH.

This verifies OUR orchestration, not Pulumi itself: which CLI commands the Automation API is made to run (exact
argv), in which directory (the repository root, i.e. the same program `pulumi up` runs, or backend/), against which
backend and secrets provider, what is streamed and printed, and which exit code each failure gives CI. The fake
answers like the real CLI does (`pulumi version`, "no stack named ... found", lock conflicts, JSON outputs); it does
not deploy anything.
"""

import json
import os
import stat
import subprocess
import sys

import pytest

import deploy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_pulumi.py")
BACKEND_URL = "s3://acme-pulumi-state?region=eu-west-1"
SECRETS = "awskms://alias/interlock-pulumi-secrets?region=eu-west-1"
LOCKED = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or "
    "delete the lock file with `pulumi cancel`."
)


class FakePulumi:
    """Installs the fake CLI, writes its scenario, and reads back what it was asked to do."""

    def __init__(self, tmp_path, monkeypatch):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        executable = self.bin / "pulumi"
        executable.write_text(f"#!{sys.executable}\nimport runpy\nrunpy.run_path({FAKE!r}, run_name='__main__')\n")
        executable.chmod(executable.stat().st_mode | stat.S_IEXEC)
        self.log = tmp_path / "calls.jsonl"
        self.scenario_file = tmp_path / "scenario.json"
        self.scenario = {
            "stacks": {"interlock": ["team-a-dev"], "interlock-backend": []},
            "outputs": {"interlock": {"tableName": "team-a", "apiToken": "s3cr3t"}},
            "secret_outputs": ["apiToken"],
        }
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_PULUMI_LOG", str(self.log))
        monkeypatch.setenv("FAKE_PULUMI_SCENARIO", str(self.scenario_file))
        for name in (
            "PULUMI_BACKEND_URL",
            "INTERLOCK_SECRETS_PROVIDER",
            "INTERLOCK_BACKEND_STACK",
            "INTERLOCK_BOOTSTRAP_BACKEND_URL",
            "PULUMI_CONFIG_PASSPHRASE",
            "PULUMI_CONFIG_PASSPHRASE_FILE",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK",
        ):
            monkeypatch.delenv(name, raising=False)

    def run(self, *argv):
        self.scenario_file.write_text(json.dumps(self.scenario))
        return deploy.main(list(argv))

    def calls(self, include_version=False):
        """Recorded invocations; `pulumi version` (run by LocalWorkspace from the caller's cwd) only on request."""
        if not self.log.exists():
            return []
        calls = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [call for call in calls if include_version or call["argv"] != ["version"]]

    def commands(self):
        """argv of every call but `pulumi version`, without the --non-interactive flag the SDK always adds."""
        return [[a for a in call["argv"] if a != "--non-interactive"] for call in self.calls()]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    return FakePulumi(tmp_path, monkeypatch)


@pytest.fixture
def env_backend(monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", BACKEND_URL)
    monkeypatch.setenv("INTERLOCK_SECRETS_PROVIDER", SECRETS)


def test_up_by_team_and_env_runs_the_repository_program_on_the_env_backend(fake, env_backend, capsys):
    assert fake.run("up", "--team", "team-a", "--env", "dev") == deploy.EXIT_OK
    assert fake.commands() == [
        ["stack", "select", "--stack", "team-a-dev"],
        ["up", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", "team-a-dev"],
        ["stack", "output", "--json", "--stack", "team-a-dev"],
        ["stack", "output", "--json", "--show-secrets", "--stack", "team-a-dev"],
        ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "team-a-dev"],
    ]
    assert fake.calls(include_version=True)[0]["argv"] == ["version"]  # LocalWorkspace checks the CLI first
    calls = fake.calls()
    assert {call["cwd"] for call in calls} == {ROOT}
    assert {call["env"]["PULUMI_BACKEND_URL"] for call in calls} == {BACKEND_URL}
    out = capsys.readouterr().out
    assert "up of interlock/team-a-dev: engine running" in out  # engine output is streamed
    printed = json.loads(out[out.index("{") :])
    assert printed == {"tableName": "team-a", "apiToken": deploy.MASK}
    assert "s3cr3t" not in out


def test_preview_passes_policy_packs_and_reports_the_change_summary(fake, env_backend, capsys):
    assert fake.run("preview", "--stack", "team-a-dev", "--policy-pack", "policy") == deploy.EXIT_OK
    [preview] = fake.commands()[1:]
    assert preview[:3] == ["preview", "--policy-pack", "policy"]
    assert preview[3:5] == ["--exec-kind", "auto.local"] and preview[-2:] == ["--stack", "team-a-dev"]
    assert preview[preview.index("--event-log") + 1]  # the SDK reads the change summary from this log
    captured = capsys.readouterr()
    assert "preview of interlock/team-a-dev: engine running" in captured.out
    assert 'preview: {"same": 3}' in captured.err


def test_backend_comes_from_the_backend_stack_outputs_when_the_environment_has_none(fake, capsys):
    fake.scenario["stacks"]["interlock-backend"] = ["bootstrap"]
    fake.scenario["outputs"]["interlock-backend"] = {"backendUrl": BACKEND_URL, "secretsProvider": SECRETS}
    assert fake.run("refresh", "--stack", "team-a-dev") == deploy.EXIT_OK
    calls = fake.calls()
    backend_calls = [call for call in calls if call["cwd"] == os.path.join(ROOT, "backend")]
    assert backend_calls[0]["argv"][1:] == ["stack", "select", "--stack", "bootstrap"]
    assert {c["env"]["PULUMI_BACKEND_URL"] for c in backend_calls} == {f"file://{ROOT}/backend"}
    assert {c["env"]["PULUMI_CONFIG_PASSPHRASE"] for c in backend_calls} == {""}
    main_calls = [call for call in calls if call["cwd"] == ROOT]
    assert {c["env"]["PULUMI_BACKEND_URL"] for c in main_calls} == {BACKEND_URL}
    assert [a for a in main_calls[1]["argv"] if a != "--non-interactive"][:3] == ["refresh", "--skip-preview", "--yes"]


def test_backend_stack_name_and_location_can_be_overridden(fake, monkeypatch):
    monkeypatch.setenv("INTERLOCK_BACKEND_STACK", "shared")
    monkeypatch.setenv("INTERLOCK_BOOTSTRAP_BACKEND_URL", "s3://bootstrap-state")
    monkeypatch.setenv("PULUMI_BACKEND_URL", BACKEND_URL)  # only the secrets provider is missing
    fake.scenario["stacks"]["interlock-backend"] = ["shared"]
    fake.scenario["outputs"]["interlock-backend"] = {"backendUrl": "s3://ignored", "secretsProvider": SECRETS}
    assert fake.run("outputs", "--stack", "team-a-dev") == deploy.EXIT_OK
    calls = fake.calls()
    assert calls[0]["argv"][1:] == ["stack", "select", "--stack", "shared"]
    assert calls[0]["env"]["PULUMI_BACKEND_URL"] == "s3://bootstrap-state"
    assert {c["env"]["PULUMI_BACKEND_URL"] for c in calls if c["cwd"] == ROOT} == {BACKEND_URL}


def test_no_backend_anywhere_is_a_configuration_error(fake, capsys):
    assert fake.run("up", "--stack", "team-a-dev") == deploy.EXIT_USAGE
    assert "deploy.py bootstrap" in capsys.readouterr().err
    assert not any(command[0] == "up" for command in fake.commands())


def test_missing_stack_exits_4_without_creating_it(fake, env_backend, capsys):
    assert fake.run("up", "--team", "team-b", "--env", "dev") == deploy.EXIT_STACK_NOT_FOUND
    assert fake.commands() == [["stack", "select", "--stack", "team-b-dev"]]
    assert "does not exist" in capsys.readouterr().err


def test_create_initialises_a_missing_stack_with_the_kms_secrets_provider(fake, env_backend):
    assert fake.run("preview", "--team", "team-b", "--env", "dev", "--create") == deploy.EXIT_OK
    commands = fake.commands()
    assert commands[:2] == [
        ["stack", "select", "--stack", "team-b-dev"],
        ["stack", "init", "team-b-dev", "--secrets-provider", SECRETS],
    ]
    assert commands[2][0] == "preview"


def test_concurrent_update_exits_3(fake, env_backend, capsys):
    fake.scenario["fail"] = {"up": {"stderr": LOCKED, "code": 255}}
    assert fake.run("up", "--stack", "team-a-dev") == deploy.EXIT_CONCURRENT_UPDATE
    assert "another update holds the stack's lock" in capsys.readouterr().err


def test_failed_update_exits_1_with_the_engine_error(fake, env_backend, capsys):
    fake.scenario["fail"] = {
        "up": {
            "stdout": "Updating (team-a-dev)\n  aws:dynamodb:Table creating failed",
            "stderr": "error: update failed",
            "code": 255,
        }
    }
    assert fake.run("up", "--stack", "team-a-dev") == deploy.EXIT_FAILED
    err = capsys.readouterr().err
    assert "deploy.py: error: up failed: update failed" in err


def test_destroy_refuses_without_yes_and_never_calls_pulumi(fake, env_backend, capsys):
    assert fake.run("destroy", "--stack", "team-a-dev") == deploy.EXIT_USAGE
    assert fake.calls(include_version=True) == []
    assert "--yes" in capsys.readouterr().err
    assert fake.run("destroy", "--stack", "team-a-dev", "--yes") == deploy.EXIT_OK
    destroy = fake.commands()[1]
    assert destroy[:3] == ["destroy", "--skip-preview", "--yes"] and destroy[-2:] == ["--stack", "team-a-dev"]


def test_config_set_from_file(fake, env_backend, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEAM_A_TOKEN", "tok-123")
    config_file = tmp_path / "team-a.yaml"
    config_file.write_text(
        "interlock:projectName: team-a\n"
        "interlock:lambdaMemory: 512\n"
        "interlock:deletionProtection: false\n"
        "interlock:allowedNetworks: [10.0.0.0/8]\n"
        "interlock:apiToken: {secretFromEnv: TEAM_A_TOKEN}\n"
    )
    assert fake.run("config", "set", str(config_file), "--stack", "team-a-dev") == deploy.EXIT_OK
    assert fake.commands()[1] == [
        "config",
        "set-all",
        "--stack",
        "team-a-dev",
        "--plaintext",
        "interlock:projectName=team-a",
        "--plaintext",
        "interlock:lambdaMemory=512",
        "--plaintext",
        "interlock:deletionProtection=false",
        "--plaintext",
        'interlock:allowedNetworks=["10.0.0.0/8"]',
        "--secret",
        "interlock:apiToken=tok-123",
    ]
    captured = capsys.readouterr()
    assert "tok-123" not in captured.out + captured.err


BILLION_LAUGHS = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 6))


@pytest.mark.parametrize(
    "content, message",
    [
        ("- just\n- a list\n", "expected a non-empty mapping"),
        ("interlock:apiToken: {secretFromEnv: NOT_SET_ANYWHERE}\n", "NOT_SET_ANYWHERE"),
        ("interlock:projectName:\n", "has no value"),
        ("interlock:projectName: [unclosed\n", "invalid YAML"),
        (BILLION_LAUGHS, "aliases"),
        ("interlock:projectName: !!python/object:os.system ls\n", "tag"),
    ],
)
def test_bad_config_file_is_a_usage_error_before_any_cli_call(fake, env_backend, tmp_path, capsys, content, message):
    config_file = tmp_path / "bad.yaml"
    config_file.write_text(content)
    assert fake.run("config", "set", str(config_file), "--stack", "team-a-dev") == deploy.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert fake.calls(include_version=True) == []


def test_config_get_masks_secrets(fake, env_backend, capsys):
    fake.scenario["config"] = {
        "interlock:projectName": {"value": "team-a", "secret": False},
        "interlock:apiToken": {"value": "tok-123", "secret": True},
    }
    assert fake.run("config", "get", "--stack", "team-a-dev") == deploy.EXIT_OK
    assert fake.commands()[1] == ["config", "--show-secrets", "--json", "--stack", "team-a-dev"]
    assert fake.run("config", "get", "interlock:apiToken", "--stack", "team-a-dev") == deploy.EXIT_OK
    assert fake.commands()[-1] == ["config", "get", "interlock:apiToken", "--json", "--stack", "team-a-dev"]
    out = capsys.readouterr().out
    assert "tok-123" not in out
    first, second = out.split("}\n", 1)
    assert json.loads(first + "}") == {"interlock:apiToken": deploy.MASK, "interlock:projectName": "team-a"}
    assert json.loads(second) == {"interlock:apiToken": deploy.MASK}


def test_bootstrap_creates_the_backend_stack_and_prints_the_login_settings(fake, capsys):
    fake.scenario["outputs"]["interlock-backend"] = {"backendUrl": BACKEND_URL, "secretsProvider": SECRETS}
    assert fake.run("bootstrap", "--region", "eu-west-1") == deploy.EXIT_OK
    commands = fake.commands()
    assert commands[:4] == [
        ["stack", "select", "--stack", "bootstrap"],
        ["stack", "init", "bootstrap"],
        ["config", "set", "aws:region", "--plaintext", "--stack", "bootstrap", "--", "eu-west-1"],
        ["up", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", "bootstrap"],
    ]
    assert {call["cwd"] for call in fake.calls()} == {os.path.join(ROOT, "backend")}
    assert {call["env"]["PULUMI_BACKEND_URL"] for call in fake.calls()} == {f"file://{ROOT}/backend"}
    out = capsys.readouterr().out
    assert f"export PULUMI_BACKEND_URL='{BACKEND_URL}'" in out
    assert f"export INTERLOCK_SECRETS_PROVIDER='{SECRETS}'" in out


def test_bootstrap_keeps_a_given_passphrase(fake, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "correct horse")
    fake.scenario["stacks"]["interlock-backend"] = ["bootstrap"]
    fake.scenario["outputs"]["interlock-backend"] = {"backendUrl": BACKEND_URL, "secretsProvider": SECRETS}
    assert fake.run("bootstrap") == deploy.EXIT_OK
    assert {call["env"]["PULUMI_CONFIG_PASSPHRASE"] for call in fake.calls()} == {"correct horse"}


@pytest.mark.parametrize(
    "argv",
    [
        ["up"],
        ["up", "--team", "team-a"],
        ["up", "--stack", "team-a-dev", "--team", "team-a", "--env", "dev"],
        ["up", "--team", "Team A", "--env", "dev"],
        ["launch", "--stack", "team-a-dev"],
        ["config", "set", "--stack", "team-a-dev"],
    ],
)
def test_bad_usage_exits_2_without_calling_pulumi(fake, env_backend, argv):
    assert fake.run(*argv) == deploy.EXIT_USAGE
    assert fake.calls(include_version=True) == []


def test_missing_cli_is_one_clear_line_and_exit_5(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert deploy.main(["up", "--stack", "team-a-dev"]) == deploy.EXIT_NO_CLI
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Pulumi CLI" in err and "not found" in err


def test_exit_codes_reach_the_calling_process(fake, env_backend):
    """As CI runs it: a separate `python deploy.py` process, its exit status and stdout."""

    def outputs_in_a_process():
        fake.scenario_file.write_text(json.dumps(fake.scenario))
        return subprocess.run(
            [sys.executable, os.path.join(ROOT, "deploy.py"), "outputs", "--stack", "team-a-dev"],
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = outputs_in_a_process()
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"tableName": "team-a", "apiToken": deploy.MASK}
    fake.scenario["fail"] = {"stack select": {"stderr": LOCKED, "code": 255}}
    locked = outputs_in_a_process()
    assert locked.returncode == deploy.EXIT_CONCURRENT_UPDATE
