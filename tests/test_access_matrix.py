"""Role x URL matrix: every page and API route is enumerated and checked for every role and for anonymous users.

The expected table is written out independently of ketacare.accounts.roles, so that a change to either shows.
Core rows are here; each app adds its own in `ketacare/<app>/tests/access_matrix.py`, which defines
`PAGES` ({url name: (method, roles)}), `API` ({(method, openapi path): roles}) and, when its URLs take ids,
`make_objects(clinic, patient, users) -> {url kwarg: pk}` creating one object of each kind in `clinic`.
A URL added without a row fails the test until someone decides who may reach it.
"""

import importlib
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from tests.factories import ClinicFactory, PatientFactory, UserFactory
from tests.roles import ALL, CARE, PUBLIC, REGISTER

pytestmark = pytest.mark.django_db

# url name -> (method, roles allowed)
PAGES = {
    "home": ("get", ALL),
    "banners": ("get", ALL),
    "healthz": ("get", PUBLIC),
    "accounts:login": ("get", PUBLIC),
    "accounts:logout": ("post", ALL),
    "patients:list": ("get", CARE),
    "patients:create": ("get", REGISTER),
    "patients:detail": ("get", CARE),
    "patients:edit": ("get", REGISTER),
    "audit:list": ("get", {Role.AUDITOR}),
    "accounts:staff": ("get", {Role.CLINIC_ADMIN}),
    "accounts:staff-create": ("get", {Role.CLINIC_ADMIN}),
    "accounts:staff-edit": ("get", {Role.CLINIC_ADMIN}),
    "accounts:staff-mfa-reset": ("post", {Role.CLINIC_ADMIN}),
    "accounts:mfa-setting": ("get", {Role.CLINIC_ADMIN}),
    "accounts:mfa-verify": ("get", ALL),
    "accounts:mfa-setup": ("get", ALL),
    "accounts:mfa-recovery-codes": ("post", ALL),
    "accounts:account": ("get", ALL),
    "accounts:password-change": ("get", ALL),
}

# (method, OpenAPI path) -> roles allowed
API = {
    ("get", "/api/v1/patients"): CARE,
    ("post", "/api/v1/patients"): REGISTER,
    ("post", "/api/v1/patients/search"): CARE,
    ("get", "/api/v1/patients/{patient_id}"): CARE,
    ("patch", "/api/v1/patients/{patient_id}"): REGISTER,
}


APP_MODULES = [importlib.import_module(f"ketacare.{p.parent.parent.name}.tests.access_matrix")
               for p in sorted(Path(__file__).resolve().parents[1].glob("ketacare/*/tests/access_matrix.py"))]
for _module in APP_MODULES:
    PAGES.update(getattr(_module, "PAGES", {}))
    API.update(getattr(_module, "API", {}))


def page_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("api/"):
                continue  # the API is enumerated from its OpenAPI document
            if str(entry.pattern).startswith("fhir/"):
                continue  # the FHIR API has its own role x resource matrix (ketacare/interop/tests)
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from page_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def concrete(route: str, ids: dict[str, int]) -> str:
    for name, value in ids.items():
        for pattern in (f"<int:{name}>", f"<str:{name}>", f"{{{name}}}"):
            route = route.replace(pattern, str(value))
    assert "<" not in route and "{" not in route, f"no object id for {route}: add it to make_objects"
    return "/" + route.lstrip("/")


def build_ids(clinic, patient, users) -> dict[str, int]:
    ids = {"patient_id": patient.pk, "user_id": users[Role.NURSE].pk}
    for module in APP_MODULES:
        if hasattr(module, "make_objects"):
            ids.update(module.make_objects(clinic, patient, users))
    return ids


@pytest.fixture
def world():
    return make_world()


def make_world():
    """Two clinics with a user of every role and a patient each, and one object of every kind per clinic."""
    clinic, other_clinic = ClinicFactory(), ClinicFactory()
    users = {role: UserFactory(role=role, clinic=clinic) for role in Role}
    other_users = {role: UserFactory(role=role, clinic=other_clinic) for role in Role}
    patient, foreign = PatientFactory(clinic=clinic), PatientFactory(clinic=other_clinic)
    return {"users": users, "patient": patient, "ids": build_ids(clinic, patient, users),
            "foreign_ids": build_ids(other_clinic, foreign, other_users)}


def test_every_page_is_in_the_matrix_and_declares_its_permission():
    found = {name: callback for name, _, callback in page_patterns()}
    assert set(found) == set(PAGES), "add new URLs to PAGES with the roles that may reach them"
    for name, callback in found.items():
        assert hasattr(callback, "required_perms"), f"{name} declares no permission"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_pages(client, world, role):
    client.force_login(world["users"][role])
    for name, route, _ in page_patterns():
        method, allowed = PAGES[name]
        if name == "accounts:logout":
            continue  # checked last: it ends the session
        response = getattr(client, method)(concrete(route, world["ids"]))
        if allowed == PUBLIC or role in allowed:
            assert response.status_code not in (401, 403, 404, 405, 500), (role, name, response.status_code)
            assert not (response.status_code == 302 and "/accounts/login" in response["Location"]), (role, name)
        else:
            assert response.status_code == 403, (role, name, response.status_code)
    assert client.post("/accounts/logout/").status_code == 302


@pytest.mark.parametrize("role", sorted(CARE))
def test_patient_pages_of_another_clinic_are_404_for_every_role(client, world, role):
    client.force_login(world["users"][role])
    for name, route, _ in page_patterns():
        method, allowed = PAGES[name]
        if "<int:" in route and role in allowed:
            response = getattr(client, method)(concrete(route, world["foreign_ids"]))
            assert response.status_code == 404, (name, response.status_code)


def test_anonymous_users_are_sent_to_sign_in(client, world):
    for name, route, _ in page_patterns():
        method, allowed = PAGES[name]
        response = getattr(client, method)(concrete(route, world["ids"]))
        if allowed == PUBLIC:
            # a public page answers, or sends on to another public page (a patient's link, the language switch)
            assert response.status_code == 200 or (
                response.status_code == 302 and not response["Location"].startswith("/accounts/login/")), name
        else:
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name


def test_every_api_route_is_in_the_matrix(client):
    spec = client.get("/api/v1/openapi.json").json()
    routes = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert routes == set(API)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_api_routes(client, world, role):
    headers = {"Authorization": f"Bearer {token_create(user=world['users'][role])}"}
    for (method, path), allowed in API.items():
        url = concrete(path, world["ids"])
        response = getattr(client, method)(url, {}, content_type="application/json", headers=headers)
        if role in allowed:
            assert response.status_code not in (401, 403, 404), (role, method, path, response.status_code)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
        if "{" in path and role in allowed:
            foreign = getattr(client, method)(concrete(path, world["foreign_ids"]), {},
                                              content_type="application/json", headers=headers)
            assert foreign.status_code == 404, (role, method, path)


def test_api_without_token_is_401_everywhere(client, world):
    for method, path in API:
        assert getattr(client, method)(concrete(path, world["ids"])).status_code == 401
