"""Two-way referral pages: the caller's referrals (sent by their units, or sent to their
hospital's desk), one referral with what may be done now (the 回转单 form for the desk),
and sending a slip from its record page. The same service as the API decides."""

from __future__ import annotations

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from portal import audit
from portal.i18n import _, translate
from portal.models import Submission
from portal.security import Permission, Refused
from portal.services import referrals
from portal.views.common import flash, local_time
from workflows import engine

STATUS_STYLES = {
    "sent": "text-bg-primary",
    "accepted": "text-bg-info",
    "rejected": "text-bg-secondary",
    "treated": "text-bg-info",
    "returned": "text-bg-warning",
    "closed": "text-bg-success",
}
BACK_LABELS = {
    "diagnosis": _("referral_back_diagnosis", default="Diagnosis"),
    "main_results": _("referral_back_results", default="Main test results"),
    "follow_plan": _("referral_back_plan", default="Treatment, further plan and advice"),
    "inpatient_no": _("referral_back_inpatient", default="Inpatient case number"),
}
PATIENT_LABELS = {
    "name": _("referral_patient_name", default="Patient"),
    "sex": _("referral_patient_sex", default="Sex"),
    "age": _("referral_patient_age", default="Age"),
    "phone": _("referral_patient_phone", default="Phone"),
    "impression": _("referral_patient_impression", default="Initial impression"),
    "present_history": _("referral_patient_history", default="History (reason)"),
    "past_history": _("referral_patient_past", default="Past history"),
}
SEX = {"1": _("sex_male", default="Male"), "2": _("sex_female", default="Female")}
OVERDUE = {
    "accept": _("referral_overdue_accept", default="Not accepted within 2 days"),
    "return": _("referral_overdue_return", default="Not referred back within 30 days"),
}


def _language(request) -> str:
    from portal.i18n import forms_language

    return forms_language(request)


def _state_title(request, status: str) -> str:
    state = referrals.definition().states.get(status)
    language = _language(request)
    return state.title.get(language, status) if state is not None else status


def _transition_title(request, name: str) -> str:
    t = referrals.definition().transition(name)
    return t.title.get(_language(request), name) if t is not None else name


def _row(request, referral) -> dict:
    data = referrals.as_json(request, referral)
    late = data["overdue"]
    return {
        **data,
        "status_title": _state_title(request, referral.status),
        "status_style": STATUS_STYLES.get(referral.status, "text-bg-secondary"),
        "sent": local_time(referral.sent_at).strftime("%Y-%m-%d %H:%M"),
        "overdue_text": translate(request.localizer, OVERDUE[late]) if late else None,
        "url": request.route_url("referral", id=referral.id),
    }


@view_config(
    route_name="referrals",
    renderer="portal:templates/referrals.pt",
    permission=Permission.HOME,
)
def referral_list(request):
    mine = referrals.scope(request)
    if not mine.sending_paths and not mine.hospitals:
        raise HTTPForbidden()
    direction = request.GET.get("direction")
    if direction not in ("in", "out"):
        direction = "in" if mine.hospitals and not mine.sending_paths else "out"
    status = request.GET.get("status") or None
    if status not in referrals.definition().states:
        status = None
    rows = [_row(request, r) for r in referrals.listing(request, direction, status)]
    return {
        "rows": rows,
        "direction": direction,
        "status": status or "",
        "directions": [
            d for d, has in (("out", mine.sending_paths), ("in", mine.hospitals)) if has
        ],
        "states": [(name, _state_title(request, name)) for name in referrals.definition().states],
        "active_nav": "referrals",
    }


@view_config(
    route_name="referral",
    renderer="portal:templates/referral.pt",
    permission=Permission.HOME,
)
def referral_page(request, problem: dict | None = None):
    try:
        referral = referrals.get(request, request.matchdict["id"])
    except LookupError:
        raise HTTPNotFound() from None
    except Refused:
        raise HTTPForbidden() from None
    if request.method == "POST" and problem is None:
        return _move(request, referral)
    audit.record(
        request,
        "referral.read",
        target=referral.id,
        unit=request.root_site.unit_by_code(referral.from_org),
        detail={"to": referral.to_org},
    )
    row = _row(request, referral)
    patient = []
    for key, label in PATIENT_LABELS.items():
        value = row["patient"].get(key)
        if value in (None, ""):
            continue
        if key == "sex":
            value = translate(request.localizer, SEX.get(str(value), str(value)))
        patient.append((translate(request.localizer, label), value))
    back = [
        (translate(request.localizer, BACK_LABELS[k]), v)
        for k, v in (referral.back or {}).items()
        if k in BACK_LABELS
    ]
    slip_url = None
    if row["submission"]:
        unit = request.root_site.unit_by_code(referral.from_org)
        slip_url = request.resource_url(unit, "submissions", referral.submission_id)
    definition = referrals.definition()
    problem = problem or {}
    actions = [
        {
            "name": name,
            "title": _transition_title(request, name),
            "comment_required": definition.transition(name).comment_required,
            "back": name == "return",
        }
        for name in row["transitions"]
    ]
    history = [
        {
            "title": _transition_title(request, e.transition) if e.transition != "send" else None,
            "transition": e.transition,
            "actor": e.actor,
            "at": local_time(e.at).strftime("%Y-%m-%d %H:%M"),
            "comment": e.comment,
        }
        for e in referrals.history(request.dbsession, referral.id)
    ]
    return {
        "referral": row,
        "patient": patient,
        "back": back,
        "slip_url": slip_url,
        "actions": actions,
        "history": history,
        "back_fields": [(k, translate(request.localizer, v)) for k, v in BACK_LABELS.items()],
        "problem": problem,
        "csrf_token": get_csrf_token(request),
        "active_nav": "referrals",
    }


