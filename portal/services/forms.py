"""Form definitions in the portal: XLSForm imports become drafts, drafts are published as
immutable versions, and each published version is compiled once per process.

Everything here works on the ZODB tree (`site['forms']`) inside the caller's transaction, so
a refused import or publication changes nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import BinaryIO

from forms import xlsform
from forms.codesets import CODE_SETS
from forms.model import ATTACHMENT_TYPES, FormDefinition
from forms.validation import FormValidator, Problem, publish_problems
from forms.versions import Change, diff
from portal.resources import FormResource, Forms, FormVersion, Site

SHIPPED_FORMS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "forms")


class NoDraft(ValueError):
    """There is no draft to publish."""


class PublishRefused(ValueError):
    """The draft is not ready: the problems say why."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class ImportOutcome:
    """A form whose draft the import saved, or (never both) the errors that stopped it."""

    form: FormResource | None
    errors: list[xlsform.SheetMessage] = field(default_factory=list)
    warnings: list[xlsform.SheetMessage] = field(default_factory=list)
    created: bool = False
    # Differences of the new draft from the last published version.
    changes: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.form is not None


def forms_folder(site: Site) -> Forms:
    return site["forms"]


def get_form(site: Site, name: str) -> FormResource | None:
    return forms_folder(site).get(name)


def import_xlsform(
    site: Site, source: bytes | BinaryIO, filename: str | None = None
) -> ImportOutcome:
    """Read an XLSForm; save it as a new form, or as the new draft of the form its form_id
    names. Selects may use the standard code sets by list name."""
    result = xlsform.import_xlsform(source, filename, shared_lists=CODE_SETS)
    if not result.ok:
        return ImportOutcome(None, result.errors, result.warnings)
    form, created = save_draft(site, result.definition)
    return ImportOutcome(form, [], result.warnings, created, pending_changes(form))


def save_draft(site: Site, definition: FormDefinition) -> tuple[FormResource, bool]:
    """Store `definition` as the draft of its form (created when new); returns the form and
    whether it was created. The draft is numbered as the next version."""
    folder = forms_folder(site)
    form = folder.get(definition.name)
    created = form is None
    if created:
        form = folder.add(definition.name, FormResource(definition.name))
    form.save_draft(definition)
    return form, created


def pending_changes(form: FormResource) -> list[Change]:
    """What publishing the draft would change, compared with the last published version."""
    draft = form.draft()
    if draft is None or form.latest is None:
        return []
    return diff(form.latest.definition(), draft)


def publish(form: FormResource, actor: str | None) -> tuple[FormVersion, list[Change]]:
    """Publish the draft as the next version; returns it with its changes from the previous
    one. Raises NoDraft, or PublishRefused with the problems that must be fixed first.
    Data-losing changes are allowed: they were shown when the draft was saved."""
    draft = form.draft()
    if draft is None:
        raise NoDraft(form.name)
    problems = publish_problems(draft)
    if problems:
        raise PublishRefused(problems)
    changes = pending_changes(form)
    return form.publish_draft(actor), changes


@dataclass
class ShippedForms:
    """What loading the shipped forms did."""

    added: list[str] = field(default_factory=list)
    # Forms whose shipped file changed since the shipper last published them: name -> the
    # version now published, with its changes from the previous one.
    updated: dict[str, tuple[int, list[Change]]] = field(default_factory=dict)
    # Forms whose shipped file changed but that an administrator has changed since (a draft,
    # or a version they published): left alone.
    kept: list[str] = field(default_factory=list)


def load_shipped_forms(site: Site, actor: str = "portal init") -> ShippedForms:
    """Import and publish each shipped XLSForm (portal/data/forms) that the site lacks, and
    publish as the next version each shipped file that differs from its form's latest
    version when that version is the shipper's (`actor`'s) own.

    A form an administrator has changed since it was shipped (a draft is pending, or they
    published the latest version) is left alone and reported as kept; its records keep
    their versions either way."""
    outcome = ShippedForms()
    for filename in sorted(os.listdir(SHIPPED_FORMS_DIR)):
        if not filename.endswith(".xlsx"):
            continue
        with open(os.path.join(SHIPPED_FORMS_DIR, filename), "rb") as f:
            result = xlsform.import_xlsform(f, filename, shared_lists=CODE_SETS)
        if not result.ok:  # the shipped files are tested; this is a packaging fault
            raise ValueError(f"shipped form {filename} does not import: {result.errors[0]}")
        shipped = result.definition
        form = get_form(site, shipped.name)
        if form is None:
            form, _created = save_draft(site, shipped)
            publish(form, actor)
            outcome.added.append(form.name)
            continue
        latest = form.latest
        if latest is not None and _same_definition(latest.definition(), shipped):
            continue
        if form.has_draft or latest is None or latest.published_by != actor:
            outcome.kept.append(form.name)
            continue
        save_draft(site, shipped)
        version, changes = publish(form, actor)
        outcome.updated[form.name] = (version.number, changes)
    return outcome


def _same_definition(published: FormDefinition, shipped: FormDefinition) -> bool:
    """Whether two definitions differ in nothing but their version numbers."""
    return published.to_dict() == dataclasses.replace(shipped, version=published.version).to_dict()


# -- compiled versions ---------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledVersion:
    """A published version ready for use: shared by every request, so treat as read-only."""

    definition: FormDefinition
    validator: FormValidator

    @property
    def has_pii(self) -> bool:
        return any(f.pii for f in self.definition.iter_fields())

    @functools.cached_property
    def has_attachments(self) -> bool:
        """Whether the form has file or image fields (asked on every submission)."""
        return any(f.type in ATTACHMENT_TYPES for f in self.definition.iter_fields())


class CompiledForms:
    """Published versions parsed and compiled once per process (a registry utility).

    A published version never changes, so its definition and FormValidator (expressions
    parsed, evaluation order worked out) are kept for (form name, version). Entries also
    record the version's ZODB oid: a version from a transaction that never committed has
    none and is not kept, and a storage that was replaced under the same names is noticed.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._entries: OrderedDict[tuple[str, int], tuple[bytes, CompiledVersion]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, form: FormResource, version: FormVersion) -> CompiledVersion:
        key = (form.name, version.number)
        oid = version._p_oid
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and oid is not None and entry[0] == oid:
                self._entries.move_to_end(key)
                return entry[1]
        definition = version.definition()
        compiled = CompiledVersion(definition, FormValidator(definition))
        if oid is not None:
            with self._lock:
                self._entries[key] = (oid, compiled)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return compiled


def compiled(request, form: FormResource, version: FormVersion) -> CompiledVersion:
    """The request's view of the process-wide cache."""
    return request.registry.compiled_forms.get(form, version)


def includeme(config):
    config.registry.compiled_forms = CompiledForms()
