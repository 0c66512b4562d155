"""The content tree in ZODB: the site root, the organisation units and the accounts."""

import datetime as dt

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from pyramid.authorization import DENY_ALL
from pyramid.traversal import find_root

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

    def org_scope(self):
        return self


class Accounts(Folder):
    """All accounts, by login."""


class Account(Persistent):
    """A person who logs in. `grants` mirrors the local roles stored on the org units."""

    __name__ = None
    __parent__ = None

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
