"""Reading configuration documents (pipelines, archetypes, calendars, Pulumi project files) safely.

Whatever a file holds, the result is plain JSON-shaped data (dicts with string keys, lists, strings, finite
numbers, booleans, None) or a ConfigError naming the file: YAML is limited in size, nesting depth and aliases (a
"billion laughs" file or a self-reference fails at once instead of exhausting memory), duplicate and non-string
keys are errors, and YAML timestamps stay the strings they were written as. `yaml` is imported on first use, so a
handler that never reads a file does not load it.
"""

from __future__ import annotations

import functools
import json
import math
import os
from typing import Any

from .models import ConfigError

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 32  # nesting of collections, aliases expanded
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 50_000  # values after alias expansion: what a consumer walking the data would visit
MAX_INTEGER = 2**53  # integers JSON readers keep exact


class _Refused(Exception):
    """A limit or rule of this module, raised while reading; becomes a ConfigError naming the file."""


def load_yaml(text: str | bytes, source: str) -> Any:
    """The single YAML document in `text` as plain data. Raises ConfigError naming `source`."""
    text = _checked_text(text, source)
    import yaml

    loader = None
    try:
        loader = _loader_class()(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        data = loader.construct_document(node)
    except _Refused as exc:
        raise ConfigError([f"(file): {exc}"], source) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([f"(file): invalid YAML: {_describe(exc)}"], source) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"(file): invalid YAML: {exc}"], source) from None
    except ValueError as exc:  # a scalar the constructor cannot convert (e.g. an integer of 5000 digits)
        raise ConfigError([f"(file): invalid value: {exc}"], source) from None
    finally:
        if loader is not None:
            loader.dispose()
    return _plain(data, source)


def load_json(text: str | bytes, source: str) -> Any:
    """The JSON document in `text` as plain data (no NaN or Infinity, no duplicate keys, depth limited)."""
    text = _checked_text(text, source)

    def refuse_constant(name: str) -> Any:
        raise _Refused(f"{name} is not a number JSON allows")

    def unique_object(pairs: list) -> dict:
        keys = [k for k, _ in pairs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise _Refused(f"duplicate key {duplicates[0]!r}")
        return dict(pairs)

    if _bracket_depth(text) > MAX_DEPTH:
        raise ConfigError([f"(file): nested deeper than {MAX_DEPTH} levels"], source)
    try:
        data = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=unique_object)
    except _Refused as exc:
        raise ConfigError([f"(file): {exc}"], source) from None
    except ValueError as exc:
        raise ConfigError([f"(file): invalid JSON: {exc}"], source) from None
    return _plain(data, source)


def load_file(path: str) -> Any:
    """A .json file as JSON, anything else as YAML; the size limit applies before reading it all."""
    try:
        if os.path.getsize(path) > MAX_DOCUMENT_BYTES:
            raise ConfigError([f"(file): larger than {MAX_DOCUMENT_BYTES} bytes"], path)
        with open(path, "rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"(file): cannot read: {exc.strerror or exc}"], path) from None
    return load_json(raw, path) if path.endswith(".json") else load_yaml(raw, path)


def data_problems(value: Any, path: str = "", *, max_depth: int = MAX_DEPTH) -> list[str]:
    """Where `value` is not plain JSON-shaped data: "path: message" for a non-string key, a non-finite number,
    a value of another type, or nesting deeper than `max_depth`. Iterative, so no input can exhaust the stack."""
    problems: list[str] = []
    pending: list[tuple[Any, str, int]] = [(value, path, 0)]
    while pending and len(problems) < 20:
        item, where, depth = pending.pop()
        shown = where or "(root)"
        if isinstance(item, (dict, list)) and depth >= max_depth:
            problems.append(f"{shown}: nested deeper than {max_depth} levels")
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    problems.append(f"{shown}: key {key!r} is not a string")
                else:
                    pending.append((child, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, list):
            pending += [(child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item)]
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append(f"{shown}: {item!r} is not a finite number")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INTEGER:
            problems.append(f"{shown}: an integer beyond ±2^53 is not exact in JSON")
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            problems.append(f"{shown}: a {type(item).__name__} is not a JSON value")
    return problems


def _checked_text(text: str | bytes, source: str) -> str:
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ConfigError([f"(file): larger than {MAX_DOCUMENT_BYTES} bytes"], source)
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([f"(file): not UTF-8 ({exc.reason} at byte {exc.start})"], source) from None
    return text


def _plain(data: Any, source: str) -> Any:
    problems = data_problems(data)
    if problems:
        raise ConfigError(problems, source)
    return data


def _bracket_depth(text: str) -> int:
    """An upper bound of a JSON text's nesting (brackets inside strings count too: only ever too cautious)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _describe(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return f"{problem}{where}"


def _check_graph(root: Any) -> None:
    """Refuse a composed YAML node graph that refers to itself, nests deeper than MAX_DEPTH with aliases expanded,
    or expands to more than MAX_EXPANDED_NODES values. Sizes are memoized per node, so a "billion laughs" graph is
    measured in a few steps."""
    from yaml.nodes import CollectionNode, MappingNode

    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, depth below it)
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, CollectionNode):
            sizes[id(node)] = (1, 0)
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else list(node.value)
        if done:
            on_path.discard(id(node))
            total = 1 + sum(sizes[id(c)][0] for c in children)
            depth = 1 + max((sizes[id(c)][1] for c in children), default=0)
            if total > MAX_EXPANDED_NODES:
                raise _Refused(f"expands to more than {MAX_EXPANDED_NODES} values (aliases)")
            if depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
            sizes[id(node)] = (total, depth)
            continue
        if id(node) in sizes:
            continue
        if id(node) in on_path:
            raise _Refused(f"an alias refers to a collection that contains it (line {node.start_mark.line + 1})")
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise _Refused(f"an alias refers to a collection that contains it (line {child.start_mark.line + 1})")
            if id(child) not in sizes:
                stack.append((child, False))


@functools.lru_cache(maxsize=1)
def _loader_class() -> type:
    import yaml
    from yaml.constructor import ConstructorError
    from yaml.events import AliasEvent
    from yaml.nodes import MappingNode

    class LimitedLoader(yaml.SafeLoader):
        """SafeLoader with alias and depth limits while composing, and strict mapping keys while constructing."""

        def __init__(self, stream: str):
            super().__init__(stream)
            self.aliases = 0
            self.depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise _Refused(f"more than {MAX_ALIASES} aliases")
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> dict:
            if isinstance(node, MappingNode):
                seen: set[str] = set()
                for key_node, _value in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    where = f"line {key_node.start_mark.line + 1}"
                    if not isinstance(key, str):
                        raise ConstructorError(None, None, f"key {key!r} is not a string ({where}; quote it)")
                    if key in seen:
                        raise ConstructorError(None, None, f"duplicate key {key!r} ({where})")
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_timestamp(self, node: Any) -> str:  # dates stay as written: configs are JSON data
            return self.construct_scalar(node)

    LimitedLoader.add_constructor("tag:yaml.org,2002:timestamp", LimitedLoader.construct_yaml_timestamp)
    return LimitedLoader
