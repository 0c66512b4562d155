"""The reference figures pages: navigation, the year page (own value or Σ sum), the edit
form (field errors keep the input), import refusing a file with a bad row, export, CSRF,
and who may do what."""

from tests.conftest import login


def test_admin_edits_imports_and_exports_a_manager_only_views(testapp):
    login(testapp, "admin")
    testapp.set_cookie("_LOCALE_", "en")
    home = testapp.get("/")
    assert home.html.find("a", attrs={"data-nav": "reference"}) is not None
    res = testapp.get("/reference?year=2019", status=303)
    page = res.follow()
    assert "Reference figures of" in page.text
    form = testapp.get("/110000/110101/110101001/reference-edit?year=2019").forms["reference-edit"]
    form["population"] = "-5"
    form["live_births"] = "120"
    bad = form.submit("save", status=200)
    assert "cannot be negative" in bad.text
    again = bad.forms["reference-edit"]
    assert again["population"].value == "-5" and again["live_births"].value == "120"
    again["population"] = "50,000"
    ok = again.submit("save", status=303).follow()
    cells = {
        td["data-kind"]: td.get_text(strip=True)
        for td in ok.html.select("tr[data-code='110101001'] td[data-kind]")
    }
    assert cells["population"] == "50,000", cells
    parent = testapp.get("/110000/110101/reference?year=2019")
    td = parent.html.select_one("tr[data-code='110101'] td[data-kind='population']")
    assert td["data-source"] == "sum" and "50,000" in td.get_text()
    imp = testapp.get("/110000/110101/reference-import?year=2019").forms["reference-import"]
    imp["upload"] = (
        "f.csv",
        b"code,year,kind,value\n110101,2019,population,1\n110102,2019,population,2\n",
    )
    page = imp.submit("save", status=200)
    assert page.html.select("#import-errors li")[0]["data-row"] == "3"
    csv = testapp.get("/110000/110101/reference-export.csv?year=2019")
    assert b"110101001,2019,population,50000" in csv.body, csv.body
    testapp.post(
        "/110000/110101/reference-edit?year=2019", {"population": "1", "save": "save"}, status=400
    )
    testapp.reset()
    login(testapp, "dongcheng")
    testapp.get("/110000/110101/reference?year=2019", status=200)
    testapp.get("/110000/110101/reference-edit?year=2019", status=403)
    testapp.get("/110000/reference", status=403)
