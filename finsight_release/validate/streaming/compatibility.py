"""Avro compatibility levels (Confluent's definitions) on avro's own checker, explained per field.

avro's :class:`ReaderWriterCompatibilityChecker` gives the verdict for one (reader, writer) pair but
reports its messages and locations as two unpaired sets. To name the field and the rule, this module
walks record fields itself, asks the checker about each field's types, and phrases the leaf result
("field 'amount' type changed long -> string").

Levels, with ``previous`` oldest first (Confluent's semantics):
    BACKWARD       reader = new, writer = latest previous   (new consumers read old data)
    FORWARD        reader = latest previous, writer = new   (old consumers read new data)
    FULL           both
    *_TRANSITIVE   the same against every previous version, not only the latest
    NONE           nothing is checked
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    lookup_writer_field,
    schema_name_equals,
)
from avro.schema import ArraySchema, MapSchema, NamedSchema, RecordSchema, Schema


class CompatibilityMode(StrEnum):
    """A topic's compatibility level: which directions are checked, and against which versions."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def checks_backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))

    @property
    def is_transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")


class Direction(StrEnum):
    """BACKWARD: the new schema reads old data. FORWARD: old schemas read new data."""

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"


@dataclass(frozen=True)
class Problem:
    """Why a reader cannot read a writer's data at one place: avro's rule names and raw messages."""

    path: tuple[str, ...]
    rules: tuple[str, ...]
    messages: tuple[str, ...]
    reader: Schema
    writer: Schema


@dataclass(frozen=True)
class Incompatibility:
    """A broken compatibility rule between the new schema and one previous version."""

    mode: CompatibilityMode
    direction: Direction
    against: str
    field: str | None
    rule: str
    message: str


def _is_compatible(
    checker: ReaderWriterCompatibilityChecker, reader: Schema, writer: Schema
) -> bool:
    return (
        checker.get_compatibility(reader, writer).compatibility
        is not SchemaCompatibilityType.incompatible
    )


def _leaf(
    checker: ReaderWriterCompatibilityChecker, reader: Schema, writer: Schema, path: tuple[str, ...]
) -> Problem:
    result = checker.get_compatibility(reader, writer)
    rules = tuple(sorted({i.value for i in result.incompatibilities}))
    return Problem(path, rules, tuple(sorted(result.messages)), reader, writer)


def explain(
    reader: Schema,
    writer: Schema,
    path: tuple[str, ...] = (),
    checker: ReaderWriterCompatibilityChecker | None = None,
) -> list[Problem]:
    """Why ``reader`` cannot read data written with ``writer`` (empty when it can), per field."""
    checker = checker or ReaderWriterCompatibilityChecker()
    if _is_compatible(checker, reader, writer):
        return []
    if (
        isinstance(reader, RecordSchema)
        and isinstance(writer, RecordSchema)
        and schema_name_equals(reader, writer)
    ):
        problems: list[Problem] = []
        for field in reader.fields:
            writer_field = lookup_writer_field(writer_schema=writer, reader_field=field)
            if writer_field is not None:
                problems += explain(field.type, writer_field.type, (*path, field.name), checker)
            elif not field.has_default and not _is_compatible_missing(checker, field, writer):
                problems.append(
                    Problem(
                        (*path, field.name),
                        ("reader_field_missing_default_value",),
                        (field.name,),
                        field.type,
                        writer,
                    )
                )
        if problems:
            return problems
    if isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
        return explain(reader.items, writer.items, (*path, "[]"), checker) or [
            _leaf(checker, reader, writer, path)
        ]
    if isinstance(reader, MapSchema) and isinstance(writer, MapSchema):
        return explain(reader.values, writer.values, (*path, "{}"), checker) or [
            _leaf(checker, reader, writer, path)
        ]
    return [_leaf(checker, reader, writer, path)]


def _is_compatible_missing(
    checker: ReaderWriterCompatibilityChecker, field: object, writer: Schema
) -> bool:
    # avro accepts a missing reader field whose enum type has a default when that enum reads the writer.
    field_type = getattr(field, "type", None)
    if field_type is None or field_type.type != "enum" or not field_type.props.get("default"):
        return False
    return _is_compatible(checker, field_type, writer)


def _type_name(schema: Schema) -> str:
    return schema.fullname if isinstance(schema, NamedSchema) else str(schema.type)


def _union_types(messages: Sequence[str]) -> str:
    found = sorted(
        {m.group(1).lower() for text in messages if (m := re.search(r"writer type:? (\w+)", text))}
    )
    return ", ".join(found) or "?"


def describe(problem: Problem, direction: Direction) -> str:
    """One plain sentence for a problem, in terms of old and new schema (not reader and writer)."""
    old, new = (
        (problem.writer, problem.reader)
        if direction is Direction.BACKWARD
        else (problem.reader, problem.writer)
    )
    where = f"field '{'.'.join(problem.path)}'" if problem.path else "the schema"
    rule = problem.rules[0] if len(problem.rules) == 1 else ""
    backward = direction is Direction.BACKWARD
    if rule == "reader_field_missing_default_value":
        return (
            f"{where} added without a default"
            if backward
            else f"{where} removed but has no default in the old schema"
        )
    if rule == "type_mismatch":
        return f"{where} type changed {_type_name(old)} -> {_type_name(new)}"
    if rule == "missing_union_branch":
        types = _union_types(problem.messages)
        return f"{where}: union branch {types} {'removed' if backward else 'added'}"
    if rule == "missing_enum_symbols":
        symbols = problem.messages[0] if problem.messages else "?"
        return f"{where}: enum symbols {symbols} {'removed' if backward else 'added'} (the enum has no default)"
    if rule == "name_mismatch":
        return f"{where}: name changed {_type_name(old)} -> {_type_name(new)}"
    if rule == "fixed_size_mismatch":
        size = {s: getattr(s, "size", "?") for s in (old, new)}
        return f"{where}: fixed size changed {size[old]} -> {size[new]}"
    return f"{where}: {'; '.join(problem.messages) or ', '.join(problem.rules)}"


def consequence(mode: CompatibilityMode, direction: Direction, against: str) -> str:
    if direction is Direction.BACKWARD:
        return f"breaks {mode.value}: new readers cannot read {against} data"
    return f"breaks {mode.value}: readers on {against} cannot read data written with the new schema"


def check_compatibility(
    new: Schema, previous: Sequence[tuple[str, Schema]], mode: CompatibilityMode
) -> list[Incompatibility]:
    """Incompatibilities of ``new`` with ``previous`` (label, schema), oldest first, under ``mode``.

    Examples:
        >>> check_compatibility(parse(v3), [("v1", parse(v1)), ("v2", parse(v2))], CompatibilityMode.BACKWARD)
        []
    """
    if mode is CompatibilityMode.NONE or not previous:
        return []
    targets = list(previous) if mode.is_transitive else [previous[-1]]
    found: list[Incompatibility] = []
    for label, old in targets:
        directions = [Direction.BACKWARD] * mode.checks_backward + [
            Direction.FORWARD
        ] * mode.checks_forward
        for direction in directions:
            reader, writer = (new, old) if direction is Direction.BACKWARD else (old, new)
            for problem in explain(reader, writer):
                text = f"{describe(problem, direction)} {consequence(mode, direction, label)}"
                found.append(
                    Incompatibility(
                        mode=mode,
                        direction=direction,
                        against=label,
                        field=".".join(problem.path) or None,
                        rule=",".join(problem.rules),
                        message=text,
                    )
                )
    return found
