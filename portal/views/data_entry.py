"""Data entry for staff: the forms a unit fills in, filling one in (saved as a draft or
submitted), and the unit's submissions, listed, read and resumed.

The pages go through portal.services.submissions, as the JSON API does, so both refuse,
validate, mask and audit alike. URLs (traversal on the org unit, the rest as a subpath):
    {unit}/forms                     the published forms the unit (or a unit below) fills in
    {unit}/forms/{name}              fill one in
    {unit}/submissions               the unit's submissions, with filters and paging
    {unit}/submissions/{id}          one submission: read, or resume while it is a draft
    {unit}/submissions/{id}/edit     edit a submitted one (portal.views.submission_edit)
The records are traversal resources (portal.resources.UnitSubmissions, SubmissionResource):
the views below are registered for them, and a record's actions are views of its own
(transition, query, refer: portal.views.review and portal.views.referrals).
"""

import datetime as dt
import uuid

import colander
import deform
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPConflict, HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render, render_to_response
from pyramid.view import view_config, view_defaults

from forms import display
from forms import periods as period_lib
from forms.deform_builder import FormRunner, apply_errors, flatten, take_uploads, unflatten
from forms.periods import beijing_today
from portal.i18n import _, forms_language, translate
from portal.resources import FormResource, OrgUnit, SubmissionResource, UnitSubmissions
from portal.security import Permission
from portal.services import attachments, submissions
from portal.services.forms import CompiledVersion, compiled, forms_folder
from portal.views import attachments as attachment_views
from portal.views import referrals as referral_pages
from portal.views import review as review_pages
from portal.views.common import (
    PAGE_SIZE,
    FormRenderer,
    Pager,
    flash,
    local_time,
    page_number,
)
from portal.views.record_history import view_extras
from workflows import submission as workflow

# How many recent periods the period list offers, newest first.
RECENT_PERIODS = {"month": 24, "quarter": 8, "year": 5}
PERIOD_TYPE_TITLES = {
    "none": _("entry_period_type_none", default="No period"),
    "month": _("entry_period_type_month", default="Monthly"),
    "quarter": _("entry_period_type_quarter", default="Quarterly"),
    "year": _("entry_period_type_year", default="Yearly"),
}
STATUS_TITLES = {
    submissions.DRAFT: _("entry_status_draft", default="Draft"),
    submissions.SUBMITTED: _("entry_status_submitted", default="Submitted"),
    workflow.RETURNED: _("entry_status_returned", default="Returned for correction"),
    workflow.APPROVED: _("entry_status_approved", default="Approved"),
}
STATUS_STYLES = {
    submissions.DRAFT: "text-bg-secondary",
    submissions.SUBMITTED: "text-bg-primary",
    workflow.RETURNED: "text-bg-warning",
    workflow.APPROVED: "text-bg-success",
}
# The controls the page adds to the form's own: they are not the form's data.
ORG, PERIOD, CLIENT_ID = "entry_org", "entry_period", "entry_client_id"


def recent_periods(period_type: str, today: dt.date) -> list[str]:
    """The periods that have begun, newest first: '2026-10', '2026-Q3' or '2026'."""
    return period_lib.recent(period_type, today, RECENT_PERIODS.get(period_type, 0))


def published_forms(request) -> list[tuple[FormResource, CompiledVersion]]:
    return [
        (form, compiled(request, form, form.latest))
        for form in forms_folder(request.root_site).values()
        if form.latest is not None
    ]


def fillable_units(request, unit: OrgUnit, levels=None) -> list[OrgUnit]:
    """The unit and those below it that the user may fill in for (at `levels`)."""
    return [
        u
        for u in unit.walk()
        if u.active
        and (levels is None or u.type in levels)
        and request.has_permission(Permission.SUBMISSION_CREATE, u)
    ]


