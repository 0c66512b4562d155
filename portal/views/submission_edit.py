"""Editing a submitted record on the data-entry pages ({unit}/submissions/{id}/edit), and
the edit button and history on the page that shows it.

The edit goes through portal.services.submissions.edit, as the API's PUT does, so both
refuse, validate, keep revisions and audit alike. The form carries the revision its values
were based on: when someone else saved the record in between, the page says who and what,
keeps everything typed, and the next save (now based on their revision) replaces it.
"""

from __future__ import annotations

import colander
import deform
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render

from forms import display
from forms.model import ATTACHMENT_TYPES
from forms.periods import beijing_today
from portal.i18n import _
from portal.models import Submission
from portal.services import submissions
from portal.services.forms import CompiledVersion, forms_folder
from portal.views.common import flash, local_time
from portal.views.data_entry import PERIOD, DataEntry, EntryForm

# The hidden control holding the revision the form's values were based on.
REVISION = "entry_revision"


class EditForm(EntryForm):
    """A submitted record's form: its unit fixed, saved with submissions.edit."""

    def __init__(
        self,
        pages: DataEntry,
        form,
        current: CompiledVersion,
        row: Submission,
        revision: int | None = None,
    ):
        unit = pages.request.root_site.unit_by_code(row.org_code)
        super().__init__(pages, form, current, [unit], row)
        self.revision = revision
        self.view_url = pages.request.resource_url(pages.unit, "submissions", row.id)

    def deform_form(self, period: str | None = None) -> deform.Form:
        # Added first: the base class puts its own controls above it.
        self.runner.schema.insert(
            0,
            colander.SchemaNode(
                colander.String(),
                name=REVISION,
                missing="",
                default=str(self.revision or ""),
                widget=deform.widget.HiddenWidget(),
            ),
        )
        return super().deform_form(period)

    def buttons(self) -> tuple[deform.Button, ...]:
        t = self.pages.t
        return (
            deform.Button(
                "save", t(_("entry_save_changes", default="Save changes")), css_class="btn-primary"
            ),
            deform.Button(
                "cancel",
                t(_("cancel", default="Cancel")),
                type="link",
                value=self.view_url,
                css_class="btn-outline-secondary ms-2",
            ),
        )

    def save(self, form: deform.Form, appstruct: dict):
        request = self.request
        revision = appstruct.get(REVISION, "")
        based_on = int(revision) if revision.isascii() and revision.isdigit() else None
        try:
            edited = submissions.edit(
                request,
                self.row.id,
                self.data_of(appstruct),
                today=beijing_today(),
                period=appstruct.get(PERIOD) or None,
                expected_revision=based_on,
            )
        except LookupError:
            raise HTTPNotFound() from None
        except submissions.Refused:
            raise HTTPForbidden() from None
        except submissions.NotEditable as refused:
            return self.page(form.render(appstruct), notice=refused.message)
        except submissions.Stale as stale:
            # Based on their revision now: saving again replaces it, knowingly.
            appstruct[REVISION] = str(stale.current)
            return self.page(form.render(appstruct), notice=self.stale_notice(stale))
        except submissions.Invalid as invalid:
            return self.page(self.with_errors(form, invalid))
        if edited.changed:
            flash(request, _("entry_edit_saved", default="Your changes are saved."))
        else:
            flash(request, _("nothing_changed", default="Nothing was changed."))
        return HTTPSeeOther(self.view_url)

    def stale_notice(self, stale: submissions.Stale):
        labels = [field_label(self.pages, self.definition, name) for name in stale.changed]
        return self.pages.t(
            _(
                "entry_edit_stale",
                default="${who} saved this record at ${time}, after you opened it "
                "(changed: ${fields}). Nothing of yours is saved yet and everything you typed "
                "is still below: compare it with the record and save again to replace "
                "their version.",
                mapping={
                    "who": stale.saved_by,
                    "time": local_time(stale.saved).strftime("%Y-%m-%d %H:%M"),
                    "fields": "、".join(labels) or "—",
                },
            )
        )

    def page(self, form_html: str, readonly=False, masked=False, **extra):
        if "notice" in extra and not isinstance(extra["notice"], str):
            extra["notice"] = self.pages.t(extra["notice"])
        return super().page(form_html, readonly, masked, **extra)


def field_label(pages: DataEntry, definition, name: str) -> str:
    if name == "period":
        return pages.t(_("entry_period", default="Reporting period"))
    f = definition.get_field(name)
    return (f.label.get(pages.language) or name) if f is not None else name


def edit_page(pages: DataEntry, submission_id: str):
    """GET: the record's form with its current values; POST: save them."""
    request = pages.request
    row = request.dbsession.get(Submission, submission_id)
    if row is None or not row.org_path.startswith(pages.unit.path):
        raise HTTPNotFound()
    view_url = request.resource_url(pages.unit, "submissions", row.id)
    try:
        submissions.check_editable(request, row, request.root_site.unit_by_code(row.org_code))
    except submissions.Refused:
        raise HTTPForbidden() from None
    except submissions.NotEditable as refused:
        if request.method != "POST":
            flash(request, refused.message)
            return HTTPSeeOther(view_url)
        # Closed while the form was open: EditForm.post says so and keeps what was typed.
    current = submissions.compiled_version_of(request, row)
    form = forms_folder(request.root_site)[row.form_name]
    if request.method == "POST":
        return EditForm(pages, form, current, row).post()
    reading = submissions.read(request, row.id)  # audited: the form shows personal fields
    if reading.masked:
        raise HTTPForbidden()
    entry = EditForm(
        pages, form, current, row, submissions.current_revision(request.dbsession, row.id)
    )
    return entry.page(entry.render(reading.data, row.org_code, row.client_id, row.period))


# -- the page showing a submission ---------------------------------------------------------
def view_extras(pages: DataEntry, reading: submissions.Reading, current: CompiledVersion) -> dict:
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


def value_text(pages: DataEntry, definition, name: str, value) -> str | None:
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
