"""XLSForm in and out: a workbook (.xlsx or .xls, sheets `survey`, `choices`, `settings`)
becomes a FormDefinition, or a list of problems naming sheet, row and column; and back.

Our additions to XLSForm (a contract shared with the admins who write these files):
- question types `resident_id`, `phone` and `boolean`;
- a `pii` column (`yes` marks personal information);
- the `parameters` column carries our field settings, as `key=value` pairs separated by
  spaces (quote a value that has spaces): integer and decimal `unit`, `min`, `max`, and
  decimal `decimals`; repeat `min` and `max` (entries); resident_id `sex_field` and
  `birth_date_field` (names of the fields it must agree with); file and image `max_size`
  (bytes, or with KB/MB) and `accept` (media types, comma-separated);
- an `exclusive` column in `choices` (`yes`: the option must be chosen alone, such as 无);
- settings `category`, `period_type`, `levels` (space-separated) and `form_title::<language>`.

pyxform reads what ODK defines (header aliases, type aliases, languages) and validates the
workbook once our own reading found nothing wrong; our reading comes first so that each
problem can name its column and be said in Chinese.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import openpyxl
import xlrd
from openpyxl.utils import get_column_letter
from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.parsing.sheet_headers import process_header
from pyxform.question import MultipleChoiceQuestion, Option
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.survey import Survey
from pyxform.utils import default_is_dynamic
from pyxform.xls2json_backends import xls_value_to_unicode, xlsx_value_to_str
from pyxform.xls2xform import convert

from forms.attachments import parse_size
from forms.messages import Message
from forms.model import (
    CATEGORIES,
    LEVELS,
    PERIOD_TYPES,
    SELECT_TYPES,
    Choice,
    Field,
    FormDefinition,
    Text,
)
from forms.validation import Problem, check_definition

LANGUAGE_COLUMNS = {"zh": "中文 (zh)", "en": "English (en)"}

# Stop reading where pyxform stops: after these many empty rows or header cells in a row.
_MAX_EMPTY_ROWS = 60
_MAX_EMPTY_COLUMNS = 20

_YES_NO = aliases.yes_no

# XLSForm type (lower case, and pyxform's aliases) -> ours.
_TYPES = {
    **dict.fromkeys(["text", "string", "q string", "add text prompt"], "text"),
    **dict.fromkeys(["integer", "int", "q int", "add integer prompt"], "integer"),
    **dict.fromkeys(["decimal", "q decimal", "add decimal prompt"], "decimal"),
    **dict.fromkeys(["date", "q date", "add date prompt"], "date"),
    **dict.fromkeys(
        [
            "datetime",
            "date time",
            "q date time",
            "q datetime",
            "add datetime prompt",
            "add date time prompt",
        ],
        "datetime",
    ),
    **dict.fromkeys(["note", "q note", "add note prompt"], "note"),
    **dict.fromkeys(["calculate", "q calculate", "add calculate prompt"], "calculate"),
    **dict.fromkeys(
        ["image", "photo", "q picture", "q image", "add image prompt", "add photo prompt"],
        "image",
    ),
    **dict.fromkeys(["file", "add file prompt"], "file"),
    **dict.fromkeys(["phone", "phone number"], "phone"),
    "resident_id": "resident_id",
    "boolean": "boolean",
}
# Ours that pyxform doesn't know: it validates them as text.
_CUSTOM_TYPES = {"resident_id", "phone", "boolean"}
_SELECT_RE = re.compile(
    r"(?P<command>"
    + "|".join(sorted(map(re.escape, aliases.select), key=len, reverse=True))
    + r")\s+(?P<list>\S+)(?P<other>\s+(or specify other|or_other|or other))?\Z"
)
_SELECTS = {
    aliases.select["select_one"]: "select_one",
    aliases.select["select_multiple"]: "select_multiple",
}
_CONTROL_RE = re.compile(
    r"(?P<edge>begin|end)[ _](?P<kind>looped group|group|repeat|loop|lgroup)\b(?P<rest>.*)\Z",
    re.IGNORECASE,
)

# Survey columns (pyxform's dealiased first tokens) that we read.
_SURVEY_COLUMNS = {
    ("type",): "type",
    ("name",): "name",
    ("label",): "label",
    ("hint",): "hint",
    ("bind", "required"): "required",
    ("bind", "jr:requiredMsg"): "required_message",
    ("bind", "readonly"): "read_only",
    ("bind", "relevant"): "relevant",
    ("bind", "constraint"): "constraint",
    ("bind", "jr:constraintMsg"): "constraint_message",
    ("bind", "calculate"): "calculation",
    ("default",): "default",
    ("pii",): "pii",
    ("parameters",): "parameters",
    ("disabled",): "disabled",
}
_TRANSLATED = {"label", "hint", "required_message", "constraint_message"}
# ODK features that change what is collected: a value in these columns is refused.
_UNSUPPORTED_COLUMNS = {
    ("control", "jr:count"): "repeat_count",
    ("choice_filter",): "choice_filter",
    ("trigger",): "trigger",
    ("bind", "entities:saveto"): "save_to",
    ("query",): "query",
}
_SETTINGS_IGNORED_QUIETLY = {
    "name",
    "xml_root",
    "instance_name",
    "style",
    "clean_text_values",
    "omit_instanceID",
}
# Parameters pyxform knows that only change how a question looks: ignored.
_DISPLAY_PARAMETERS = {"randomize", "seed", "max-pixels"}
_PARAMETERS = {
    "integer": {"unit", "min", "max"},
    "decimal": {"unit", "min", "max", "decimals"},
    "repeat": {"min", "max"},
    "resident_id": {"sex_field", "birth_date_field"},
    "file": {"max_size", "accept"},
    "image": {"max_size", "accept"},
}
# Field attributes kept in `parameters`, with the key each is written as.
_PARAMETER_ATTRIBUTES = {
    "unit": "unit",
    "min": "min",
    "max": "max",
    "decimals": "decimals",
    "min_count": "min",
    "max_count": "max",
    "sex_field": "sex_field",
    "birth_date_field": "birth_date_field",
    "max_size": "max_size",
    "accept": "accept",
}
# Where a definition problem shows in the survey sheet.
_ATTRIBUTE_COLUMNS = {
    "name": "name",
    "type": "type",
    "choices": "type",
    "children": "type",
    "label": "label",
    "hint": "hint",
    "required": "required",
    "required_if": "required",
    "required_message": "required_message",
    "read_only": "read_only",
    "default": "default",
    "relevant": "relevant",
    "constraint": "constraint",
    "constraint_message": "constraint_message",
    "calculation": "calculation",
    "pii": "pii",
    **dict.fromkeys(_PARAMETER_ATTRIBUTES, "parameters"),
}
_SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SheetMessage:
    """A problem in a workbook, where Excel would show it: sheet, row (from 1) and column
    (its letter, and its header as written)."""

    message: Message
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    header: str | None = None

    def render(self, language: str = "zh") -> str:
        text = self.message.render(language)
        if self.sheet is None:
            return text
        where = {"sheet": self.sheet, "row": self.row, "text": text}
        if self.row is None:
            return Message("xlsform.location_sheet", where).render(language)
        if self.column is None and self.header is None:
            return Message("xlsform.location_row", where).render(language)
        letter, header = self.column or "", self.header or ""
        if language == "zh":
            column = f"{letter} 列（{header}）" if letter and header else f"{letter or header} 列"
        else:
            column = f"{letter} ({header})" if letter and header else letter or header
        return Message("xlsform.location", {**where, "column": column}).render(language)

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        result = {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "header": self.header,
            **self.message.to_dict(),
        }
        if language:
            result["text"] = self.render(language)
        return result


@dataclass
class ImportResult:
    """A definition, or (never both) the errors that stopped it; warnings either way."""

    definition: FormDefinition | None
    errors: list[SheetMessage] = field(default_factory=list)
    warnings: list[SheetMessage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.definition is not None


# -- reading the workbook ------------------------------------------------------------------
@dataclass
class _Cell:
    value: str
    column: str  # letter
    header: str


@dataclass
class _Sheet:
    name: str
    headers: list[tuple[str, str]]  # (letter, header)
    rows: list[tuple[int, dict[str, str]]]  # (row number, {header: value}), non-empty rows
    last_row: int = 1


class _Reader:
    def __init__(self) -> None:
        self.errors: list[SheetMessage] = []
        self.warnings: list[SheetMessage] = []

    def error(
        self,
        message_id: str,
        sheet: str | None = None,
        row: int | None = None,
        cell: _Cell | None = None,
        header: str | None = None,
        /,
        **mapping: Any,
    ) -> None:
        # Where it is comes positionally, so the message's mapping may use any name.
        self.errors.append(
            SheetMessage(
                Message(message_id, mapping),
                sheet,
                row,
                cell.column if cell else None,
                cell.header if cell else header,
            )
        )

    def warn(
        self,
        message_id: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        header: str | None = None,
        /,
        **mapping: Any,
    ) -> None:
        self.warnings.append(SheetMessage(Message(message_id, mapping), sheet, row, column, header))

    def read(self, data: bytes) -> dict[str, _Sheet] | None:
        if data[:4] == b"PK\x03\x04":
            raw = self._read_xlsx(data)
        elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raw = self._read_xls(data)
        else:
            self.error("xlsform.unreadable", detail="unknown file format")
            return None
        if raw is None:
            return None
        return {name: self._sheet(name, table) for name, table in raw}

    def _read_xlsx(self, data: bytes) -> list[tuple[str, list[list[str | None]]]] | None:
        try:
            # openpyxl warns about workbook features it drops (data validation, extensions),
            # none of which an XLSForm needs.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
                try:
                    return [
                        (
                            sheet.title,
                            self._table(sheet.iter_rows(values_only=True), xlsx_value_to_str),
                        )
                        for sheet in book.worksheets
                    ]
                finally:
                    book.close()
        except Exception as error:  # whatever makes a file unreadable, it is the user's to fix
            self.error("xlsform.unreadable", detail=str(error) or type(error).__name__)
            return None

    def _read_xls(self, data: bytes) -> list[tuple[str, list[list[str | None]]]] | None:
        try:
            book = xlrd.open_workbook(file_contents=data, logfile=io.StringIO())
        except Exception as error:  # as above
            self.error("xlsform.unreadable", detail=str(error) or type(error).__name__)
            return None
        result = []
        for sheet in book.sheets():
            rows = []
            for r in range(sheet.nrows):
                row: list[str | None] = []
                for c in range(sheet.ncols):
                    cell = sheet.cell(r, c)
                    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        row.append(None)
                        continue
                    try:
                        row.append(xls_value_to_unicode(cell.value, cell.ctype, book.datemode))
                    except xlrd.xldate.XLDateError as error:
                        self.errors.append(
                            SheetMessage(
                                Message("xlsform.bad_cell", {"detail": type(error).__name__}),
                                sheet.name,
                                r + 1,
                                get_column_letter(c + 1),
                            )
                        )
                        row.append(None)
                rows.append(row)
                if self._rows_exhausted(rows):
                    break
            result.append((sheet.name, rows))
        return result

    @staticmethod
    def _rows_exhausted(rows: list[list]) -> bool:
        tail = rows[-_MAX_EMPTY_ROWS - 1 :]
        return len(tail) > _MAX_EMPTY_ROWS and not any(any(v for v in r) for r in tail)

    def _table(self, rows: Iterable[tuple], convert_cell) -> list[list[str | None]]:
        table: list[list[str | None]] = []
        for row in rows:
            table.append([None if v is None or v == "" else convert_cell(v) for v in row])
            if self._rows_exhausted(table):
                break
        return table

    def _sheet(self, name: str, table: list[list[str | None]]) -> _Sheet:
        header_row = table[0] if table else []
        headers: list[tuple[str, str]] = []
        positions: list[tuple[int, str]] = []
        seen: dict[str, str] = {}
        empty_run = 0
        for index, value in enumerate(header_row):
            header = " ".join(str(value).split()) if value is not None else ""
            if not header:
                empty_run += 1
                if empty_run > _MAX_EMPTY_COLUMNS:
                    break
                continue
            empty_run = 0
            letter = get_column_letter(index + 1)
            if header in seen:
                self.error(
                    "xlsform.duplicate_column",
                    name,
                    1,
                    _Cell("", letter, header),
                    header=header,
                    other=seen[header],
                )
                continue
            seen[header] = letter
            headers.append((letter, header))
            positions.append((index, header))
        rows: list[tuple[int, dict[str, str]]] = []
        last_row = 1
        for number, row in enumerate(table[1:], start=2):
            values = {}
            for index, header in positions:
                value = row[index] if index < len(row) else None
                if value is not None:
                    value = value.strip().replace("\u00a0", " ")
                    if value:
                        values[header] = value
            if values:
                rows.append((number, values))
                last_row = number
        return _Sheet(name, headers, rows, last_row)


# -- languages, values ---------------------------------------------------------------------
def _language(suffix: str | None, default: str) -> str | None:
    """Our language for a column's language part (`中文 (zh)`, `English`, `en`...)."""
    if suffix is None or suffix == "default":
        return default
    found = re.search(r"\(([^()]+)\)\s*\Z", suffix)
    code = (found.group(1) if found else suffix).strip().lower()
    if code in ("zh", "chinese", "中文", "汉语", "简体中文") or re.match(r"zh[-_]", code):
        return "zh"
    if code in ("en", "english", "英文", "英语") or re.match(r"en[-_]", code):
        return "en"
    return None


