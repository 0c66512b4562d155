"""What the page showing a submitted record adds to its values: the edit button (when the
reader may edit it) and the history of its kept revisions, with the fields each changed
(values as the reader may see them: masked or not)."""

from __future__ import annotations

from pyramid.renderers import render

from forms import display
from forms.model import ATTACHMENT_TYPES
from portal.i18n import _
from portal.services import submissions
from portal.services.forms import CompiledVersion
from portal.views.common import local_time


def field_label(pages, definition, name: str) -> str:
    if name == "period":
        return pages.t(_("entry_period", default="Reporting period"))
    f = definition.get_field(name)
    return (f.label.get(pages.language) or name) if f is not None else name


def view_extras(pages, reading: submissions.Reading, current: CompiledVersion) -> dict:
    """The edit button (when the reader may edit the record) and the history of its kept
    revisions (personal fields masked as in `reading`), for EntryForm.page."""
    request, row = pages.request, reading.submission
    edit_url = None
    unit = request.root_site.unit_by_code(row.org_code)
    if not reading.masked and submissions.may_revise(request, row, unit):
        edit_url = request.resource_url(pages.unit, "submissions", row.id, "edit")
    entries = submissions.history(request, reading, current)
    history_html = None
    if entries:
        definition = current.definition
        rows = [
            {
                "revision": entry.revision,
                "saved_by": entry.saved_by,
                "saved": local_time(entry.saved).strftime("%Y-%m-%d %H:%M"),
                "changes": [
                    {
                        "name": change.name,
                        "label": field_label(pages, definition, change.name),
                        "before": value_text(pages, definition, change.name, change.before),
                        "after": value_text(pages, definition, change.name, change.after),
                    }
                    for change in entry.changes
                ],
            }
            for entry in entries
        ]
        history_html = render(
            "portal:templates/submission_history.pt",
            {"entries": rows, "current": entries[0].revision},
            request,
        )
    return {"edit_url": edit_url, "history_html": history_html}


def value_text(pages, definition, name: str, value) -> str | None:
    """A value as the history shows it; None for sections, repeats and files (only that they
    changed is shown)."""
    if value is None or value == "" or value == []:
        return "—"
    f = definition.get_field(name) if name != "period" else None
    if f is None:
        return str(value)
    if f.is_container or f.type in ATTACHMENT_TYPES:
        return None
    return display.format_value(definition, f, value, pages.language)
