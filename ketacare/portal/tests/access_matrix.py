"""Access matrix rows of the portal app (see tests/test_access_matrix.py). The patient's pages are public (a
secure link and the date of birth, no account); the staff pages need a role."""

from tests.roles import CLINICAL, PUBLIC, REGISTER

PAGES = {
    "portal:open": ("get", PUBLIC),
    "portal:verify": ("get", PUBLIC),
    "portal:questionnaire": ("get", PUBLIC),
    "portal:done": ("get", PUBLIC),
    "portal:language": ("post", PUBLIC),
    "portal-staff:adherence": ("get", CLINICAL),
    "portal-staff:contact-edit": ("get", REGISTER),
}


def make_objects(clinic, patient, users) -> dict:
    from ketacare.portal.tests.factories import item_with_link

    _item, _link, token = item_with_link(patient=patient)
    return {"token": token}