def _number(text: str) -> int | float:
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _expression(text: str) -> str:
    # Excel likes to turn quotes into typographic ones; expressions need the plain ones.
    return text.translate(_SMART_QUOTES)


def _survey_key(tokens: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The survey column we read under these header tokens, and its language part."""
    for length in (2, 1):
        key = _SURVEY_COLUMNS.get(tokens[:length])
        if key and (key in _TRANSLATED or len(tokens) == length):
            return key, tokens[length] if len(tokens) > length else None
    return None, None


# -- the import ----------------------------------------------------------------------------
class _Importer(_Reader):
    def __init__(self, shared_lists: Mapping[str, list[Choice]]):
        super().__init__()
        self.shared_lists = shared_lists
        self.field_rows: dict[str, int] = {}
        self.choice_rows: dict[tuple[str, str], int] = {}
        self.survey_columns: dict[str, _Cell] = {}
        self.settings_cells: dict[str, _Cell] = {}
        self.settings_row = 2
        self.default_language = "zh"
        # select field -> its choice list, to place problems of a list
        self.list_users: dict[str, str] = {}
        # our sheet names -> the names in the workbook
        self.sheet_names = {"survey": "survey", "choices": "choices", "settings": "settings"}

    # headers
    def _columns(self, sheet: _Sheet, header_aliases, known) -> dict[str, tuple[str, ...]]:
        """Each header's tokens as pyxform reads them (aliases resolved, `::language` split);
        two headers that mean the same column are an error."""
        double_colon = any("::" in header for _, header in sheet.headers)
        result: dict[str, tuple[str, ...]] = {}
        by_tokens: dict[tuple[str, ...], str] = {}
        for letter, header in sheet.headers:
            _, tokens = process_header(header, double_colon, header_aliases, known)
            tokens = tuple(tokens)
            if tokens and tokens[0] not in known:
                tokens = (tokens[0].lower(), *tokens[1:])
            if tokens in by_tokens:
                self.error(
                    "xlsform.duplicate_column",
                    sheet.name,
                    1,
                    _Cell("", letter, header),
                    header=header,
                    other=by_tokens[tokens],
                )
                continue
            by_tokens[tokens] = letter
            result[header] = tokens
        return result

    def _translated(self, cells: dict[str, list[tuple[str | None, _Cell]]], key: str) -> Text:
        texts = {"zh": "", "en": ""}
        # A column without a language holds the default language; a tagged column wins.
        for language_token, cell in sorted(cells.get(key, []), key=lambda c: c[0] is not None):
            language = _language(language_token, self.default_language)
            if language is not None:
                texts[language] = cell.value
        return Text(**texts)

    def _yes_no(self, sheet: str, row: int, cell: _Cell | None) -> bool:
        if cell is None:
            return False
        if cell.value in _YES_NO:
            return _YES_NO[cell.value]
        self.error("xlsform.yes_no", sheet, row, cell, value=cell.value)
        return False

    def _row_cells(
        self, sheet: _Sheet, row: dict[str, str], columns, letters
    ) -> tuple[dict[str, list[tuple[str | None, _Cell]]], dict[tuple, _Cell]]:
        """A row's cells under our names (translated columns as (language, cell) lists), and
        the cells of columns we don't read, by their tokens."""
        ours: dict[str, list[tuple[str | None, _Cell]]] = {}
        others: dict[tuple, _Cell] = {}
        for header, value in row.items():
            tokens = columns.get(header)
            if tokens is None:
                continue
            cell = _Cell(value, letters[header], header)
            key, language = _survey_key(tokens)
            if key is None:
                others[tokens] = cell
            else:
                ours.setdefault(key, []).append((language, cell))
        return ours, others

    # settings
    def read_settings(self, sheet: _Sheet | None, filename: str | None) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "title": Text(),
            "version": 1,
            "category": None,
            "levels": (),
            "period_type": "none",
        }
        cells: dict[tuple[str, ...], _Cell] = {}
        cell: _Cell | None
        if sheet is not None and sheet.rows:
            columns = self._columns(sheet, aliases.settings_header, set(Survey.get_slot_names()))
            letters = {header: letter for letter, header in sheet.headers}
            self.settings_row, row = sheet.rows[0]
            for header, value in row.items():
                if header in columns:
                    cells[columns[header]] = _Cell(value, letters[header], header)
        at = self.settings_row
        sheet_name = self.sheet_names["settings"]
        language_cell = cells.pop(("default_language",), None)
        if language_cell is not None:
            language = _language(language_cell.value, "zh")
            if language is None:
                self.warn(
                    "xlsform.ignored_language",
                    sheet_name,
                    at,
                    language_cell.column,
                    language_cell.header,
                    language=language_cell.value,
                )
            else:
                self.default_language = language
        settings["default_language"] = self.default_language
        id_cell = cells.pop(("id_string",), None)
        if id_cell is not None:
            settings["name"] = id_cell.value
            self.settings_cells["name"] = id_cell
        elif filename:
            settings["name"] = os.path.splitext(os.path.basename(filename))[0]
        else:
            self.error("xlsform.no_form_id", sheet_name)
        titles = {"zh": "", "en": ""}
        for tokens in sorted((t for t in cells if t[0] == "title"), key=len):
            cell = cells.pop(tokens)
            language = _language(tokens[1] if len(tokens) > 1 else None, self.default_language)
            if language is None:
                self.warn(
                    "xlsform.ignored_language",
                    sheet_name,
                    at,
                    cell.column,
                    cell.header,
                    language=tokens[1],
                )
            else:
                titles[language] = cell.value
        settings["title"] = Text(**titles)
        cell = cells.pop(("version",), None)
        if cell is not None:
            if re.fullmatch(r"\d+", cell.value) and int(cell.value) >= 1:
                settings["version"] = int(cell.value)
            else:
                self.warn(
                    "xlsform.ignored_version",
                    sheet_name,
                    at,
                    cell.column,
                    cell.header,
                    value=cell.value,
                )
        for key, allowed in (("category", CATEGORIES), ("period_type", PERIOD_TYPES)):
            cell = cells.pop((key,), None)
            if cell is None:
                continue
            self.settings_cells[key] = cell
            if cell.value in allowed:
                settings[key] = cell.value
            else:
                self.error(
                    "xlsform.bad_setting",
                    sheet_name,
                    at,
                    cell,
                    value=cell.value,
                    allowed=", ".join(allowed),
                )
        cell = cells.pop(("levels",), None)
        if cell is not None:
            self.settings_cells["levels"] = cell
            levels = cell.value.split()
            wrong = [level for level in levels if level not in LEVELS]
            if wrong:
                self.error(
                    "xlsform.bad_setting",
                    sheet_name,
                    at,
                    cell,
                    value=" ".join(wrong),
                    allowed=", ".join(LEVELS),
                )
            else:
                settings["levels"] = tuple(levels)
        for tokens in (("add_none_option",), ("allow_choice_duplicates",)):
            cell = cells.pop(tokens, None)
            if cell is not None and _YES_NO.get(cell.value):
                self.error(
                    "xlsform.unsupported_setting",
                    sheet_name,
                    at,
                    cell,
                    header=cell.header,
                    value=cell.value,
                )
        for tokens, cell in cells.items():
            if tokens[0] not in _SETTINGS_IGNORED_QUIETLY:
                self.warn(
                    "xlsform.ignored_setting",
                    sheet_name,
                    at,
                    cell.column,
                    cell.header,
                    header=cell.header,
                )
        return settings

    # choices
    def read_choices(self, sheet: _Sheet | None) -> dict[str, list[Choice]]:
        lists: dict[str, list[Choice]] = {}
        if sheet is None:
            return lists
        columns = self._columns(sheet, aliases.list_header, set(Option.get_slot_names()))
        letters = {header: letter for letter, header in sheet.headers}
        warned: set[str] = set()
        for number, row in sheet.rows:
            list_name = code = None
            labels: dict[str, list[tuple[str | None, _Cell]]] = {}
            exclusive = None
            for header, value in row.items():
                tokens = columns.get(header)
                if tokens is None:
                    continue
                cell = _Cell(value, letters[header], header)
                if tokens == ("list name",):
                    list_name = cell
                elif tokens == ("name",):
                    code = cell
                elif tokens[0] == "label":
                    labels.setdefault("label", []).append(
                        (tokens[1] if len(tokens) > 1 else None, cell)
                    )
                elif tokens == ("exclusive",):
                    exclusive = cell
                else:
                    self._ignored_column(sheet.name, header, letters[header], tokens, warned)
            if list_name is None and code is None:
                continue  # a note or an empty line
            if list_name is None:
                self.error(
                    "xlsform.missing_list_name",
                    sheet.name,
                    number,
                    self._column(columns, letters, ("list name",)),
                    "list_name",
                )
                continue
            if code is None:
                self.error(
                    "xlsform.missing_name",
                    sheet.name,
                    number,
                    self._column(columns, letters, ("name",)),
                    "name",
                )
                continue
            choices = lists.setdefault(list_name.value, [])
            key = (list_name.value, code.value)
            if key in self.choice_rows:
                self.error(
                    "definition.duplicate_choice",
                    sheet.name,
                    number,
                    code,
                    code=code.value,
                    list=list_name.value,
                )
                continue
            self.choice_rows[key] = number
            choices.append(
                Choice(
                    code=code.value,
                    label=self._translated(labels, "label"),
                    exclusive=self._yes_no(sheet.name, number, exclusive),
                )
            )
        return lists

    @staticmethod
    def _column(
        columns: dict[str, tuple[str, ...]], letters: dict[str, str], tokens: tuple[str, ...]
    ) -> _Cell | None:
        """The column read under these tokens, as a cell to place a problem at."""
        header = next((h for h, t in columns.items() if t == tokens), None)
        return _Cell("", letters[header], header) if header else None

    def _ignored_column(
        self, sheet: str, header: str, letter: str, tokens: tuple, warned: set[str]
    ) -> None:
        if header in warned:
            return
        warned.add(header)
        if tokens[0] in ("label", "hint") or (
            len(tokens) > 2 and tokens[1] in ("jr:constraintMsg", "jr:requiredMsg")
        ):
            self.warn("xlsform.ignored_language", sheet, 1, letter, header, language=tokens[-1])
        else:
            self.warn("xlsform.ignored_column", sheet, 1, letter, header, header=header)

    # survey
    def read_survey(self, sheet: _Sheet) -> list[Field]:
        columns = self._columns(
            sheet, aliases.survey_header, set(MultipleChoiceQuestion.get_slot_names())
        )
        letters = {header: letter for letter, header in sheet.headers}
        for header, tokens in columns.items():
            key, _ = _survey_key(tokens)
            if key is not None:
                self.survey_columns.setdefault(key, _Cell("", letters[header], header))
        if "type" not in self.survey_columns:
            self.error("xlsform.missing_column", sheet.name, 1, header="type")
            return []
        warned: set[str] = set()
        for header, tokens in columns.items():
            key, language = _survey_key(tokens)
            if key in _TRANSLATED and _language(language, self.default_language) is None:
                self._ignored_column(sheet.name, header, letters[header], tokens, warned)
        top: list[Field] = []
        # (kind, children, row) of the groups and repeats being read
        stack: list[tuple[str, list[Field], int]] = [("form", top, 0)]
        for number, row in sheet.rows:
            cells, others = self._row_cells(sheet, row, columns, letters)
            disabled = cells.get("disabled")
            if disabled and _YES_NO.get(disabled[0][1].value):
                self.warn("xlsform.skipped_row", sheet.name, number)
                continue
            for tokens, cell in others.items():
                feature = _UNSUPPORTED_COLUMNS.get(tokens)
                if feature:
                    self.error(
                        "xlsform.unsupported_column",
                        sheet.name,
                        number,
                        cell,
                        header=cell.header,
                        feature=feature,
                    )
                elif tokens[0] not in ("disabled",):
                    self._ignored_column(sheet.name, cell.header, cell.column, tokens, warned)
            field_ = self._survey_row(sheet.name, number, cells, stack)
            if field_ is not None:
                stack[-1][1].append(field_)
                if field_.type in ("group", "repeat"):
                    stack.append((field_.type, field_.children, number))
        for kind, _, number in stack[1:]:
            self.error(
                "xlsform.unclosed", sheet.name, number, self.survey_columns["type"], kind=kind
            )
        return top

    def _survey_row(
        self, sheet: str, number: int, cells: dict[str, list[tuple[str | None, _Cell]]], stack: list
    ) -> Field | None:
        def one(key: str) -> _Cell | None:
            found = cells.get(key)
            return found[0][1] if found else None

        type_cell, name_cell = one("type"), one("name")
        if type_cell is None:
            if name_cell is not None or "label" in cells:
                self.error(
                    "xlsform.missing_type",
                    sheet,
                    number,
                    self.survey_columns["type"],
                )
            return None  # otherwise a comment row
        kind = self._field_type(sheet, number, type_cell, stack)
        if kind is None:
            return None
        type_name, list_name = kind
        # A field with a problem is still returned, so that its `end` rows match up; nothing
        # is imported when there are problems anyway.
        if name_cell is None and type_name == "note":
            # pyxform's name for a note without one, so both read the form alike
            name_cell = _Cell(f"generated_note_name_{number}", "", "name")
        if name_cell is None:
            self.error(
                "xlsform.missing_name",
                sheet,
                number,
                self.survey_columns.get("name"),
                "name",
            )
            name = ""
        else:
            name = name_cell.value
            if name in self.field_rows:
                self.error("definition.duplicate_name", sheet, number, name_cell, name=name)
            else:
                self.field_rows[name] = number
        field_ = Field(name=name, type=type_name, choices=list_name or "")
        field_.label = self._translated(cells, "label")
        field_.hint = self._translated(cells, "hint")
        field_.required_message = self._translated(cells, "required_message")
        field_.constraint_message = self._translated(cells, "constraint_message")
        required = one("required")
        if required is not None:
            if required.value in _YES_NO:
                field_.required = _YES_NO[required.value]
            else:
                field_.required_if = _expression(required.value)
        field_.read_only = self._yes_no(sheet, number, one("read_only"))
        field_.pii = self._yes_no(sheet, number, one("pii"))
        for key in ("relevant", "constraint", "calculation"):
            cell = one(key)
            if cell is not None:
                setattr(field_, key, _expression(cell.value))
        default = one("default")
        if default is not None:
            self._default(sheet, number, field_, default)
        parameters = one("parameters")
        if parameters is not None:
            self._parameters(sheet, number, field_, parameters)
        return field_

    def _field_type(
        self, sheet: str, number: int, cell: _Cell, stack: list
    ) -> tuple[str, str | None] | None:
        text = " ".join(cell.value.split())
        control = _CONTROL_RE.match(text)
        if control:
            kind = control.group("kind").lower()
            kind = {"lgroup": "repeat", "looped group": "repeat"}.get(kind, kind)
            if kind == "loop":
                self.error("xlsform.unsupported_type", sheet, number, cell, type=text)
                return None
            if control.group("edge").lower() == "begin":
                return kind, None
            if len(stack) > 1 and stack[-1][0] == kind:
                stack.pop()
            else:
                self.error("xlsform.unmatched_end", sheet, number, cell, type=text, kind=kind)
            return None
        select = _SELECT_RE.match(text)
        if select:
            command = select.group("command")
            ours = (
                None
                if command in aliases.select_from_file
                else _SELECTS.get(aliases.select[command])
            )
            if select.group("other"):
                self.error(
                    "xlsform.unsupported_type",
                    sheet,
                    number,
                    cell,
                    type=select.group("other").strip(),
                )
            elif ours is None:
                self.error(
                    "xlsform.unsupported_type", sheet, number, cell, type=select.group("command")
                )
            else:
                return ours, select.group("list")
            return None
        lower = text.lower()
        if lower in _TYPES:
            return _TYPES[lower], None
        if lower in aliases.select:
            self.error("definition.no_choice_list", sheet, number, cell, type=text)
        elif (
            text in QUESTION_TYPE_DICT
            or lower in QUESTION_TYPE_DICT
            or lower.split()[0] in aliases.osm
        ):
            self.error("xlsform.unsupported_type", sheet, number, cell, type=text)
        else:
            self.error("xlsform.unknown_type", sheet, number, cell, type=text)
        return None

    def _default(self, sheet: str, number: int, field_: Field, cell: _Cell) -> None:
        value = cell.value
        xpath_type = {"date": "date", "datetime": "dateTime"}.get(field_.type)
        if field_.type not in ("text", "note") and default_is_dynamic(value, xpath_type):
            self.error("xlsform.dynamic_default", sheet, number, cell, value=value)
            return
        try:
            field_.default = parse_default(field_.type, value)
        except ValueError:
            problem = "xlsform.yes_no" if field_.type == "boolean" else "xlsform.bad_number"
            self.error(problem, sheet, number, cell, value=value)

    def _parameters(self, sheet: str, number: int, field_: Field, cell: _Cell) -> None:
        try:
            pairs = [item.split("=", 1) for item in shlex.split(cell.value)]
        except ValueError as error:
            self.error("xlsform.parameters", sheet, number, cell, detail=str(error))
            return
        allowed = _PARAMETERS.get(field_.type, set())
        for pair in pairs:
            if len(pair) != 2 or not pair[0]:
                self.error("xlsform.parameters", sheet, number, cell, detail="=".join(pair))
                continue
            key, value = pair[0].strip().lower(), pair[1].strip()
            if key in _DISPLAY_PARAMETERS:
                self.warn(
                    "xlsform.ignored_setting", sheet, number, cell.column, cell.header, header=key
                )
                continue
            if key not in allowed:
                self.error(
                    "xlsform.unknown_parameter", sheet, number, cell, key=key, type=field_.type
                )
                continue
            try:
                if key == "unit":
                    field_.unit = value
                elif key in ("min", "max") and field_.type == "repeat":
                    setattr(field_, f"{key}_count", int(value))
                elif key in ("min", "max"):
                    setattr(field_, key, _number(value))
                elif key == "decimals":
                    field_.decimals = int(value)
                elif key in ("sex_field", "birth_date_field"):
                    setattr(field_, key, re.sub(r"^\$\{(.*)\}$", r"\1", value))
                elif key == "max_size":
                    field_.max_size = parse_size(value)
                elif key == "accept":
                    field_.accept = tuple(v.strip() for v in value.split(",") if v.strip())
            except ValueError:
                self.error("xlsform.bad_number", sheet, number, cell, value=value)

    # definition problems, located
    def locate(self, problem: Problem) -> SheetMessage:
        message = problem.message
        if message.id == "definition.expression" and message.mapping.get("code") == (
            "unknown_function"
        ):
            message = Message(
                "xlsform.unsupported_function", {"function": message.mapping.get("name")}
            )
        if problem.field is not None and problem.field in self.field_rows:
            column = _ATTRIBUTE_COLUMNS.get(problem.attribute or "", "type")
            cell = self.survey_columns.get(column)
            return SheetMessage(
                message,
                self.sheet_names["survey"],
                self.field_rows[problem.field],
                cell.column if cell else None,
                cell.header if cell else column,
            )
        if problem.choice_list is not None:
            row = self.choice_rows.get((problem.choice_list, problem.code or ""))
            if row is not None:
                return SheetMessage(message, self.sheet_names["choices"], row)
            user = next(
                (
                    name
                    for name, r in self.field_rows.items()
                    if self.list_users.get(name) == problem.choice_list
                ),
                None,
            )
            if user is not None:
                cell = self.survey_columns.get("type")
                return SheetMessage(
                    message,
                    self.sheet_names["survey"],
                    self.field_rows[user],
                    cell.column if cell else None,
                    cell.header if cell else None,
                )
        cell = self.settings_cells.get(problem.attribute or "")
        return SheetMessage(
            message,
            self.sheet_names["settings"],
            self.settings_row if cell else None,
            cell.column if cell else None,
            cell.header if cell else None,
        )


