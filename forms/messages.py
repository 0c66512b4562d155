"""Messages the forms library produces: an id, an English default and a mapping, with Chinese
and English texts in one table so the library can speak either language without Pyramid.

Placeholders use `${name}`, the syntax of translationstring, so the portal can hand
`(id, default, mapping)` straight to its own catalogue if it prefers.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Any

LANGUAGES = ("zh", "en")

# id -> (English, Chinese)
TEXTS: dict[str, tuple[str, str]] = {
    # -- submitted data ----------------------------------------------------------------
    "validation.not_an_object": (
        "The data must be an object keyed by field name.",
        "数据必须是以字段名为键的对象。",
    ),
    "validation.unknown_field": (
        "There is no field named “${name}” in this form.",
        "此表单中没有名为“${name}”的字段。",
    ),
    "validation.required": ("This field is required.", "此项为必填项。"),
    "validation.not_text": ("Enter text.", "请输入文字。"),
    "validation.text_characters": (
        "Remove the control or direction characters from this text.",
        "请删除文字中的控制字符或方向控制字符。",
    ),
    "validation.not_integer": ("Enter a whole number.", "请输入整数。"),
    "validation.not_number": ("Enter a number.", "请输入数字。"),
    "validation.not_boolean": ("Choose yes or no.", "请选择是或否。"),
    "validation.not_date": ("Enter a date as YYYY-MM-DD.", "请按 YYYY-MM-DD 格式输入日期。"),
    "validation.not_datetime": (
        "Enter a date and time as YYYY-MM-DDTHH:MM.",
        "请按 YYYY-MM-DDTHH:MM 格式输入日期和时间。",
    ),
    "validation.too_small": ("The value must be at least ${min}.", "数值不能小于 ${min}。"),
    "validation.too_large": ("The value must be at most ${max}.", "数值不能大于 ${max}。"),
    "validation.too_many_decimals": (
        "Use at most ${decimals} decimal places.",
        "最多保留 ${decimals} 位小数。",
    ),
    "validation.not_a_choice": ("“${code}” is not one of the options.", "“${code}”不是可选项。"),
    "validation.not_a_list": ("Choose options from the list.", "请从列表中选择。"),
    "validation.duplicate_choice": ("“${code}” is chosen more than once.", "“${code}”被重复选择。"),
    "validation.exclusive_choice": (
        "“${code}” cannot be combined with other options.",
        "选择“${code}”时不能再选择其他选项。",
    ),
    "validation.constraint": ("This value is not allowed.", "该值不符合要求。"),
    "validation.resident_id.format": (
        "A resident ID number has 18 characters (17 digits and a digit or X), or 15 digits.",
        "身份证号应为 18 位（17 位数字加 1 位数字或 X），或 15 位数字。",
    ),
    "validation.resident_id.check_digit": (
        "The check character of this ID number is wrong.",
        "身份证号校验码错误。",
    ),
    "validation.resident_id.birth_date": (
        "The ID number contains an impossible birth date.",
        "身份证号中的出生日期无效。",
    ),
    "validation.resident_id.future": (
        "The ID number's birth date is in the future.",
        "身份证号中的出生日期晚于今天。",
    ),
    "validation.resident_id.sex_male": (
        "The ID number belongs to a man, but the sex given is different.",
        "身份证号显示性别为男，与所填性别不符。",
    ),
    "validation.resident_id.sex_female": (
        "The ID number belongs to a woman, but the sex given is different.",
        "身份证号显示性别为女，与所填性别不符。",
    ),
    "validation.resident_id.birth_date_mismatch": (
        "The ID number gives the birth date ${id_birth_date}, which differs from the one entered.",
        "身份证号中的出生日期（${id_birth_date}）与所填出生日期不符。",
    ),
    "validation.phone": (
        "Enter a mobile number (11 digits starting 13–19) or a landline with "
        "its area code, such as 010-12345678.",
        "请输入 11 位手机号码，或带区号的固定电话，如 010-12345678。",
    ),
    "validation.too_few_rows": ("Add at least ${min} entries.", "至少需要填写 ${min} 条。"),
    "validation.too_many_rows": ("Add at most ${max} entries.", "最多只能填写 ${max} 条。"),
    "validation.not_a_row": (
        "Each entry must be an object keyed by field name.",
        "每一条记录必须是以字段名为键的对象。",
    ),
    "validation.not_an_attachment": ("Upload a file.", "请上传文件。"),
    "validation.file_too_large": (
        "The file is ${size}; at most ${max_size} is accepted here.",
        "文件大小为 ${size}，此处最大允许 ${max_size}。",
    ),
    "validation.file_type": (
        "Files of type ${media_type} are not accepted here (accepted: ${accept}).",
        "此处不接受 ${media_type} 类型的文件（可接受：${accept}）。",
    ),
    "validation.not_an_image": (
        "This file is not a picture: choose a JPEG, PNG, GIF or WebP image.",
        "此文件不是图片，请选择 JPEG、PNG、GIF 或 WebP 格式的图片。",
    ),
    # -- form definitions ------------------------------------------------------------
    "definition.form_name": (
        "The form name “${name}” must start with a letter and contain only "
        "letters, digits, _ and - (at most 64).",
        "表单名称“${name}”须以字母开头，只能包含字母、数字、_ 和 -（最多 64 个字符）。",
    ),
    "definition.field_name": (
        "The name “${name}” must start with a letter or _ and contain only "
        "letters, digits, _ and - (at most 64).",
        "名称“${name}”须以字母或 _ 开头，只能包含字母、数字、_ 和 -（最多 64 个字符）。",
    ),
    "definition.duplicate_name": (
        "The name “${name}” is used more than once; names must be unique across the whole form.",
        "名称“${name}”重复使用；整个表单中的名称必须唯一。",
    ),
    "definition.version": (
        "The version must be a whole number of at least 1.",
        "版本号必须是不小于 1 的整数。",
    ),
    "definition.not_applicable": (
        "“${attribute}” does not apply to ${type} fields.",
        "“${attribute}”不适用于 ${type} 类型的字段。",
    ),
    "definition.children": (
        "Only groups and repeats contain fields.",
        "只有分组和重复组可以包含字段。",
    ),
    "definition.no_choice_list": (
        "${type} fields need a choice list.",
        "${type} 字段需要选项列表。",
    ),
    "definition.unknown_choice_list": (
        "There is no choice list named “${list}”.",
        "没有名为“${list}”的选项列表。",
    ),
    "definition.empty_choice_list": (
        "The choice list “${list}” has no options.",
        "选项列表“${list}”中没有选项。",
    ),
    "definition.choice_code": (
        "The option code “${code}” must not be empty or contain spaces.",
        "选项编码“${code}”不能为空或包含空格。",
    ),
    "definition.duplicate_choice": (
        "The option code “${code}” appears more than once in the list “${list}”.",
        "选项编码“${code}”在列表“${list}”中重复。",
    ),
    "definition.no_label": ("The field needs a label or a hint.", "该字段需要标签或提示。"),
    "definition.no_calculation": (
        "A calculate field needs a calculation.",
        "计算字段必须填写计算公式。",
    ),
    "definition.min_max": (
        "The minimum (${min}) is larger than the maximum (${max}).",
        "最小值（${min}）大于最大值（${max}）。",
    ),
    "definition.decimals": (
        "Decimal places must be a whole number from 0 to 10.",
        "小数位数必须是 0 到 10 之间的整数。",
    ),
    "definition.count": (
        "A repeat count must be a whole number of at least 0.",
        "重复次数必须是不小于 0 的整数。",
    ),
    "definition.max_size": (
        "The maximum file size must be a positive number of bytes.",
        "文件大小上限必须是正整数（字节）。",
    ),
    "definition.media_type": (
        "“${media_type}” is not a media type such as image/jpeg.",
        "“${media_type}”不是有效的文件类型（如 image/jpeg）。",
    ),
    "definition.link": (
        "“${target}” must name a ${expected} field of this form.",
        "“${target}”必须是本表单中的 ${expected} 字段。",
    ),
    "definition.expression": (
        "The expression cannot be read: ${detail}",
        "表达式无法解析：${detail}",
    ),
    "definition.unknown_reference": (
        "The expression refers to “${name}”, which is not a field of this form.",
        "表达式引用的“${name}”不是本表单的字段。",
    ),
    "definition.cycle": (
        "“${name}” depends on itself through ${path}.",
        "“${name}”通过 ${path} 依赖于自身。",
    ),
    "definition.repeat_reference": (
        "The expression uses “${name}”, which is inside the repeat “${repeat}”: only fields "
        "of that repeat can use it (count($${${repeat}}) counts its entries).",
        "表达式引用的“${name}”位于重复组“${repeat}”内：只有该重复组内的字段才能使用它"
        "（count($${${repeat}}) 可统计其条数）。",
    ),
    "definition.category_missing": ("Choose a category for the form.", "请选择表单的类别。"),
    "definition.levels_missing": (
        "Choose the levels that fill in the form.",
        "请选择填报此表单的机构层级。",
    ),
    "definition.title_missing": ("Give the form a title.", "请填写表单标题。"),
    "definition.no_fields": ("The form has no fields.", "表单中没有字段。"),
    # -- XLSForm import --------------------------------------------------------------
    "xlsform.unreadable": (
        "The file is not an Excel workbook (.xlsx or .xls): ${detail}",
        "该文件不是 Excel 工作簿（.xlsx 或 .xls）：${detail}",
    ),
    "xlsform.no_survey": (
        "The workbook has no sheet named “survey”.",
        "工作簿中没有名为“survey”的工作表。",
    ),
    "xlsform.duplicate_column": (
        "The column “${header}” appears twice (also in column ${other}).",
        "列“${header}”重复出现（另见 ${other} 列）。",
    ),
    "xlsform.missing_column": (
        "The sheet has no “${header}” column.",
        "该工作表缺少“${header}”列。",
    ),
    "xlsform.bad_cell": ("The cell cannot be read: ${detail}", "无法读取该单元格：${detail}"),
    "xlsform.unsupported_sheet": (
        "The “${sheet}” sheet (${feature}) is an ODK feature this portal does not support.",
        "工作表“${sheet}”（${feature}）是本系统不支持的 ODK 功能。",
    ),
    "xlsform.unsupported_type": (
        "The question type “${type}” is an ODK feature this portal does not support.",
        "题型“${type}”是本系统不支持的 ODK 功能。",
    ),
    "xlsform.unknown_type": ("“${type}” is not a question type.", "“${type}”不是有效的题型。"),
    "xlsform.unsupported_column": (
        "The column “${header}” (${feature}) is an ODK feature this portal does not support.",
        "列“${header}”（${feature}）是本系统不支持的 ODK 功能。",
    ),
    "xlsform.unsupported_function": (
        "The function ${function}() is an ODK feature this portal does not support.",
        "函数 ${function}() 是本系统不支持的 ODK 功能。",
    ),
    "xlsform.unsupported_setting": (
        "The setting “${header}” = “${value}” is an ODK feature this portal does not support.",
        "设置“${header}” = “${value}”是本系统不支持的 ODK 功能。",
    ),
    "xlsform.dynamic_default": (
        "A calculated default (${value}) is not supported; use a calculation instead.",
        "不支持计算型默认值（${value}），请改用计算公式。",
    ),
    "xlsform.missing_type": (
        "The row has a name or label but no type.",
        "该行有名称或标签，但没有题型。",
    ),
    "xlsform.missing_name": ("The row has no name.", "该行没有名称。"),
    "xlsform.missing_list_name": ("The row has no list name.", "该行没有列表名称。"),
    "xlsform.unmatched_end": (
        "“${type}” has no matching “begin ${kind}”.",
        "“${type}”没有对应的“begin ${kind}”。",
    ),
    "xlsform.unclosed": (
        "“begin ${kind}” has no matching “end ${kind}”.",
        "“begin ${kind}”没有对应的“end ${kind}”。",
    ),
    "xlsform.yes_no": ("Write yes or no, not “${value}”.", "请填写 yes 或 no，而不是“${value}”。"),
    "xlsform.parameters": ("The parameters cannot be read: ${detail}", "无法解析参数：${detail}"),
    "xlsform.unknown_parameter": (
        "“${key}” is not a parameter of ${type} fields.",
        "“${key}”不是 ${type} 字段的参数。",
    ),
    "xlsform.bad_number": ("“${value}” is not a number.", "“${value}”不是数字。"),
    "xlsform.bad_setting": (
        "“${value}” is not valid here; use one of: ${allowed}.",
        "“${value}”无效，可选值：${allowed}。",
    ),
    "xlsform.no_form_id": (
        "The settings sheet has no form_id and the file name gives none.",
        "设置表中没有 form_id，且无法从文件名得到。",
    ),
    "xlsform.pyxform": ("${detail}", "XLSForm 检查未通过：${detail}"),
    # warnings
    "xlsform.ignored_column": ("The column “${header}” is ignored.", "已忽略列“${header}”。"),
    "xlsform.ignored_language": (
        "The language “${language}” is not used by this portal (only "
        "Chinese and English); its column is ignored.",
        "本系统只使用中文和英文，已忽略语言“${language}”的列。",
    ),
    "xlsform.ignored_sheet": ("The sheet “${sheet}” is ignored.", "已忽略工作表“${sheet}”。"),
    "xlsform.ignored_setting": ("The setting “${header}” is ignored.", "已忽略设置“${header}”。"),
    "xlsform.ignored_version": (
        "The version “${value}” is not a whole number and is ignored.",
        "版本“${value}”不是整数，已忽略。",
    ),
    "xlsform.skipped_row": ("The row is skipped (disabled).", "已跳过该行（disabled）。"),
    "xlsform.pyxform_warning": ("${detail}", "XLSForm 检查提示：${detail}"),
    "xlsform.location": (
        "Sheet “${sheet}”, row ${row}, column ${column}: ${text}",
        "工作表“${sheet}”第 ${row} 行 ${column}：${text}",
    ),
    "xlsform.location_row": (
        "Sheet “${sheet}”, row ${row}: ${text}",
        "工作表“${sheet}”第 ${row} 行：${text}",
    ),
    "xlsform.location_sheet": ("Sheet “${sheet}”: ${text}", "工作表“${sheet}”：${text}"),
    # -- version differences ---------------------------------------------------------
    "diff.field_added": ("Field “${name}” added.", "新增字段“${name}”。"),
    "diff.field_removed": (
        "Field “${name}” removed: its data in earlier submissions will no "
        "longer be shown or reported.",
        "删除字段“${name}”：以往提交中的该项数据将不再显示和统计。",
    ),
    "diff.type_changed": (
        "Field “${name}” changes type from ${old} to ${new}: earlier answers may no longer fit.",
        "字段“${name}”的类型由 ${old} 改为 ${new}：以往的数据可能不再适用。",
    ),
    "diff.type_widened": (
        "Field “${name}” changes type from ${old} to ${new}.",
        "字段“${name}”的类型由 ${old} 改为 ${new}。",
    ),
    "diff.options_removed": (
        "Field “${name}” loses the option codes ${codes}: earlier answers "
        "with them will no longer match.",
        "字段“${name}”删除了选项编码 ${codes}：以往选择这些选项的数据将无法对应。",
    ),
    "diff.options_added": (
        "Field “${name}” gains the option codes ${codes}.",
        "字段“${name}”新增选项编码 ${codes}。",
    ),
    "diff.options_relabelled": (
        "Field “${name}” has options with new labels or exclusivity: ${codes}.",
        "字段“${name}”的选项 ${codes} 的标签或互斥设置有变化。",
    ),
    "diff.moved_into_repeat": (
        "Field “${name}” moves into the repeat “${repeat}”: earlier answers cannot follow it.",
        "字段“${name}”移入重复组“${repeat}”：以往的数据无法随之迁移。",
    ),
    "diff.moved_out_of_repeat": (
        "Field “${name}” moves out of the repeat “${repeat}”: earlier answers cannot follow it.",
        "字段“${name}”移出重复组“${repeat}”：以往的数据无法随之迁移。",
    ),
    "diff.moved": ("Field “${name}” moves.", "字段“${name}”位置有变化。"),
    "diff.label_changed": (
        "Field “${name}” has new texts: ${attributes}.",
        "字段“${name}”的文字有变化：${attributes}。",
    ),
    "diff.logic_changed": (
        "Field “${name}” has new rules: ${attributes}.",
        "字段“${name}”的规则有变化：${attributes}。",
    ),
    "diff.pii_marked": (
        "Field “${name}” is now marked as personal information.",
        "字段“${name}”现标记为个人信息。",
    ),
    "diff.pii_unmarked": (
        "Field “${name}” is no longer marked as personal information.",
        "字段“${name}”不再标记为个人信息。",
    ),
    "diff.form_changed": (
        "The form setting ${attribute} changes from ${old} to ${new}.",
        "表单设置 ${attribute} 由 ${old} 改为 ${new}。",
    ),
}


@dataclass(frozen=True)
class Message:
    """A message to show someone. `texts` carries words written by a form's author (such as a
    constraint message) and wins over the catalogue. A mapping value may be a dict of texts by
    language, rendered in the message's language."""

    id: str
    mapping: Mapping[str, Any] = field(default_factory=dict)
    texts: Mapping[str, str] | None = None

    def render(self, language: str = "zh") -> str:
        if self.texts:
            own = self.texts.get(language) or next((t for t in self.texts.values() if t), "")
            if own:
                return own
        english, chinese = TEXTS[self.id]
        template = chinese if language == "zh" else english
        return Template(template).safe_substitute(
            {key: _localise(value, language) for key, value in self.mapping.items()}
        )

    @property
    def default(self) -> str:
        """The English text, as a translationstring default."""
        return self.render("en")

    def to_dict(self) -> dict[str, Any]:
        result = {"id": self.id, "default": self.default, "mapping": dict(self.mapping)}
        if self.texts:
            result["texts"] = dict(self.texts)
        return result


def _localise(value: Any, language: str) -> Any:
    # A mapping value may itself be a text in both languages, such as an expression's error.
    if isinstance(value, Mapping):
        return value.get(language) or value.get("en", "")
    return "" if value is None else value


def render_all(messages: Mapping[str, Message], language: str = "zh") -> dict[str, str]:
    """Errors keyed by field, rendered: the shape of the API's 422 `{"errors": {...}}`."""
    return {key: message.render(language) for key, message in messages.items()}
