import datetime as dt

from ninja import Field

from ketacare.core.schemas import Schema
from ketacare.patients.models import Sex


class PatientSearchIn(Schema):
    q: str = Field("", max_length=100)


class PatientIn(Schema):
    mrn: str = ""
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: Sex
    phone: str = ""
    email: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    emergency_contact_name: str = ""
    emergency_contact_phone: str = ""


class PatientPatch(Schema):
    mrn: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: dt.date | None = None
    sex: Sex | None = None
    phone: str | None = None
    email: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None


class PatientOut(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    phone: str
    email: str
    address_line: str
    city: str
    state: str
    postal_code: str
    emergency_contact_name: str
    emergency_contact_phone: str
    created_at: dt.datetime
    updated_at: dt.datetime
