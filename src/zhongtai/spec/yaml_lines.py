"""Load YAML while remembering the line of every key and list item, so errors can name them."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Constructor(yaml.constructor.SafeConstructor):
    pass


def load_with_lines(text: str, filename: str) -> tuple[Any, dict[Path, int]]:
    """Parse one YAML document; return its value and a map from each key/index path to its 1-based line."""
    from zhongtai.errors import ZhongtaiError

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ZhongtaiError("invalid_spec", f"{filename}{line}: not valid YAML: {problem}") from None
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    constructor = _Constructor()
    return _build(node, (), lines, constructor, filename), lines


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], ctor: _Constructor, filename: str) -> Any:
    from zhongtai.errors import ZhongtaiError

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise ZhongtaiError(
                    "invalid_spec", f"{filename}:{key_node.start_mark.line + 1}: duplicate key '{key}'"
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), lines, ctor, filename)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            items.append(_build(item, (*path, index), lines, ctor, filename))
        return items
    return ctor.construct_object(node, deep=True)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of the deepest known prefix of `path` (pydantic locations may point below what YAML holds)."""
    for end in range(len(path), -1, -1):
        line = lines.get(tuple(path[:end]))
        if line is not None:
            return line
    return None
