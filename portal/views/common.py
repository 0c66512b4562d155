"""What the portal's pages share: flash messages, deform rendered in the user's language,
Beijing time, and paging."""

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from deform.template import ZPTTemplateLoader, default_dir
from translationstring import ChameleonTranslate

from forms.periods import BEIJING
from portal.i18n import translate

FLASH_QUEUE = "portal"
PAGE_SIZE = 50


def flash(request, message) -> None:
    # Translated now: the cookie session stores JSON, which keeps no translation defaults.
    request.session.flash(translate(request.localizer, message), queue=FLASH_QUEUE)


# Compiled deform templates (its Bootstrap 5 set), shared by every request; only the
# translation differs from one request to the next.
_DEFORM_TEMPLATES = ZPTTemplateLoader(search_path=(default_dir,), auto_reload=False)


class FormRenderer:
    """A deform renderer that translates with the request's localizer."""

    def __init__(self, request):
        self.translate = request.localizer.translate  # what deform's Field.translate uses
        self._chameleon_translate = ChameleonTranslate(self.translate)

    def __call__(self, template_name, **kw):
        return _DEFORM_TEMPLATES.load(template_name)(translate=self._chameleon_translate, **kw)


def local_time(value: dt.datetime | None) -> dt.datetime | None:
    """A stored UTC time (naive or aware) in Beijing time."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING)


PAGE_RE = re.compile(r"[0-9]{1,9}")  # ASCII digits, small enough for any SQL OFFSET


def page_number(request) -> int:
    """?page=N; anything unusable (not a number, 0, too big) is the first page."""
    raw = request.GET.get("page", "")
    return max(1, int(raw)) if PAGE_RE.fullmatch(raw) else 1


@dataclass
class Pager:
    """One page of a longer list; `url(n)` keeps the current query (filters) for page n."""

    request: object
    page: int
    total: int
    size: int = PAGE_SIZE

    def __post_init__(self):
        self.page = min(max(1, self.page), self.pages)  # past the end: the last page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    def url(self, page: int) -> str:
        query = [(k, v) for k, v in self.request.GET.items() if k != "page"]
        query.append(("page", str(page)))
        return self.request.path_url + "?" + urlencode(query)

    def window(self, radius: int = 3) -> list[int]:
        """Page numbers shown around the current page."""
        return list(range(max(1, self.page - radius), min(self.pages, self.page + radius) + 1))
