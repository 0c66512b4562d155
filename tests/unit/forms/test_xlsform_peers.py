"""XLSForm import against a peer's test suite: the example and bug-report workbooks of ODK's
pyxform 4.5.0, with what pyxform itself does with each (../shared/peer-xlsforms/)."""

import csv
from pathlib import Path

import pytest

from forms.xlsform import export_xlsform, import_xlsform
from tests.conftest import need

PEERS = Path(__file__).resolve().parents[3].parent / "shared" / "peer-xlsforms"
OUTCOMES = PEERS / "pyxform-4.5.0-outcomes.csv"


def outcomes():
    if not OUTCOMES.is_file():
        # Skipped locally when shared/ is not beside the clone; CI always has it, and
        # with CI=true a missing folder fails (tests.conftest.need).
        return [pytest.param(None, None, id="peer-xlsforms-missing")]
    with OUTCOMES.open(encoding="utf-8") as file:
        return [
            pytest.param(row["file"], row["pyxform_4_5_0"], id=row["file"])
            for row in csv.DictReader(file)
        ]


@pytest.mark.parametrize(("name", "pyxform_outcome"), outcomes())
def test_peer_workbooks_import_or_are_refused_with_row_numbers(name, pyxform_outcome):
    need(name is not None, f"the peer XLSForms are not at {PEERS}")
    result = import_xlsform(PEERS / name)  # never raises: that is part of the test
    # Nothing half-imported: a definition or errors, never both.
    assert (result.definition is None) == bool(result.errors)
    for error in result.errors:
        assert error.sheet and isinstance(error.row, int) and error.row >= 1, error.render("en")
        assert error.render("zh") and error.render("en")
    if pyxform_outcome == "rejected":
        assert result.errors, "pyxform refuses this workbook, so must we"
        return
    if result.definition is not None:
        again = import_xlsform(export_xlsform(result.definition))
        assert again.definition == result.definition
        return
    ids = {error.message.id for error in result.errors}
    # pyxform accepted it: we refuse only for an ODK feature we don't support, named with its
    # row, or for an expression that isn't one (pyxform does not read XPath; ODK Validate
    # refuses those too).
    assert any(i.startswith("xlsform.unsupported") for i in ids) or ids == {
        "definition.expression"
    }, [e.render("en") for e in result.errors]
