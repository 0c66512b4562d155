"""Standard code sets (national standards) as choice lists that any form may use by name."""

from forms.model import Choice, Text


def _choices(*items: tuple[str, str, str]) -> list[Choice]:
    return [Choice(code, Text(zh, en)) for code, zh, en in items]


_ETHNIC_GROUPS = (
    ("汉族", "Han"),
    ("蒙古族", "Mongol"),
    ("回族", "Hui"),
    ("藏族", "Tibetan"),
    ("维吾尔族", "Uyghur"),
    ("苗族", "Miao"),
    ("彝族", "Yi"),
    ("壮族", "Zhuang"),
    ("布依族", "Bouyei"),
    ("朝鲜族", "Korean"),
    ("满族", "Manchu"),
    ("侗族", "Dong"),
    ("瑶族", "Yao"),
    ("白族", "Bai"),
    ("土家族", "Tujia"),
    ("哈尼族", "Hani"),
    ("哈萨克族", "Kazakh"),
    ("傣族", "Dai"),
    ("黎族", "Li"),
    ("傈僳族", "Lisu"),
    ("佤族", "Va"),
    ("畲族", "She"),
    ("高山族", "Gaoshan"),
    ("拉祜族", "Lahu"),
    ("水族", "Sui"),
    ("东乡族", "Dongxiang"),
    ("纳西族", "Nakhi"),
    ("景颇族", "Jingpo"),
    ("柯尔克孜族", "Kyrgyz"),
    ("土族", "Monguor"),
    ("达斡尔族", "Daur"),
    ("仫佬族", "Mulao"),
    ("羌族", "Qiang"),
    ("布朗族", "Blang"),
    ("撒拉族", "Salar"),
    ("毛南族", "Maonan"),
    ("仡佬族", "Gelao"),
    ("锡伯族", "Xibe"),
    ("阿昌族", "Achang"),
    ("普米族", "Pumi"),
    ("塔吉克族", "Tajik"),
    ("怒族", "Nu"),
    ("乌孜别克族", "Uzbek"),
    ("俄罗斯族", "Russian"),
    ("鄂温克族", "Evenki"),
    ("德昂族", "De'ang"),
    ("保安族", "Bonan"),
    ("裕固族", "Yugur"),
    ("京族", "Gin"),
    ("塔塔尔族", "Tatar"),
    ("独龙族", "Derung"),
    ("鄂伦春族", "Oroqen"),
    ("赫哲族", "Hezhen"),
    ("门巴族", "Monpa"),
    ("珞巴族", "Lhoba"),
    ("基诺族", "Jino"),
)

# Names are what an XLSForm writes after `select_one`.
CODE_SETS: dict[str, list[Choice]] = {
    # GB/T 2261.1
    "gb_sex": _choices(
        ("0", "未知的性别", "Unknown"),
        ("1", "男", "Male"),
        ("2", "女", "Female"),
        ("9", "未说明的性别", "Not stated"),
    ),
    # GB/T 2261.2
    "gb_marital_status": _choices(
        ("10", "未婚", "Never married"),
        ("20", "已婚", "Married"),
        ("21", "初婚", "First marriage"),
        ("22", "再婚", "Remarried"),
        ("23", "复婚", "Remarried to a former spouse"),
        ("30", "丧偶", "Widowed"),
        ("40", "离婚", "Divorced"),
        ("90", "未说明的婚姻状况", "Not stated"),
    ),
    # GB/T 4658
    "gb_education": _choices(
        ("10", "研究生", "Postgraduate"),
        ("20", "大学本科", "Bachelor's degree"),
        ("30", "大学专科和专科学校", "College"),
        ("40", "中等专业学校", "Secondary vocational"),
        ("50", "技工学校", "Technical school"),
        ("60", "高中", "Upper secondary"),
        ("70", "初中", "Lower secondary"),
        ("80", "小学", "Primary"),
        ("90", "文盲或半文盲", "Illiterate or semi-literate"),
    ),
    # GB 3304
    "gb_ethnicity": [
        Choice(f"{number:02d}", Text(zh, en))
        for number, (zh, en) in enumerate(_ETHNIC_GROUPS, start=1)
    ],
    # WS 364 CV07.10.003
    "ws_payment_method": _choices(
        ("01", "城镇职工基本医疗保险", "Urban employees' basic medical insurance"),
        ("02", "城镇居民基本医疗保险", "Urban residents' basic medical insurance"),
        ("03", "新型农村合作医疗", "New rural cooperative medical scheme"),
        ("04", "贫困救助", "Poverty relief"),
        ("05", "商业医疗保险", "Commercial insurance"),
        ("06", "全公费", "Fully publicly funded"),
        ("07", "全自费", "Fully self-paid"),
        ("99", "其他", "Other"),
    ),
    "abo_blood_group": _choices(
        ("1", "A型", "A"),
        ("2", "B型", "B"),
        ("3", "O型", "O"),
        ("4", "AB型", "AB"),
        ("5", "不详", "Unknown"),
    ),
    "rh_blood_group": _choices(
        ("1", "阴性", "Negative"),
        ("2", "阳性", "Positive"),
        ("3", "不详", "Unknown"),
    ),
}
