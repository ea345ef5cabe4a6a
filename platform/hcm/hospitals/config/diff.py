"""Readable line-by-line differences between two versions of a configuration's data."""

import difflib
import json


def _show(value: object) -> str:
    if isinstance(value, str) and value and value == value.strip():
        return value
    return json.dumps(value, ensure_ascii=False)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _leaves(value: object, path: str) -> list[tuple[str, object]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, _join(path, str(key)))]
    return [(path, value)]


def _marked(sign: str, value: object, path: str) -> list[str]:
    return [f"{sign} {leaf_path}: {_show(leaf)}" for leaf_path, leaf in _leaves(value, path)]


def _diff_lists(old: list, new: list, path: str) -> list[str]:
    keys = [[json.dumps(item, sort_keys=True) for item in items] for items in (old, new)]
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *keys, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                lines += _diff(old[i1 + offset], new[j1 + offset], f"{path}[{j1 + offset}]")
        elif tag != "equal":
            lines += [line for i in range(i1, i2) for line in _marked("-", old[i], f"{path}[{i}]")]
            lines += [line for j in range(j1, j2) for line in _marked("+", new[j], f"{path}[{j}]")]
    return lines


def _diff(old: object, new: object, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key, value in new.items():
            subpath = _join(path, str(key))
            lines += _diff(old[key], value, subpath) if key in old else _marked("+", value, subpath)
        for key, value in old.items():
            if key not in new:
                lines += _marked("-", value, _join(path, str(key)))
        return lines
    if isinstance(old, list) and isinstance(new, list):
        return _diff_lists(old, new, path)
    if old == new and type(old) is type(new):
        return []
    return [f"{path}: {_show(old)} -> {_show(new)}"]


def diff_configs(old: dict, new: dict) -> list[str]:
    """Readable changes from `old` to `new` configuration data, one per line, in a stable order.

    A change reads `path: old -> new`; a key or list item only in `new` reads `+ path: value`
    and one only in `old` reads `- path: value`.
    """
    return _diff(old, new, "")
