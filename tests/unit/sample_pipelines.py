"""A pipeline config with every section filled in, in the form `PipelineConfig.to_dict()` writes back."""

FULL_PIPELINE = {
    "name": "sales",
    "archetype": "batch-ingestion",
    "tier": 2,
    "traits": {
        "source-freshness": {
            "evaluator": "builtin:s3-object",
            "config": {"key": "in/${date}.csv"},
            "ttl": 60,
            "timeout": 5,
        },
        "upstream-dependency": {"evaluator": "builtin:upstream-job-log", "config": {"upstreamPipeline": "raw"}},
    },
    "trigger": {"type": "glue", "jobName": "j", "arguments": {"--d": "${date}"}, "timeout": 30},
    "retry": {
        "maxAttempts": 4,
        "backoffSeconds": 10,
        "backoffMultiplier": 3.0,
        "retryableFailures": ["TRANSIENT"],
        "maxReruns": 0,
    },
    "sla": {
        "evaluationDeadline": "06:00",
        "completionDeadline": "+8h",
        "timezone": "Europe/Paris",
        "validationTimeout": "+45m",
        "warnBefore": "30m",
        "maxDuration": "3h",
    },
    "watch": {"interval": "5m", "enabled": True, "monitoring": {"enabled": True, "duration": "2h"}},
    "schedules": [{"name": "daily", "after": "05:00", "deadline": "09:00", "timezone": "UTC"}],
    "inclusions": {"calendar": "month-end", "days": ["monday"], "dates": ["2026-03-15"]},
    "exclusions": {"calendar": "weekends", "days": ["saturday"], "dates": ["2026-12-25"]},
}
