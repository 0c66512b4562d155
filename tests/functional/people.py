"""People for the functional tests: a person-level record (a follow-up, a check-up) names
a 个人基本信息表 of its unit by record number, so tests register the person first."""

import datetime as dt
import uuid

from forms.periods import beijing_today
from tests.conftest import api_token, bearer

RECORD_NO = "11010100100100001"


def personal_info(record_no: str = RECORD_NO, **values) -> dict:
    """A valid 个人基本信息表 for `record_no`."""
    return {
        "name": "张三",
        "record_no": record_no,
        "sex": "1",
        "birth_date": "1956-03-01",
        "phone": "13812345678",
        "contact_name": "张建国",
        "contact_phone": "13912345678",
        "residence_type": "1",
        "ethnicity": "01",
        "education": "60",
        "occupation": "8",
        "marital_status": "20",
        "payment": ["01"],
        "drug_allergy": ["1"],
        "diseases": ["2"],
        "dx_hypertension": "2010-05",
        "surgery": "1",
        "trauma": "1",
        "transfusion": "1",
        "record_date": (beijing_today() - dt.timedelta(days=30)).isoformat(),
        **values,
    }


def register_person(
    testapp, record_no: str = RECORD_NO, org: str = "110101001", login: str = "staff"
) -> str:
    """Submit a personal information record for `record_no` at unit `org` through the API,
    as `login`; returns its id."""
    res = testapp.post_json(
        "/api/v1/forms/personal_info/submissions",
        {
            "org": org,
            "period": None,
            "client_id": str(uuid.uuid4()),
            "data": personal_info(record_no),
        },
        headers=bearer(api_token(testapp, login)),
        status=201,
    )
    return res.json["id"]