@view_defaults(context=OrgUnit)
class DataEntry:
    def __init__(self, context: OrgUnit, request):
        self.unit = context
        self.request = request
        self.language = forms_language(request)

    def t(self, message) -> str:
        return self.request.localizer.translate(message)

    # -- pages ---------------------------------------------------------------------------
    @view_config(
        name="forms",
        permission=Permission.SUBMISSION_CREATE,
        renderer="portal:templates/entry_forms.pt",
    )
    def forms(self):
        subpath = self.request.subpath
        if len(subpath) == 1:
            return self.fill(subpath[0])
        if subpath:
            raise HTTPNotFound()
        types = {u.type for u in fillable_units(self.request, self.unit)}
        rows = [
            (form, current.definition)
            for form, current in published_forms(self.request)
            if types.intersection(current.definition.levels)
        ]
        rows.sort(key=lambda row: (row[1].category, row[0].name))
        return {
            "unit": self.unit,
            "rows": rows,
            "language": self.language,
            "period_type_titles": PERIOD_TYPE_TITLES,
            "active_nav": "entry",
        }

    def fill(self, name: str):
        form = forms_folder(self.request.root_site).get(name)
        if form is None or form.latest is None:
            raise HTTPNotFound()
        current = compiled(self.request, form, form.latest)
        units = fillable_units(self.request, self.unit, current.definition.levels)
        if not units:
            raise HTTPForbidden()
        entry = EntryForm(self, form, current, units)
        if self.request.method == "POST":
            return entry.post()
        html = entry.render(
            {}, org=self.request.GET.get("org") or units[0].code, client_id=str(uuid.uuid4())
        )
        return entry.page(html)

    def submissions(self, period_error: dict | None = None):
        request = self.request
        # Re-shown after a refused period approval: the filters came with the form.
        get = request.GET if period_error is None else request.POST
        forms = published_forms(request)
        titles = {form.name: c.definition.title.get(self.language) for form, c in forms}
        units = {u.code: u for u in self.filter_units()}
        chosen = units.get(get.get("unit", ""), self.unit)
        form_name = get.get("form") if get.get("form") in titles else None
        status = get.get("status") if get.get("status") in submissions.STATUSES else None
        period = get.get("period", "").strip() or None
        page = page_number(request)
        offset = (page - 1) * PAGE_SIZE
        rows, total = submissions.search(
            request, form_name, [chosen.path], period, status, offset, PAGE_SIZE
        )
        pager = Pager(request, page, total)
        if pager.offset != offset:  # past the end: show the last page
            rows, total = submissions.search(
                request, form_name, [chosen.path], period, status, pager.offset, PAGE_SIZE
            )
        site = request.root_site
        return {
            "unit": self.unit,
            "rows": rows,
            "pager": pager,
            "form_titles": titles,
            "status_titles": STATUS_TITLES,
            "status_styles": STATUS_STYLES,
            "level_titles": {
                level: translate(request.localizer, title)
                for level, title in review_pages.LEVEL_TITLES.items()
            },
            "filter_units": list(units.values()),
            "unit_of": site.unit_by_code,
            "chosen": {
                "form": form_name or "",
                "status": status or "",
                "period": period or "",
                "unit": chosen.code,
            },
            "local_time": local_time,
            "can_fill": request.has_permission(Permission.SUBMISSION_CREATE, self.unit),
            "period_state": review_pages.period_state(self, form_name, period, period_error),
            "bulk_review": request.has_permission(Permission.SUBMISSION_APPROVE, self.unit),
            "csrf_token": get_csrf_token(request),
            "active_nav": "submissions",
        }

    def filter_units(self) -> list[OrgUnit]:
        """The units offered by the list's unit filter: this one and two levels below."""
        top = self.unit.level
        return [u for u in self.unit.walk() if u.level <= top + 2]

    def submission(self, submission_id: str, review_error: dict | None = None):
        try:
            reading = submissions.read(self.request, submission_id)
        except (LookupError, ValueError):
            raise HTTPNotFound() from None
        except submissions.Refused:
            raise HTTPForbidden() from None
        row = reading.submission
        if not row.org_path.startswith(self.unit.path):
            raise HTTPNotFound()  # read it at its own unit's address
        current = submissions.compiled_version_of(self.request, row)
        form = forms_folder(self.request.root_site)[row.form_name]
        units = fillable_units(self.request, self.unit, current.definition.levels)
        # A draft is resumed as a form by whom the workflow lets edit it (its author);
        # a submitted record is edited at its own address (submission_edit).
        holds = submissions.actors(
            self.request, row, self.request.root_site.unit_by_code(row.org_code)
        )
        editable = (
            row.status == submissions.DRAFT
            and bool(units)
            and not reading.masked
            and workflow.may_edit(row.status, holds)
        )
        entry = EntryForm(self, form, current, units, row)
        if editable and review_error is None:
            if self.request.method == "POST":
                return entry.post()
            return entry.page(entry.render(reading.data, row.org_code, row.client_id, row.period))
        if self.request.method == "POST" and review_error is None:
            raise HTTPForbidden()
        return entry.page(
            entry.render_readonly(reading, review_pages.field_notes(self, row)),
            readonly=True,
            masked=reading.masked,
            review_html=review_pages.panel(self, row, review_error),
            referral_box=referral_pages.send_box(self, row),
            **view_extras(self, reading, current),
        )