def _pyxform_message(
    text: str, importer: _Importer, sheets: dict[str, _Sheet], warning: bool
) -> SheetMessage:
    """One of pyxform's messages, placed in the workbook as well as its text allows."""
    row = re.search(r"\[row : (\d+)\]\s*", text)
    named = re.search(r"'(survey|choices|settings)' sheet", text)
    key = named.group(1) if named else "survey"
    header = re.search(r"the '([^']+)' value", text)
    sheet = sheets.get(key)
    letter = None
    if header and sheet is not None:
        letter = next((c for c, h in sheet.headers if h == header.group(1)), None)
    detail = text[row.end() :] if row and row.start() == 0 else text
    message_id = "xlsform.pyxform_warning" if warning else "xlsform.pyxform"
    return SheetMessage(
        Message(message_id, {"detail": detail}),
        importer.sheet_names[key],
        int(row.group(1)) if row else None,
        letter,
        header.group(1) if header and letter else None,
    )


def _pyxform_check(
    sheets: dict[str, _Sheet], importer: _Importer, extra_choices: Mapping[str, list[Choice]]
) -> list[SheetMessage]:
    """Hand pyxform the workbook as read (our own types as text, our own columns left out) and
    turn what it says into messages; it stops at the first error."""
    ours = {"pii", "parameters", "exclusive", "category", "period_type", "levels"}

    def table(sheet: _Sheet | None, rename_type: bool = False, drop=()) -> tuple[list, list]:
        if sheet is None:
            return [], []
        headers = [h for _, h in sheet.headers if h.lower() not in ours and h not in drop]
        by_number = dict(sheet.rows)
        rows = []
        for number in range(2, sheet.last_row + 1):
            row = {h: v for h, v in by_number.get(number, {}).items() if h in headers}
            if rename_type:
                for header in [h for h in row if h.lower() == "type"]:
                    if row[header].strip().lower() in _CUSTOM_TYPES:
                        row[header] = "text"
            rows.append(row)
        return rows, [dict.fromkeys(headers)]

    survey, survey_header = table(sheets["survey"], rename_type=True)
    workbook: dict[str, Any] = {"survey": survey, "survey_header": survey_header}
    choices, choices_header = table(sheets.get("choices"))
    if extra_choices:
        if not choices_header:
            choices_header = [{"list_name": None, "name": None, "label": None}]
        list_key = next((h for h in choices_header[0] if "list" in h.lower()), "list_name")
        name_key = next((h for h in choices_header[0] if h.lower() in ("name", "value")), "name")
        label_keys = [h for h in choices_header[0] if h.lower().startswith("label")]
        for list_name, options in extra_choices.items():
            for choice in options:
                row = {list_key: list_name, name_key: choice.code}
                for key in label_keys:
                    suffix = re.split(r"::?", key, maxsplit=1)[1:] or [None]
                    language = _language(suffix[0], importer.default_language) or "zh"
                    row[key] = choice.label.get(language)
                choices.append(row)
    if choices:
        workbook["choices"], workbook["choices_header"] = choices, choices_header
    settings_sheet = sheets.get("settings")
    if settings_sheet is not None:
        translated_titles = [
            h for _, h in settings_sheet.headers if "::" in h or h.lower().startswith("form_title:")
        ]
        settings, settings_header = table(settings_sheet, drop=translated_titles)
        if settings:
            workbook["settings"], workbook["settings_header"] = settings[:1], settings_header
    messages: list[SheetMessage] = []
    pyxform_warnings: list[str] = []
    try:
        convert(workbook, warnings=pyxform_warnings, form_name="data")
    except PyXFormError as error:
        messages.append(_pyxform_message(str(error), importer, sheets, warning=False))
    except Exception as error:  # pyxform's own failures are reported, not raised
        messages.append(_pyxform_message(repr(error), importer, sheets, warning=False))
    for text in pyxform_warnings:
        if _NOT_FOR_US in text:
            continue
        importer.warnings.append(_pyxform_message(text, importer, sheets, warning=True))
    return messages


