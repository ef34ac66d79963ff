"""README's configuration reference is the table generated from Pulumi.yaml
(regenerate: python -m tests.infra.test_readme_config)."""

from __future__ import annotations

import json
import os

from components.stack_settings import PROJECT_ROOT, declared_config

README = os.path.join(PROJECT_ROOT, "README.md")


def _default(spec: dict) -> str:
    if "default" not in spec:
        return "required"
    value = spec["default"]
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str) and value:
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def config_table() -> str:
    """The Markdown table of every `interlock:` key: type, default, meaning (all from Pulumi.yaml)."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, spec in declared_config().items():
        kind = spec.get("type", "object" if isinstance(spec.get("default"), dict) else "list of objects")
        if kind == "array":
            kind = f"list of {spec['items']['type']}"
        meaning = spec["description"].replace("|", "\\|")
        rows.append(f"| `{key}` | {kind} | {_default(spec)} | {meaning} |")
    return "\n".join(rows)


def readme_config_section() -> str:
    with open(README, encoding="utf-8") as readme:
        text = readme.read()
    return text[text.index("<!-- BEGIN:config -->") : text.index("<!-- END:config -->")]


def test_readme_config_table_is_generated_from_pulumi_yaml():
    section = readme_config_section()
    assert config_table() in section, "README config table is stale: python -m tests.infra.test_readme_config"
    table_rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(table_rows) == len(declared_config())


def test_readme_points_at_pulumi_up_per_environment():
    section = readme_config_section()
    assert "pulumi up" in section and "#deploying-to-aws" in section


def test_the_readme_example_is_a_valid_stack_config():
    import yaml

    from components.stack_settings import load_settings

    section = readme_config_section()
    example = section[section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)]
    values = yaml.safe_load(example)["config"]
    settings = load_settings({key.split(":", 1)[1]: value for key, value in values.items()})
    assert settings.schedules[0].timezone == "Europe/London"
    assert settings.trigger_permissions.emr_serverless_roles


if __name__ == "__main__":
    print(config_table())
