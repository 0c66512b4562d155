"""The content tree in ZODB: the site root, the organisation units, the accounts, the form
definitions and the uploaded files."""

import datetime as dt
import json

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from pyramid.authorization import DENY_ALL
from pyramid.traversal import find_root

from forms.model import FormDefinition

# The name under which a unit's submissions are traversed ({unit}/submissions/{id}).
SUBMISSIONS = "submissions"
# Kinds of unit and which kinds each may contain.
UNIT_TYPES = ("city", "district", "centre", "station", "hospital")
ALLOWED_CHILDREN = {
    "city": ("district", "hospital"),
    "district": ("centre", "hospital"),
    "centre": ("station",),
    "station": (),
    "hospital": (),
}


class Folder(Persistent):
    """A persistent container of named children kept in a BTree."""

    __name__ = None
    __parent__ = None

    def __init__(self):
        self.data = OOBTree()

    def __getitem__(self, name):
        return self.data[name]

    def get(self, name, default=None):
        return self.data.get(name, default)

    def __contains__(self, name):
        return name in self.data

    def __iter__(self):
        return iter(self.data.keys())

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        # A resource is a thing, not just a container: without this an empty folder (a
        # station without children) would be false, and `unit or code` would pick the code.
        return True

    def keys(self):
        return self.data.keys()

    def values(self):
        return self.data.values()

    def items(self):
        return self.data.items()

    def add(self, name, child):
        if name in self.data:
            raise KeyError(f"{name!r} already exists")
        child.__name__ = name
        child.__parent__ = self
        self.data[name] = child
        return child

    def remove(self, name):
        child = self.data.pop(name)
        child.__parent__ = None
        return child


class Site(Folder):
    """The ZODB root object. Children: the city unit (by code) and 'accounts'.

    `units` indexes every org unit by code so a code resolves without a tree walk;
    `evolve_version` records which numbered evolve steps have run.
    """

    __name__ = ""
    evolve_version = 0
    # The hospitals two-way referrals go to (codes); None: every active hospital.
    referral_partners: tuple[str, ...] | None = None

    def unit_by_code(self, code: str):
        return self.units.get(code)

    def __acl__(self):
        from portal.security import site_acl

        return site_acl()


class OrgUnit(Folder):
    """A node of the organisation tree: city, district, centre, station or hospital.

    Local roles (login -> set of role names) are stored here and hold for the subtree.
    """

    def __init__(
        self,
        code: str,
        name: str,
        type: str,
        active: bool = True,
        valid_from: dt.date | None = None,
        valid_to: dt.date | None = None,
        successor: str | None = None,
    ):
        super().__init__()
        if type not in UNIT_TYPES:
            raise ValueError(f"unknown unit type {type!r}")
        self.code = code
        self.name = name
        self.type = type
        self.active = active
        self.valid_from = valid_from
        self.valid_to = valid_to
        self.successor = successor
        self.local_roles = OOBTree()

    @property
    def level(self) -> int:
        """Depth in the tree: the city is 1, a district 2, a centre 3, a station 4."""
        depth, node = 0, self
        while isinstance(node, OrgUnit):
            depth, node = depth + 1, node.__parent__
        return depth

    @property
    def parent_unit(self):
        parent = self.__parent__
        return parent if isinstance(parent, OrgUnit) else None

    def lineage_codes(self) -> list[str]:
        """Codes from the city down to this unit."""
        codes, node = [], self
        while isinstance(node, OrgUnit):
            codes.append(node.code)
            node = node.__parent__
        return codes[::-1]

    @property
    def path(self) -> str:
        """'/110000/110101/…/' — a subtree is every path with this prefix."""
        return "/" + "/".join(self.lineage_codes()) + "/"

    def units(self):
        """Child org units in code order."""
        return [child for child in self.values() if isinstance(child, OrgUnit)]

    def walk(self):
        """This unit and every unit below it, depth first."""
        yield self
        for child in self.units():
            yield from child.walk()

    def __getitem__(self, name):
        # The records of the unit's subtree, as traversal resources ({unit}/submissions/{id}):
        # unit codes are digits, so the name is never a child's.
        if name == SUBMISSIONS:
            return UnitSubmissions(self)
        return super().__getitem__(name)

    def org_scope(self):
        return self


class Accounts(Folder):
    """All accounts, by login."""