# pyxform advises `max-pixels` on every image question: ODK Collect shrinks photos on the
# phone. The portal takes an image's `max_size` instead and checks it itself.
_NOT_FOR_US = "Use the max-pixels parameter"


def import_xlsform(
    source: bytes | BinaryIO | str | os.PathLike,
    filename: str | None = None,
    shared_lists: Mapping[str, list[Choice]] | None = None,
) -> ImportResult:
    """Read an XLSForm into a FormDefinition, or say everything wrong with it.

    `source` is the file's bytes, a binary file or a path; `filename` (taken from a path)
    gives the form's name when the settings have no form_id. A select whose list is not in
    the choices sheet takes it from `shared_lists` (by default the standard code sets), so
    the definition holds every list it uses.
    """
    if isinstance(source, str | os.PathLike):
        filename = filename or os.fspath(source)
        with open(source, "rb") as file:
            data = file.read()
    elif isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        data = source.read()
    if shared_lists is None:
        from forms.codesets import CODE_SETS

        shared_lists = CODE_SETS
    importer = _Importer(shared_lists)
    sheets = importer.read(data) or {}
    definition = _import(importer, sheets, filename) if sheets else None
    # Problems in the order someone fixing the workbook meets them.
    order = {name: position for position, name in enumerate(sheets)}
    errors = sorted(
        importer.errors,
        key=lambda e: (
            order.get(e.sheet or "", -1),
            e.row or 0,
            len(e.column or ""),
            e.column or "",
        ),
    )
    return ImportResult(None if errors else definition, errors, importer.warnings)


