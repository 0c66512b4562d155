"""forms.display: stored data as people read it."""

from forms.display import Repeat, Section, Value, format_value, present
from forms.identifiers import mask_pii
from tests.unit.forms.samples import every_feature_form, valid_data


def flatten(items, prefix=""):
    """(path, text) for every value, sections and repeat entries spelled into the path."""
    out = []
    for item in items:
        if isinstance(item, Value):
            out.append((prefix + item.name, item.text))
        elif isinstance(item, Section):
            out += flatten(item.items, f"{prefix}{item.name}/")
        else:
            for number, entry in enumerate(item.entries, 1):
                out += flatten(entry, f"{prefix}{item.name}.{number}/")
    return out


def test_labels_option_labels_units_and_structure_in_chinese():
    items = present(every_feature_form(), valid_data(), "zh")
    shown = dict(flatten(items))
    assert shown["sex"] == "女" and shown["mode"] == "门诊"
    assert shown["symptoms"] == "头痛头晕、恶心呕吐"
    assert shown["smokes"] == "是"
    assert shown["visited_at"] == "2026-03-01 09:30"
    assert shown["vitals/sbp"] == "150" and shown["vitals/weight"] == "60.5"
    assert shown["smoking/cigarettes"] == "10"
    assert shown["meds.1/drug"] == "氨氯地平" and shown["meds.2/dose"] == "12.5"
    vitals = next(i for i in items if i.name == "vitals")
    assert vitals.label == "体征"
    sbp = next(i for i in vitals.items if i.name == "sbp")
    assert (sbp.label, sbp.unit, sbp.pii) == ("收缩压", "mmHg", False)
    name = next(i for i in items if i.name == "name")
    assert name.pii and name.label == "姓名"
    # Form order; the note and the unanswered fields are not shown.
    assert [i.name for i in items][:4] == ["visit_date", "visited_at", "name", "sex"]
    assert "note_diet" not in shown and "report" not in shown and "bmi" not in shown


def test_english_and_fallbacks():
    items = present(every_feature_form(), valid_data(), "en")
    shown = dict(flatten(items))
    assert shown["sex"] == "Female" and shown["symptoms"] == "Headache, Nausea"
    assert shown["smokes"] == "Yes"
    smoking = next(i for i in items if i.name == "smoking")
    assert smoking.label == "smoking"  # a group without a label is named by its name


def test_empty_sections_and_entries_are_left_out():
    data = valid_data()
    del data["cigarettes"]
    data["meds"] = [{}, {"drug": "氨氯地平"}]
    items = present(every_feature_form(), data, "zh")
    assert "smoking" not in [i.name for i in items]
    meds = next(i for i in items if isinstance(i, Repeat))
    assert len(meds.entries) == 1 and dict(flatten(meds.entries[0])) == {"drug": "氨氯地平"}


def test_masked_values_and_unknown_codes_are_shown_as_they_are():
    definition = every_feature_form()
    data = valid_data() | {"mode": "7"}
    shown = dict(flatten(present(definition, mask_pii(definition, data))))
    assert shown["id_number"] == "110105********002X"
    assert shown["phone"] == "138****5678"
    assert shown["mode"] == "7"


def test_numbers_and_attachment_links():
    definition = every_feature_form()
    height = definition.get_field("height")
    assert format_value(definition, height, 160.0) == "160.0"  # keeps its decimal place
    sbp = definition.get_field("sbp")
    assert format_value(definition, sbp, 150.0) == "150"
    items = present(
        definition, valid_data(), "zh", attachment_link=lambda f, ref: f"/a/{f.name}/{ref}"
    )
    photo = next(i for i in items if i.name == "photo")
    assert photo.href == "/a/photo/attachment-1"
    assert next(i for i in items if i.name == "name").href is None
