"""What the field macro (templates/_macros.html) adds to an input, in Python.

The macro drew its attributes with a dozen Jinja statements per field (each list
append and dict update a call through Jinja's runtime); the rules are the same here,
in one call, and the markup stays in the macro.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import Field


def field_attributes(
    field: Field,
    hint: str | None = None,
    focus: str | None = None,
    form_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The input's attributes: its hint and errors linked for screen readers, the form
    it belongs to when drawn outside it, the focus when it is the field named, and
    whatever the template passed (which wins)."""
    attrs: dict[str, Any] = {}
    described_by = []
    if hint:
        described_by.append(f"{field.id}-hint")
    if field.errors:
        described_by.append(f"{field.id}-error")
        attrs["aria-invalid"] = "true"
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if form_id:
        attrs["form"] = form_id
    if focus == field.name:
        attrs["autofocus"] = True
    if extra:
        attrs.update(extra)
    return attrs