class Account(Persistent):
    """A person who logs in. `grants` mirrors the local roles stored on the org units."""

    __name__ = None
    __parent__ = None
    # Defaults for accounts stored before these existed (no evolve step needed).
    password_changed: dt.datetime | None = None  # None: since `created`
    password_history: tuple = ()  # hashes of earlier passwords, newest first
    # Two-factor login (portal.services.two_factor).
    totp_secret: str | None = None
    totp_pending: str | None = None
    totp_last_step = 0
    totp_enrolled: dt.datetime | None = None
    recovery_codes: tuple = ()  # SHA-256 of the unused codes

    def __init__(self, login: str, name: str, org: str, password_hash: str):
        self.login = login
        self.name = name
        self.org = org
        self.password_hash = password_hash
        self.active = True
        self.created = dt.datetime.now(dt.UTC)
        self.grants = PersistentList()  # [(role, unit code)]

    def org_scope(self):
        """Permissions on an account are those held at its home unit."""
        return find_root(self).unit_by_code(self.org)


class Forms(Folder):
    """The form definitions, by form name (site['forms'])."""

    def org_scope(self):
        """Forms serve the whole tree: editing them takes a role at its top (the city)."""
        site = self.__parent__
        return next((unit for unit in site.values() if isinstance(unit, OrgUnit)), None)

    def __acl__(self):
        from portal.security import forms_acl

        return forms_acl()


def _definition_text(definition: FormDefinition) -> str:
    return json.dumps(definition.to_dict(), ensure_ascii=False, sort_keys=True)


class FormVersion(Persistent):
    """A published version of a form: immutable once made.

    The definition is kept as the JSON text of `FormDefinition.to_dict()`, the forms library's
    own exchange format, rather than a pickled dataclass: the stored data does not depend on
    the library's class layout (pickles bypass `__init__`, so fields added later would be
    missing and new checks skipped), and a string cannot be changed in place, so nothing
    handed out can alter a published version.
    """

    def __init__(self, number: int, definition: FormDefinition, published_by: str | None):
        self.number = number
        self.definition_json = _definition_text(definition)
        self.published = dt.datetime.now(dt.UTC)
        self.published_by = published_by

    def definition(self) -> FormDefinition:
        """A fresh FormDefinition (callers may change it freely)."""
        return FormDefinition.from_dict(json.loads(self.definition_json))


class FormResource(Persistent):
    """A form: its published versions (1, 2, … append-only) and at most one draft, which is
    the next version being prepared. Editing a published form means saving a new draft."""

    __name__ = None
    __parent__ = None
    # The levels that approve its records, lowest first (portal.services.review); None: the
    # default for its category. Not part of a version: it applies to records on their way.
    review_chain: tuple[str, ...] | None = None

    def __init__(self, name: str):
        self.name = name
        self.versions = PersistentList()  # FormVersion, oldest first; never rewritten
        self.draft_json: str | None = None

    @property
    def latest(self) -> FormVersion | None:
        return self.versions[-1] if self.versions else None

    def version(self, number: int) -> FormVersion | None:
        if 1 <= number <= len(self.versions):
            return self.versions[number - 1]
        return None

    @property
    def next_number(self) -> int:
        return len(self.versions) + 1

    @property
    def status(self) -> str:
        """'published' once a version is out (a draft may be pending too), else 'draft'."""
        return "published" if self.versions else "draft"

    @property
    def has_draft(self) -> bool:
        return self.draft_json is not None

    def draft(self) -> FormDefinition | None:
        """The draft as a FormDefinition, or None."""
        if self.draft_json is None:
            return None
        return FormDefinition.from_dict(json.loads(self.draft_json))

    def save_draft(self, definition: FormDefinition) -> None:
        """Store `definition` as the draft, numbered as the next version."""
        if definition.name != self.name:
            raise ValueError(f"a draft of {self.name!r} cannot be named {definition.name!r}")
        definition.version = self.next_number
        self.draft_json = _definition_text(definition)

    def publish_draft(self, published_by: str | None) -> FormVersion:
        """Turn the draft into the next version (the caller has checked it)."""
        definition = self.draft()
        if definition is None:
            raise ValueError(f"{self.name!r} has no draft to publish")
        definition.version = self.next_number
        version = FormVersion(self.next_number, definition, published_by)
        self.versions.append(version)
        self.draft_json = None
        return version

    def org_scope(self):
        return self.__parent__.org_scope()


class Reports(Folder):
    """The statistical report definitions, by name (site['reports']), and the indicators
    they are computed from. Both are kept as JSON text (the reports library's exchange
    format), like form versions: stored data that does not depend on class layouts."""

    # The disaggregations the indicators may be kept by (reports.indicators.Dimension).
    dimensions_json = "[]"

    def org_scope(self):
        """The reports serve the whole tree: editing them takes a role at its top."""
        site = self.__parent__
        return next((unit for unit in site.values() if isinstance(unit, OrgUnit)), None)

    def __acl__(self):
        from portal.security import reports_acl

        return reports_acl()

    def __init__(self):
        super().__init__()
        self.indicators_json = "[]"

    def indicator_dicts(self) -> list[dict]:
        return json.loads(self.indicators_json)

    def set_indicators(self, indicators: list[dict]) -> None:
        self.indicators_json = json.dumps(indicators, ensure_ascii=False, sort_keys=True)

    def dimension_dicts(self) -> list[dict]:
        return json.loads(self.dimensions_json)

    def set_dimensions(self, dimensions: list[dict]) -> None:
        self.dimensions_json = json.dumps(dimensions, ensure_ascii=False, sort_keys=True)

    def definitions(self) -> list["ReportDefinition"]:
        return list(self.values())