def _import(
    importer: _Importer, sheets: dict[str, _Sheet], filename: str | None
) -> FormDefinition | None:
    by_name: dict[str, _Sheet] = {}
    for name, sheet in sheets.items():
        key = name.lower()
        if key in ("survey", "choices", "settings"):
            by_name[key] = sheet
        elif key in ("external_choices", "entities", "osm"):
            if sheet.rows:
                importer.error("xlsform.unsupported_sheet", name, 1, sheet=name, feature=key)
        elif len(sheets) > 1:
            importer.warn("xlsform.ignored_sheet", name, sheet=name)
    if "survey" not in by_name and len(sheets) == 1:
        by_name["survey"] = next(iter(sheets.values()))  # as pyxform reads a lone sheet
    if "survey" not in by_name:
        importer.error("xlsform.no_survey")
        return None
    importer.sheet_names.update({key: sheet.name for key, sheet in by_name.items()})
    settings = importer.read_settings(by_name.get("settings"), filename)
    choice_lists = importer.read_choices(by_name.get("choices"))
    fields = importer.read_survey(by_name["survey"])
    if importer.errors:
        return None
    definition = FormDefinition(fields=fields, choice_lists=choice_lists, **settings)
    borrowed: dict[str, list[Choice]] = {}
    for f in definition.iter_fields():
        if f.type in SELECT_TYPES:
            importer.list_users[f.name] = f.choices
            if f.choices not in choice_lists and f.choices in importer.shared_lists:
                borrowed[f.choices] = list(importer.shared_lists[f.choices])
    choice_lists.update(borrowed)
    for problem in check_definition(definition):
        # The reading placed these already, at the repeated row.
        if problem.message.id not in ("definition.duplicate_name", "definition.duplicate_choice"):
            importer.errors.append(importer.locate(problem))
    if not importer.errors:
        importer.errors.extend(_pyxform_check(by_name, importer, borrowed))
    return definition