def _move(request, referral):
    name = request.POST.get("transition", "")
    comment = request.POST.get("comment", "")[:2000].strip() or None
    back = {k: request.POST.get(k, "") for k in referrals.BACK_FIELDS}
    try:
        referrals.move(request, referral, name, comment, back)
    except engine.Refusal as refusal:
        message = refusal.message.get(_language(request)) or refusal.message["zh"]
        request.response.status_int = 200
        return referral_page(
            request,
            {
                "transition": name,
                "message": message,
                "comment": comment or "",
                "back": back,
                "at_comment": refusal.reason == "comment",
            },
        )
    except referrals.ReferralError as error:
        message = _("referral_back_missing", default="Fill in this field.")
        return referral_page(
            request,
            {
                "transition": name,
                "fields": {k: translate(request.localizer, message) for k in error.fields},
                "comment": comment or "",
                "back": back,
            },
        )
    flash(
        request,
        _(
            "referral_moved",
            default="${transition}: done.",
            mapping={"transition": _transition_title(request, name)},
        ),
    )
    return HTTPSeeOther(request.route_url("referral", id=referral.id))


# -- sending, from the slip's record page -------------------------------------------------------
def send_box(pages, row: Submission) -> dict | None:
    """What the record page of a referral slip shows: its referral, or the send form."""
    if row.form_name != referrals.FORM:
        return None
    request = pages.request
    referral = referrals.of_submission(request.dbsession, row.id)
    if referral is not None:
        return {
            "referral": _row(request, referral),
            "partners": [],
            "can_send": False,
        }
    unit = request.root_site.unit_by_code(row.org_code)
    can_send = (
        unit is not None
        and request.has_permission(Permission.REFERRAL_SEND, unit)
        and row.status != "draft"
        and (row.data or {}).get("direction") == referrals.OUT
    )
    if not can_send:
        return None
    return {
        "referral": None,
        "partners": [(u.code, u.name) for u in referrals.partners(request.root_site)],
        "can_send": True,
        "url": request.resource_url(pages.unit, "submissions", row.id, "refer"),
        "csrf_token": get_csrf_token(request),
    }


def send(pages, submission_id: str):
    """POST {unit}/submissions/{id}/refer: send the slip to the chosen partner hospital."""
    request = pages.request
    if request.method != "POST":
        raise HTTPNotFound()
    try:
        referral = referrals.send(request, submission_id, request.POST.get("hospital", ""))
    except Refused:
        raise HTTPForbidden() from None
    except referrals.ReferralError as error:
        if error.status == 404:
            raise HTTPNotFound() from None
        message = {
            "hospital": _("referral_choose_hospital", default="Choose a partner hospital."),
            "already_sent": _("referral_already_sent", default="This slip has been sent."),
        }.get(error.code, _("referral_not_outgoing", default="Only an outgoing slip is sent."))
        flash(request, message)
        return HTTPSeeOther(request.resource_url(pages.unit, "submissions", submission_id))
    flash(request, _("referral_sent", default="The referral was sent."))
    return HTTPSeeOther(request.route_url("referral", id=referral.id))


# -- the partner hospitals (system admin) -------------------------------------------------------
@view_config(
    route_name="referral_partners",
    renderer="portal:templates/referral_partners.pt",
    permission=Permission.HOME,
)
def partner_list(request):
    """The hospitals referrals may be sent to: the system admin ticks them among the tree's
    active hospitals (until then, every one is a partner)."""
    site = request.root_site
    city = next(iter(site.values()), None)
    if city is None or not request.has_permission(Permission.ORG_EDIT, city):
        raise HTTPForbidden()
    if request.method == "POST":
        chosen = referrals.set_partners(site, request.POST.getall("partner"))
        audit.record(request, "referral.partners", detail={"partners": chosen})
        flash(request, _("referral_partners_saved", default="The partner hospitals were saved."))
        return HTTPSeeOther(request.route_url("referral_partners"))
    partners = {u.code for u in referrals.partners(site)}
    return {
        "hospitals": [(u.code, u.name, u.code in partners) for u in referrals.hospitals(site)],
        "csrf_token": get_csrf_token(request),
        "active_nav": "referrals",
    }
