"""Emulator defects: the IAM check ignores Lambdas the stack did not deploy; moto's per-failure log line is
filtered (and only that line); execution inputs are described once per execution."""

import logging
import types

from emulator import Emulator
from emulator.iam_check import ApiCall
from emulator.server import ExecutionFailureFilter


def test_unauthorized_calls_skip_functions_the_stack_did_not_deploy():
    emu = Emulator()
    emu.runtime = types.SimpleNamespace(api_calls={ApiCall("users-own-job", "s3:GetObject", "arn:aws:s3:::b/k")})
    emu.functions = {}
    assert emu.unauthorized_calls() == []  # was KeyError: 'users-own-job'


def _record(*args):
    return logging.LogRecord(ExecutionFailureFilter.LOGGER, logging.ERROR, __file__, 1, "%s at '%s'", args, None)


def test_the_failure_event_line_is_filtered_and_other_errors_pass():
    quiet = ExecutionFailureFilter()
    assert not quiet.filter(_record("Exception=FailureEventException, Error=States.TaskFailed", "x" * 5000))
    assert quiet.filter(_record("Exception=KeyError, Details=['oops']", "state"))


def test_an_execution_input_is_described_once():
    described = []
    emu = Emulator()
    emu._clients["stepfunctions"] = types.SimpleNamespace(
        describe_execution=lambda executionArn: described.append(executionArn) or {"input": '{"markerKey": "m"}'}
    )
    emu._list_executions = lambda: [{"executionArn": "arn:1"}, {"executionArn": "arn:2"}]
    for _ in range(5):
        assert len(emu.executions()) == 2
    assert emu.execution_for_marker("m") == "arn:1"
    assert described == ["arn:1", "arn:2"]