# -- the export ----------------------------------------------------------------------------
_SURVEY_HEADERS = [
    ("type", None),
    ("name", None),
    ("label", "zh"),
    ("label", "en"),
    ("hint", "zh"),
    ("hint", "en"),
    ("required", None),
    ("required_message", "zh"),
    ("required_message", "en"),
    ("relevant", None),
    ("constraint", None),
    ("constraint_message", "zh"),
    ("constraint_message", "en"),
    ("calculation", None),
    ("default", None),
    ("read_only", None),
    ("pii", None),
    ("parameters", None),
]


def _header(key: str, language: str | None) -> str:
    return f"{key}::{LANGUAGE_COLUMNS[language]}" if language else key


def _format_number(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# Yes and no as a `default` of a boolean field is read: XLSForm's words, any case, and
# the Chinese 是 and 否.
_DEFAULT_YES_NO = {
    **{word.lower(): value for word, value in aliases.yes_no.items()},
    "是": True,
    "否": False,
}


def parse_default(field_type: str, text: str) -> Any:
    """A default as written (the `default` column, or the form builder's input) as a field
    of `field_type` holds it; format_default writes it back. ValueError when a number or a
    yes/no cannot be read."""
    if field_type in ("integer", "decimal"):
        return _number(unicodedata.normalize("NFKC", text))  # full-width digits too
    if field_type == "boolean":
        word = text.strip().lower()
        if word not in _DEFAULT_YES_NO:
            raise ValueError(text)
        return _DEFAULT_YES_NO[word]
    if field_type == "select_multiple":
        return text.split()
    if field_type == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2} 00:00:00", text):
        return text[:10]  # a date cell
    return text


