"""Reading a configuration from YAML or stored data with located errors, and writing it back out.

Errors name the file, the line of the offending key and what was expected; the JSON schema
serves editors the same rules.
"""

import dataclasses
import difflib
import re
from datetime import timedelta
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hcm.hospitals.config.sections import HospitalConfig
from hcm.hospitals.config.values import format_duration

# --- Errors ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration: where it is and what was expected."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


Loc = tuple[str | int, ...]


def _format_path(loc: Loc) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path = f"{path}.{part}" if path else part
    return path


def _section_at(loc: Loc) -> type[BaseModel] | None:
    section: type[BaseModel] = HospitalConfig
    for part in loc:
        field = section.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        section = annotation
    return section


def _unknown_key_message(loc: Loc) -> str:
    key, section = str(loc[-1]), _section_at(loc[:-1])
    if section is None:
        return f"unknown key '{key}'"
    allowed = list(section.model_fields)
    if f"{key}_env" in allowed:
        return f"write {key}_env: NAME_OF_ENV_VAR; secrets are never written in the file"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}'; {hint}expected one of: {', '.join(allowed)}"


def _string_expected(error: ErrorDetails) -> str:
    if isinstance(error["input"], int | float) and not isinstance(error["input"], bool):
        return f'expected a string; put numbers in quotes, such as "{error["input"]}"'
    return "expected a string"


_PLAIN_MESSAGES = {
    "missing": "required key is missing",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
}
_BOUND_MESSAGES = {
    "greater_than_equal": ("ge", "expected a number of at least {}"),
    "less_than_equal": ("le", "expected a number of at most {}"),
    "greater_than": ("gt", "expected a number greater than {}"),
    "less_than": ("lt", "expected a number less than {}"),
    "too_short": ("min_length", "expected at least {} item{s}"),
    "too_long": ("max_length", "expected at most {} item{s}"),
    "string_too_short": ("min_length", "expected at least {} character{s}"),
    "string_too_long": ("max_length", "expected at most {} character{s}"),
}


def _explain(error: ErrorDetails) -> str:
    kind, context = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return _unknown_key_message(error["loc"])
    if kind == "literal_error":
        return "expected one of: " + ", ".join(re.findall(r"'([^']*)'", context["expected"]))
    if kind == "string_type":
        return _string_expected(error)
    if kind in _PLAIN_MESSAGES:
        return _PLAIN_MESSAGES[kind]
    if kind in _BOUND_MESSAGES:
        key, template = _BOUND_MESSAGES[kind]
        return template.format(context[key], s="" if context[key] == 1 else "s")
    return error["msg"].removeprefix("Value error, ")


# --- YAML --------------------------------------------------------------------------------


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _line_at(root: Node | None, loc: Loc) -> int | None:
    """The line of the key (or list item) at `loc`, else of the nearest enclosing key found."""
    if root is None:
        return None
    node, line = root, _line(root)
    for part in loc:
        if part == "[key]":
            break
        if isinstance(node, MappingNode) and isinstance(part, str):
            pair = next(((key, value) for key, value in reversed(node.value) if key.value == part), None)
            if pair is None:
                break
            line, node = _line(pair[0]), pair[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = _line(node)
        else:
            break
    return line


def _load_yaml(text: str, filename: str) -> tuple[Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = ", ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise ConfigError([ConfigIssue(filename, line, "", f"invalid YAML: {problem}")]) from exc
    finally:
        loader.dispose()


def _duplicate_keys(node: Node, loc: Loc, filename: str, seen: set[int]) -> list[ConfigIssue]:
    # Plain YAML lets the last of two equal keys win silently, which hides typos and merges.
    if id(node) in seen:
        return []
    seen.add(id(node))
    issues: list[ConfigIssue] = []
    children: list[tuple[str | int, Node]] = []
    if isinstance(node, MappingNode):
        names: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else "?"
            if name in names:
                path = _format_path((*loc, name))
                issues.append(ConfigIssue(filename, _line(key), path, "key written twice; expected each key once"))
            if isinstance(key, ScalarNode):
                names.add(name)
            children.append((name, value))
    elif isinstance(node, SequenceNode):
        children = list(enumerate(node.value))
    for part, child in children:
        issues += _duplicate_keys(child, (*loc, part), filename, seen)
    return issues


_NOT_A_MAPPING = "expected a mapping of keys, starting with code and name"


def _validate(data: object, *, filename: str, root: Node | None, issues: list[ConfigIssue]) -> HospitalConfig:
    if not isinstance(data, dict):
        line = _line(root) if root is not None else None
        raise ConfigError([ConfigIssue(filename, line, "", _NOT_A_MAPPING)])
    try:
        config = HospitalConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = (*error["loc"], *error.get("ctx", {}).get("at", ()))
            issues.append(ConfigIssue(filename, _line_at(root, loc), _format_path(loc), _explain(error)))
    if issues:
        raise ConfigError(sorted(issues, key=lambda issue: issue.line or 0))
    return config


def parse_config(text: str, *, filename: str = "<config>") -> HospitalConfig:
    """Parse and validate a YAML configuration; raise ConfigError naming each problem's line."""
    root, data = _load_yaml(text, filename)
    if root is None:
        # An empty file has no node to point at; its problem is on the first line.
        raise ConfigError([ConfigIssue(filename, 1, "", _NOT_A_MAPPING)])
    issues = _duplicate_keys(root, (), filename, set())
    return _validate(data, filename=filename, root=root, issues=issues)


def parse_config_data(data: dict, *, filename: str = "<config>") -> HospitalConfig:
    """Validate an already-parsed configuration, such as the JSON stored in the database."""
    return _validate(data, filename=filename, root=None, issues=[])


def config_to_data(config: HospitalConfig) -> dict:
    """The full configuration, defaults included, as JSON-safe data."""
    return config.model_dump(mode="json")


def dump_config_yaml(config: HospitalConfig) -> str:
    """The full configuration as YAML that parses back to an equal configuration."""
    body = yaml.safe_dump(
        config_to_data(config), allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000
    )
    return "# yaml-language-server: $schema=schema.json\n" + body


class _SchemaGenerator(GenerateJsonSchema):
    def encode_default(self, dflt: Any) -> Any:
        # Field defaults skip the field's serializer, so durations would read "PT30M".
        return format_duration(dflt) if isinstance(dflt, timedelta) else super().encode_default(dflt)


def config_json_schema() -> dict:
    """The JSON schema of a configuration file, for editor completion and checks."""
    schema = HospitalConfig.model_json_schema(mode="validation", schema_generator=_SchemaGenerator)
    schema["title"] = "Hospital configuration"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