class EntryForm:
    """One form being filled in on a page: its deform form, with the unit, the period and the
    idempotency key added before the form's own fields."""

    def __init__(
        self, pages: DataEntry, form: FormResource, current: CompiledVersion, units, row=None
    ):
        self.pages = pages
        self.request = pages.request
        self.form = form
        self.current = current
        self.definition = current.definition
        self.units = units
        self.row = row
        self.version_number = row.form_version if row is not None else form.latest.number
        # Files picked in the browser are kept in the database as soon as they arrive.
        store = attachments.PendingStore(self.request, pages.unit, row.id if row else None)
        self.runner = FormRunner(
            self.definition, pages.language, tmpstore=store, validator=current.validator
        )

    def deform_form(self, period: str | None = None) -> deform.Form:
        schema = self.runner.schema
        t = self.pages.t
        for index, name, default in (
            (0, "csrf_token", get_csrf_token(self.request)),
            (1, CLIENT_ID, colander.null),
        ):
            schema.insert(
                index,
                colander.SchemaNode(
                    colander.String(),
                    name=name,
                    missing="",
                    default=default,
                    widget=deform.widget.HiddenWidget(),
                ),
            )
        schema.insert(
            2,
            colander.SchemaNode(
                colander.String(),
                name=ORG,
                title=t(_("entry_org", default="Unit")),
                missing="",
                widget=deform.widget.SelectWidget(
                    values=[(u.code, u.name) for u in self.units],
                    item_css_class="entry-org",
                ),
            ),
        )
        period_type = self.definition.period_type
        if period_type != "none":
            periods = recent_periods(period_type, beijing_today())
            if period and period not in periods:
                periods.append(period)  # an older draft's
            schema.insert(
                3,
                colander.SchemaNode(
                    colander.String(),
                    name=PERIOD,
                    title=t(_("entry_period", default="Reporting period")),
                    missing="",
                    widget=deform.widget.SelectWidget(
                        values=[(p, p) for p in periods], item_css_class="entry-period"
                    ),
                ),
            )
        return self.runner.form(
            buttons=self.buttons(), formid="entry", renderer=FormRenderer(self.request)
        )

    def buttons(self) -> tuple[deform.Button, ...]:
        t = self.pages.t
        return (
            deform.Button(
                "save_draft",
                t(_("entry_save_draft", default="Save as draft")),
                css_class="btn-outline-secondary",
                # A draft may be incomplete: runtime.js lets it through.
                attributes={"formnovalidate": "formnovalidate"},
            ),
            deform.Button(
                "submit", t(_("entry_submit", default="Submit")), css_class="btn-primary"
            ),
        )

    def render(self, data: dict, org: str, client_id: str, period: str | None = None) -> str:
        appstruct = unflatten(self.definition, data)
        appstruct.update({ORG: org, CLIENT_ID: client_id, PERIOD: period or colander.null})
        return self.deform_form(period).render(appstruct)

    def render_readonly(self, reading, notes: dict | None = None) -> str:
        """The submission as people read it: its unit and period, then every answered field
        with labels, option labels and units (forms.display), not a form of disabled
        inputs. `notes`: texts to show beside fields (the review queries on them), by field
        name."""
        row, t = reading.submission, self.pages.t
        # Every unit for reading, not only those the reader may fill in for.
        unit = self.request.root_site.unit_by_code(row.org_code)
        items = [
            display.Value(
                ORG,
                t(_("entry_org", default="Unit")),
                unit.name if unit is not None else row.org_code,
            )
        ]
        if row.period:
            items.append(
                display.Value(PERIOD, t(_("entry_period", default="Reporting period")), row.period)
            )
        items += attachment_views.present(
            self.request, self.definition, reading.data, row.id, self.pages.language
        )
        return render(
            "portal:templates/record_values#items.pt",
            {"items": items, "notes": notes or {}},
            self.request,
        )

    def post(self):
        """Validate the posted controls and save: the page again (errors at their fields,
        everything typed kept) or a redirect."""
        form = self.deform_form(self.request.POST.get(PERIOD))
        try:
            appstruct = form.validate(list(self.request.POST.items()))
        except deform.ValidationFailure as failure:
            return self.page(failure.render())
        return self.save(form, appstruct)

    def save(self, form: deform.Form, appstruct: dict):
        """Save a new submission or a draft (submitted or saved again)."""
        request = self.request
        data = self.data_of(appstruct)
        client_id = submissions.client_id_of(appstruct[CLIENT_ID])
        if self.row is not None:
            client_id = self.row.client_id  # a draft is saved again under its own key
        if client_id is None:
            client_id = str(uuid.uuid4())  # the page was tampered with: a new key
        draft = "save_draft" in request.POST
        action = submissions.save_draft if draft else submissions.submit
        try:
            accepted = action(
                request,
                self.form,
                appstruct[ORG],
                appstruct.get(PERIOD) or None,
                client_id,
                data,
                today=beijing_today(),
                version_number=self.version_number,
            )
        except LookupError:
            raise HTTPNotFound() from None
        except submissions.Refused:
            raise HTTPForbidden() from None
        except submissions.ClientIdTaken:
            raise HTTPConflict() from None
        except submissions.Invalid as invalid:
            return self.page(self.with_errors(form, invalid))
        row = accepted.submission
        unit = self.pages.unit
        if draft and row.status == submissions.DRAFT:
            flash(request, _("entry_draft_saved", default="The draft is saved."))
            return HTTPSeeOther(request.resource_url(unit, "submissions", row.id))
        flash(request, _("entry_submitted", default="The form is submitted."))
        return HTTPSeeOther(request.resource_url(unit, "submissions"))

    def data_of(self, appstruct) -> dict:
        """The form's flat data from a validated appstruct."""
        data = flatten(self.definition, appstruct)
        take_uploads(self.definition, data)  # stored already: their references
        return data

    def with_errors(self, form: deform.Form, invalid: submissions.Invalid) -> str:
        """The validated form again, with the service's errors at their fields."""
        texts = submissions.render_errors(self.request, invalid.errors, self.pages.language)
        if "period" in texts:
            has_period = any(child.name == PERIOD for child in form.children)
            texts[PERIOD if has_period else ""] = texts.pop("period")
        apply_errors(form, texts, self.pages.language)
        return form.render()

    def page(self, form_html: str, readonly=False, masked=False, **extra):
        """The page around a form (or a submission read); `extra`: see entry_form.pt."""
        values = {
            "unit": self.pages.unit,
            "title": self.definition.title.get(self.pages.language),
            "form_html": form_html,
            "row": self.row,
            "readonly": readonly,
            "masked": masked,
            "status_titles": STATUS_TITLES,
            "status_styles": STATUS_STYLES,
            "local_time": local_time,
            "active_nav": "submissions" if self.row is not None else "entry",
            "notice": None,
            "edit_url": None,
            "history_html": None,
            "review_html": None,
            "referral_box": None,
            **extra,
        }
        return render_to_response("portal:templates/entry_form.pt", values, request=self.request)


