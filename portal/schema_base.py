"""Building blocks of the portal's colander schemas: the portal's own wording for the
common errors (colander's catalogue has no zh_CN of ours), and the CSRF token every POST
form carries (Pyramid checks it before any view runs)."""

import colander
import deform.widget
from pyramid.csrf import get_csrf_token

from portal.i18n import _

REQUIRED = _("field_required", default="Required")
NOT_LISTED = _("choose_from_list", default="Choose one of the listed values.")


def strip(value):
    return value.strip() if isinstance(value, str) else value


class Node(colander.SchemaNode):
    """A schema node whose 'required' message is the portal's own."""

    missing_msg = REQUIRED


class LocalDate(colander.Date):
    """colander.Date with the portal's message for a malformed date."""

    def deserialize(self, node, cstruct):
        try:
            return super().deserialize(node, cstruct)
        except colander.Invalid as e:
            raise colander.Invalid(
                node, _("invalid_date", default="Enter a date as YYYY-MM-DD."), cstruct
            ) from e


@colander.deferred
def deferred_csrf_token(node, kw):
    return get_csrf_token(kw["request"])


class CSRFSchema(colander.MappingSchema):
    """Base of every POST form: the hidden CSRF token."""

    csrf_token = Node(
        colander.String(),
        widget=deform.widget.HiddenWidget(),
        default=deferred_csrf_token,
        missing=colander.drop,
    )
