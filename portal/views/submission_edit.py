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
from pyramid.view import view_config

from forms.periods import beijing_today
from portal.i18n import _
from portal.models import Submission
from portal.resources import SubmissionResource
from portal.security import Permission
from portal.services import submissions
from portal.services.forms import CompiledVersion, forms_folder
from portal.views.common import flash, local_time
from portal.views.data_entry import PERIOD, DataEntry, EntryForm, exact
from portal.views.record_history import field_label

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


@view_config(context=SubmissionResource, name="edit", permission=Permission.SUBMISSION_VIEW)
def edit_view(context: SubmissionResource, request):
    """{unit}/submissions/{id}/edit"""
    exact(request)
    return edit_page(DataEntry(context.listing_unit, request), context.row.id)


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
