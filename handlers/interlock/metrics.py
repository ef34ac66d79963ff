"""Run outcomes as CloudWatch metrics: one embedded metric format (EMF) line on stdout per outcome, which
CloudWatch Logs turns into a metric in the `Interlock` namespace (no PutMetricData call, no extra permission).

Hand-written rather than Powertools Metrics: Powertools flushes through the `log_metrics` decorator or an explicit
flush per invocation and loads its metrics provider on import, while one self-contained line per outcome needs only
`json` and keeps the handlers' cold start (DESIGN §10.2) untouched. Every metric carries the `service` dimension
(POWERTOOLS_SERVICE_NAME = the stack's projectName, as Powertools names it), so teams sharing an account and the
namespace see their own pipelines.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

NAMESPACE = "Interlock"
RUNS_COMPLETED = "RunsCompleted"
RUNS_FAILED = "RunsFailed"
RUNS_SKIPPED = "RunsSkipped"
SLA_BREACHES = "SlaBreaches"
TRIGGER_FAILURES = "TriggerFailures"

# The dimension sets of each metric: per pipeline (what the dashboard plots), and finer where it helps.
DIMENSIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    RUNS_COMPLETED: (("service", "pipeline"), ("service", "pipeline", "schedule")),
    RUNS_FAILED: (("service", "pipeline"), ("service", "pipeline", "schedule")),
    RUNS_SKIPPED: (("service", "pipeline"), ("service", "pipeline", "schedule")),
    SLA_BREACHES: (("service", "pipeline"), ("service", "stage")),
    TRIGGER_FAILURES: (("service", "category"), ("service", "pipeline", "category")),
}


def emit(metric: str, *, pipeline_id: str, schedule_id: str = "", **properties: object) -> None:
    """Write one EMF line counting one `metric` for `pipeline_id`; `properties` (stage, category, reason, runID,
    ...) are logged with it; those named in the metric's dimension sets become dimensions."""
    values = {
        "service": os.environ.get("POWERTOOLS_SERVICE_NAME") or "interlock",
        "pipeline": pipeline_id,
        "schedule": schedule_id,
        **{key: "" if value is None else value for key, value in properties.items()},
    }
    dimension_sets: Sequence[tuple[str, ...]] = DIMENSIONS[metric]
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(names) for names in dimension_sets],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }
            ],
        },
        **{key: str(value) if key in _DIMENSION_NAMES else value for key, value in values.items()},
        metric: 1,
    }
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


_DIMENSION_NAMES = frozenset(name for sets in DIMENSIONS.values() for names in sets for name in names)