# -- the records of a unit, and one record, as contexts ---------------------------------------
def exact(request) -> None:
    """404 for an address that goes on past the view's name (…/edit/more)."""
    if request.subpath:
        raise HTTPNotFound()


@view_config(
    context=UnitSubmissions,
    permission=Permission.SUBMISSION_VIEW,
    renderer="portal:templates/entry_list.pt",
)
def submission_list(context: UnitSubmissions, request):
    """{unit}/submissions: the unit's submissions, with filters and paging."""
    exact(request)
    return DataEntry(context.unit, request).submissions()


@view_config(
    context=UnitSubmissions,
    name="period-approval",
    request_method="POST",
    permission=Permission.SUBMISSION_VIEW,
    renderer="portal:templates/entry_list.pt",
)
def period_approval(context: UnitSubmissions, request):
    exact(request)
    return review_pages.period_action(DataEntry(context.unit, request))


@view_config(
    context=UnitSubmissions,
    name="bulk",
    request_method="POST",
    permission=Permission.SUBMISSION_APPROVE,
)
def bulk_review(context: UnitSubmissions, request):
    exact(request)
    return review_pages.bulk_action(DataEntry(context.unit, request))


@view_config(context=SubmissionResource, permission=Permission.SUBMISSION_VIEW)
def submission_page(context: SubmissionResource, request):
    """{unit}/submissions/{id}: read it, or resume it while it is the reader's draft."""
    exact(request)
    return DataEntry(context.listing_unit, request).submission(context.row.id)


@view_config(
    context=SubmissionResource,
    name="transition",
    request_method="POST",
    permission=Permission.SUBMISSION_VIEW,
)
def take_transition(context: SubmissionResource, request):
    exact(request)
    return review_pages.take(DataEntry(context.listing_unit, request), context)


@view_config(
    context=SubmissionResource,
    name="query",
    request_method="POST",
    permission=Permission.SUBMISSION_VIEW,
)
def take_query(context: SubmissionResource, request):
    exact(request)
    return review_pages.take_query(DataEntry(context.listing_unit, request), context)


@view_config(
    context=SubmissionResource,
    name="refer",
    request_method="POST",
    permission=Permission.SUBMISSION_VIEW,
)
def send_referral(context: SubmissionResource, request):
    exact(request)
    return referral_pages.send(DataEntry(context.listing_unit, request), context.row.id)