def format_default(value: Any) -> str:
    """A default as the `default` column (and the form builder) writes it: yes/no, numbers,
    codes separated by spaces."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _format_number(value)
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def _format_parameters(f: Field) -> str:
    pairs = []
    for attribute, key in _PARAMETER_ATTRIBUTES.items():
        value = getattr(f, attribute)
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, int | float):
            value = _format_number(value)
        pairs.append(f"{key}={shlex.quote(value)}")
    return " ".join(pairs)


def _survey_rows(fields: list[Field]) -> Iterable[list[str]]:
    for f in fields:
        if f.type in SELECT_TYPES:
            type_ = f"{f.type} {f.choices}"
        elif f.is_container:
            type_ = f"begin {f.type}"
        else:
            type_ = f.type
        values = {
            "type": type_,
            "name": f.name,
            "required": "yes" if f.required else f.required_if,
            "relevant": f.relevant,
            "constraint": f.constraint,
            "calculation": f.calculation,
            "default": format_default(f.default),
            "read_only": "yes" if f.read_only else "",
            "pii": "yes" if f.pii else "",
            "parameters": _format_parameters(f),
        }
        row = []
        for key, language in _SURVEY_HEADERS:
            row.append(getattr(getattr(f, key), language) if language else values[key])
        yield row
        if f.is_container:
            yield from _survey_rows(f.children)
            yield [f"end {f.type}"] + [""] * (len(_SURVEY_HEADERS) - 1)


def _write(sheet, rows: Iterable[list[str]]) -> None:
    for row in rows:
        sheet.append([value or None for value in row])
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, not a formula


def export_xlsform(definition: FormDefinition) -> bytes:
    """The definition as an .xlsx XLSForm that imports back to an equal definition."""
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    _write(
        survey,
        [
            [_header(k, language) for k, language in _SURVEY_HEADERS],
            *_survey_rows(definition.fields),
        ],
    )
    choices = book.create_sheet("choices")
    _write(
        choices,
        [
            ["list_name", "name", _header("label", "zh"), _header("label", "en"), "exclusive"],
            *(
                [
                    list_name,
                    choice.code,
                    choice.label.zh,
                    choice.label.en,
                    "yes" if choice.exclusive else "",
                ]
                for list_name, options in definition.choice_lists.items()
                for choice in options
            ),
        ],
    )
    settings = book.create_sheet("settings")
    title = definition.title
    _write(
        settings,
        [
            [
                "form_id",
                "form_title",
                _header("form_title", "zh"),
                _header("form_title", "en"),
                "version",
                "default_language",
                "category",
                "period_type",
                "levels",
            ],
            [
                definition.name,
                getattr(title, definition.default_language),
                title.zh,
                title.en,
                str(definition.version),
                LANGUAGE_COLUMNS[definition.default_language],
                definition.category or "",
                definition.period_type,
                " ".join(definition.levels),
            ],
        ],
    )
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
