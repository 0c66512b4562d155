"""Colander schema of the reference figures form: one optional, non-negative number per kind.

The checks are portal.services.reference's, so a form field and an imported row say the
same thing in the same words. Bind with `schema.bind(request=request, hints={kind: text})`.
"""

import colander
import deform.widget

from portal.i18n import translate
from portal.schema_base import CSRFSchema, Node
from portal.services import reference


class FigureNumber(colander.SchemaType):
    """A figure as typed: empty (no own value), or a number (commas between thousands
    allowed) that is finite and not negative."""

    def serialize(self, node, appstruct):
        if appstruct is None or appstruct is colander.null:
            return colander.null
        value = float(appstruct)
        return str(int(value)) if value.is_integer() else str(value)

    def deserialize(self, node, cstruct):
        if cstruct is colander.null or not str(cstruct).strip():
            return colander.null
        value = reference.parse_number(str(cstruct))
        problem = reference.value_problem(value)
        if problem is not None:
            request = node.bindings["request"] if node.bindings else None
            message = translate(request.localizer, problem) if request is not None else problem
            raise colander.Invalid(node, message, cstruct)
        return value


@colander.deferred
def _deferred_hint(node, kw):
    return kw.get("hints", {}).get(node.name, "")


def figures_schema() -> CSRFSchema:
    """The unit's own figures for one year, one field per kind (empty: none of its own)."""
    schema = CSRFSchema()
    for kind in reference.KINDS:
        schema.add(
            Node(
                FigureNumber(),
                name=kind.code,
                title=kind.label,
                description=_deferred_hint,
                missing=None,
                widget=deform.widget.TextInputWidget(
                    attributes={"inputmode": "decimal", "autocomplete": "off"}
                ),
            )
        )
    return schema
