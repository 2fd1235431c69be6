"""Read and validate protocol YAML files."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
import yaml

from radiotrial.errors import ProtocolError
from radiotrial.protocol._models import Protocol

__all__ = ["BUNDLED_PROTOCOL", "bundled_protocol", "load_protocol", "parse_protocol"]

BUNDLED_PROTOCOL = "lu177-neob-er-her2-mbc-phase1.yaml"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (a silent override in plain YAML)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _describe(loc: tuple[int | str, ...], value: Any) -> tuple[str, Any]:
    """Field path (with the item's id when the input is a record) and the value to show."""
    field = ".".join(str(p) for p in loc) or "<root>"
    if isinstance(value, dict):
        ident = value.get("id") or value.get("organ") or value.get("level")
        named = f"{field} ({ident})" if ident is not None else field
        number = value.get("value")  # a {value, unit, source} entry: show its number
        if isinstance(number, int | float) and not isinstance(number, bool):
            return named, number
        return named, ...
    if isinstance(value, int | float | str | bool) or value is None:
        return field, value
    return field, ...


def _to_protocol_error(exc: pydantic.ValidationError, path: str | None) -> ProtocolError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    rule = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        field, value = ".".join(str(p) for p in first["loc"]), ...
        rule = "required field is missing"
    else:
        field, value = _describe(first["loc"], first.get("input"))
    if first["type"] == "extra_forbidden":
        rule = "unknown field (check the spelling against the protocol schema)"
    extra = f" (+{len(errors) - 1} more problems)" if len(errors) > 1 else ""
    err = ProtocolError(field, value, rule + extra, path=path)
    err.errors = [  # type: ignore[attr-defined]
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in errors
    ]
    return err


def parse_protocol(text: str, *, path: str | None = None) -> Protocol:
    """Parse and validate protocol YAML text.

    Raises
    ------
    ProtocolError
        On YAML syntax errors (with line and column), duplicate keys, schema violations and
        cross-field inconsistencies; the message names the field, the value and the rule.
    """
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ProtocolError("<yaml>", where, str(exc.problem or exc), path=path) from exc
    if not isinstance(raw, dict):
        raise ProtocolError(
            "<root>", type(raw).__name__, "a protocol file must be a YAML mapping", path=path
        )
    try:
        return Protocol.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _to_protocol_error(exc, path) from None


def load_protocol(path: str | Path) -> Protocol:
    """Load and validate a protocol YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError("path", str(p), "file not found", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            "<file>", str(p), f"not UTF-8 text ({exc.reason})", path=str(p)
        ) from None
    return parse_protocol(text, path=str(p))


@cache
def bundled_protocol() -> Protocol:
    """The protocol of the [177Lu]Lu-NeoB phase 1 trial shipped with radiotrial."""
    ref = resources.files("radiotrial.data").joinpath("protocols", BUNDLED_PROTOCOL)
    return parse_protocol(
        ref.read_text("utf-8"), path=f"radiotrial/data/protocols/{BUNDLED_PROTOCOL}"
    )