class ReportDefinition(Persistent):
    """One report: its title, layout, columns, official header and notes (a dict, see
    reports/builtin.py), kept as JSON text."""

    def __init__(self, definition: dict):
        self.set_definition(definition)

    def definition(self) -> dict:
        return json.loads(self.definition_json)

    def set_definition(self, definition: dict) -> None:
        self.definition_json = json.dumps(definition, ensure_ascii=False, sort_keys=True)


class Attachments(Folder):
    """The uploaded files (site['attachments']), by id. A file is kept as soon as it is
    uploaded, pending until a submission refers to it; `pending` indexes the pending ones
    with the time they lapse, so that clearing them need not look at the others."""

    # Reached only through the attachment views, which check the submission's unit.
    __acl__ = [DENY_ALL]

    def __init__(self):
        super().__init__()
        self.pending = OOBTree()  # id -> expiry (UTC)


class Attachment(Persistent):
    """One uploaded file: its content in a ZODB blob, what was found out about it while it was
    stored (media type from the content, size, SHA-256, picture dimensions, a thumbnail the
    portal made), who uploaded it for which unit, and once a submission refers to it, the
    submission, form, version and field (and whether that field is personal information)."""

    __name__ = None
    __parent__ = None

    def __init__(
        self,
        id: str,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        uploader: str,
        org: str,
        blob,
        expires: dt.datetime,
    ):
        self.id = id
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self.sha256 = sha256
        self.uploader = uploader
        self.org = org
        self.blob = blob
        self.uploaded = dt.datetime.now(dt.UTC)
        self.expires: dt.datetime | None = expires
        self.width: int | None = None
        self.height: int | None = None
        self.thumbnail = None  # a Blob holding a JPEG, or None
        self.submission: str | None = None
        self.form: str | None = None
        self.form_version: int | None = None
        self.field: str | None = None
        self.pii = False

    @property
    def bound(self) -> bool:
        return self.submission is not None

    def org_scope(self):
        return find_root(self).unit_by_code(self.org)


class Uninitialised:
    """Stands in for the site before `portal init` has created it: nothing is reachable."""

    __name__ = ""
    __parent__ = None
    __acl__ = [DENY_ALL]

    def __getitem__(self, name):
        raise KeyError(name)


def root_factory(request):
    site = request.zodb.root().get("site")
    return site if site is not None else Uninitialised()


class UnitSubmissions:
    """The submissions of a unit's subtree, as a traversal resource ({unit}/submissions):
    its items are the records (SubmissionResource), looked up in SQL by id. Not stored:
    made afresh by each traversal."""

    __name__ = SUBMISSIONS

    def __init__(self, unit):
        self.unit = unit
        self.__parent__ = unit

    def org_scope(self):
        return self.unit

    @property
    def __acl__(self):
        from portal.security import site_acl

        return site_acl()

    def __getitem__(self, name):
        # Traversal hands a resource only a name: the record is read through the request
        # being served (its SQL session and transaction), as Kotti's resources do.
        from pyramid.threadlocal import get_current_request

        from portal.services import review

        resource = review.record_resource(get_current_request(), name, self.unit.path)
        if resource is None:
            raise KeyError(name)  # another subtree's record is read at its own address
        resource.__parent__ = self
        return resource


class SubmissionResource:
    """A submission (a SQL row) as a resource below its org unit: the context of the views
    that act on one record, API and pages alike. Its ACL is its unit's roles' permissions
    (the security policy collects the local roles through `org_scope`), with what the
    record's workflow state allows: survey staff edit a record only while no reviewer has
    approved it and its period is open; a reviewer's capacity holds in every state, and the
    workflow says which transition applies (a refusal with its reason, not a 403)."""

    def __init__(self, row, unit, locked: bool):
        self.row = row
        self.unit = unit  # the record's own unit
        self.locked = locked
        self.__name__ = row.id
        self.__parent__ = unit  # or the UnitSubmissions it was traversed from

    @property
    def listing_unit(self):
        """The unit whose submissions it was reached through (its own, or one above)."""
        parent = self.__parent__
        return parent.unit if isinstance(parent, UnitSubmissions) else self.unit

    def org_scope(self):
        return self.unit

    @property
    def __acl__(self):
        from portal.security import submission_acl

        return submission_acl(self.locked)
