"""The YAML line of a field path (`traits.freshness.config.source`, `schedules[0].pipeline`) in a file."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def field_tokens(path: str) -> list[str | int]:
    return [int(index) if index else name for index, name in _TOKEN.findall(path)]


def line_of(filename: str, tokens: list[str | int]) -> int | None:
    """1-based line of the deepest node of `tokens` found in the YAML file (the line of the document when none
    is found); None when the file cannot be read or parsed."""
    import yaml

    try:
        with open(filename, encoding="utf-8") as handle:
            node = yaml.compose(handle)
    except (OSError, yaml.YAMLError):
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for token in tokens:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(token)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(token, int) and token < len(node.value):
            node = node.value[token]
            line = node.start_mark.line + 1
        else:
            break
    return line
