"""Values that outputs must not confuse with a number: `Suppressed`, a count withheld by
disclosure control.

A suppressed count is not 0 and not "unknown" (None): 0 says "nobody", None says "not
computable" (e.g. a rate with no exposure). Carried as its own type from the measure's
published result to every output, it is shown as the disclosure mark (`MARK`, "*") in
tables, the web, the pack and XLSX, and as ``null`` beside ``"suppressed": true`` in JSON,
so no output can print it as 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from saferboard.measures.disclosure import MARK


class Suppressed:
    """A count (or a figure derived from one) hidden by disclosure control. One instance,
    `SUPPRESSED`; str() is the disclosure mark; it is never equal to a number."""

    __slots__ = ()
    _instance: Suppressed | None = None

    def __new__(cls) -> Suppressed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __str__(self) -> str:
        return MARK

    def __repr__(self) -> str:
        return "SUPPRESSED"

    def __bool__(self) -> bool:
        raise TypeError("a suppressed value has no truth value; test 'is SUPPRESSED'")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        # Kept as itself in Python (model_dump()), written as null in JSON: the model's
        # "suppressed" flag says why the figure is missing.
        return core_schema.is_instance_schema(
            cls, serialization=core_schema.plain_serializer_function_ser_schema(
                lambda _: None, when_used="json"))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "null", "description": "suppressed (disclosure control)"}


SUPPRESSED = Suppressed()


def shown(value: object) -> object:
    """A figure for a human-read cell (table, web page, pack, XLSX): the disclosure mark
    for a suppressed one, everything else unchanged."""
    return MARK if isinstance(value, Suppressed) else value

