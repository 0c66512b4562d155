"""forms.versions: what changes between two versions, and which changes lose data."""

from forms.model import Choice, Field, Text
from forms.versions import data_losing, diff
from tests.unit.forms.samples import every_feature_form


def kinds(changes):
    return [(c.kind, c.field, c.data_loss) for c in changes]


def test_identical_versions_have_no_differences():
    assert diff(every_feature_form(), every_feature_form()) == []


def test_removed_fields_lose_data_but_removed_notes_and_groups_do_not():
    old, new = every_feature_form(), every_feature_form()
    new.fields = [f for f in new.fields if f.name not in ("phone", "note_diet", "smoking")]
    assert kinds(diff(old, new)) == [
        ("field_removed", "phone", True),
        ("field_removed", "smoking", False),
        ("field_removed", "cigarettes", True),
        ("field_removed", "note_diet", False),
    ]


def test_added_fields_do_not_lose_data():
    old, new = every_feature_form(), every_feature_form()
    new.fields.append(Field("comment", "text"))
    [change] = diff(old, new)
    assert (change.kind, change.data_loss) == ("field_added", False)
    assert change.message.render("en") == "Field “comment” added."


def test_type_changes_lose_data_unless_the_old_answers_still_fit():
    old, new = every_feature_form(), every_feature_form()
    new.get_field("sbp").type = "decimal"
    new.get_field("name").type = "integer"
    new.get_field("note_diet").type = "text"
    assert kinds(c for c in diff(old, new) if c.kind == "type_changed") == [
        ("type_changed", "name", True),
        ("type_changed", "sbp", False),
        ("type_changed", "note_diet", False),
    ]


def test_removed_option_codes_lose_data_added_and_relabelled_do_not():
    old, new = every_feature_form(), every_feature_form()
    new.choice_lists["mode"] = [
        Choice("1", Text("门诊（含社区）", "Clinic")),
        Choice("3"),
        Choice("4", Text("微信", "WeChat")),
    ]
    changes = diff(old, new)
    assert kinds(changes) == [
        ("options_removed", "mode", True),
        ("options_added", "mode", False),
        ("options_relabelled", "mode", False),
    ]
    assert changes[0].before == ["2"]
    assert "2" in changes[0].message.render("zh")


def test_pointing_a_select_at_another_list_compares_the_codes():
    old, new = every_feature_form(), every_feature_form()
    new.get_field("mode").choices = "gb_sex"
    found = kinds(diff(old, new))
    assert ("options_removed", "mode", True) in found
    assert ("logic_changed", "mode", False) in found


def test_moving_into_or_out_of_a_repeat_loses_data_moving_between_groups_does_not():
    old, new = every_feature_form(), every_feature_form()
    phone = new.get_field("phone")
    new.fields.remove(phone)
    new.get_field("meds").children.append(phone)
    dbp = new.get_field("dbp")
    new.get_field("vitals").children.remove(dbp)
    new.fields.append(dbp)
    changes = diff(old, new)
    assert kinds(changes) == [("moved_into_repeat", "phone", True), ("moved", "dbp", False)]
    assert changes[0].message.mapping == {"name": "phone", "repeat": "meds"}
    back = diff(new, old)
    assert ("moved_out_of_repeat", "phone", True) in kinds(back)


def test_texts_rules_personal_flags_and_form_settings_are_listed_without_data_loss():
    old, new = every_feature_form(), every_feature_form()
    new.title = Text("高血压随访", "HTN follow-up")
    new.levels = ("station",)
    sbp = new.get_field("sbp")
    sbp.label = Text("收缩压（mmHg）", "Systolic (mmHg)")
    sbp.max = 280
    sbp.relevant = "${mode} != '3'"
    new.get_field("phone").pii = False
    changes = diff(old, new)
    assert kinds(changes) == [
        ("form_changed", None, False),
        ("form_changed", None, False),
        ("pii_unmarked", "phone", False),
        ("label_changed", "sbp", False),
        ("logic_changed", "sbp", False),
    ]
    assert changes[1].message.render("en") == (
        "The form setting levels changes from station centre to station."
    )
    assert changes[4].message.mapping["attributes"] == "relevant, max"
    assert data_losing(changes) == []


def test_data_losing_picks_the_warnings_and_changes_serialise():
    old, new = every_feature_form(), every_feature_form()
    new.fields = [f for f in new.fields if f.name != "photo"]
    new.fields.append(Field("remarks", "text"))
    [loss] = data_losing(diff(old, new))
    assert loss.to_dict() == {
        "kind": "field_removed",
        "field": "photo",
        "data_loss": True,
        "id": "diff.field_removed",
        "default": "Field “photo” removed: its data in earlier submissions will no longer be "
        "shown or reported.",
        "mapping": {"name": "photo"},
    }
