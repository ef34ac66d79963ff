"""`python -m emulator demo` (what `make demo` runs) reaches its expected outcome and says so."""

from emulator.demo import main


def test_demo_runs_the_example_end_to_end(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "sales-raw-ingest: SUCCEEDED" in out
    assert "job succeeded (poll 3)" in out
    # the timeline shows each trait the orchestrator had evaluated, in the pass that evaluated it
    assert "trigger ready=True source-freshness=PASS upstream-dependency=PASS" in out
    assert "done driftDetected=False expired=True source-freshness=PASS" in out
    assert "sales-daily-aggregate (started by the cascade marker" in out
    assert "FAILED" not in out


def test_demo_usage():
    assert main(["nonsense"]) == 2
