"""Role x URL matrix: every page and API route is enumerated and checked for every role and for anonymous users.

The expected table is written out here independently of ketacare.accounts.roles, so that a change to either shows.
A URL added without a row here fails the test until someone decides who may reach it.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from ketacare.accounts.roles import Role
from ketacare.accounts.services import token_create
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

ALL = set(Role)
CARE = {Role.CLINIC_ADMIN, Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK, Role.THERAPIST}
REGISTER = {Role.CLINIC_ADMIN, Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK}
PUBLIC = "public"

# url name -> (method, roles allowed)
PAGES = {
    "home": ("get", ALL),
    "healthz": ("get", PUBLIC),
    "accounts:login": ("get", PUBLIC),
    "accounts:logout": ("post", ALL),
    "patients:list": ("get", CARE),
    "patients:create": ("get", REGISTER),
    "patients:detail": ("get", CARE),
    "patients:edit": ("get", REGISTER),
    "audit:list": ("get", {Role.AUDITOR}),
    "research": ("get", {Role.RESEARCHER}),
}

# (method, OpenAPI path) -> roles allowed
API = {
    ("get", "/api/v1/patients"): CARE,
    ("post", "/api/v1/patients"): REGISTER,
    ("get", "/api/v1/patients/{patient_id}"): CARE,
    ("patch", "/api/v1/patients/{patient_id}"): REGISTER,
}


def page_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("api/"):
                continue  # the API is enumerated from its OpenAPI document
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from page_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def concrete(route: str, patient_id: int) -> str:
    return "/" + route.replace("<int:patient_id>", str(patient_id)).replace("{patient_id}", str(patient_id)).lstrip(
        "/")


@pytest.fixture
def world():
    clinic = ClinicFactory()
    users = {role: UserFactory(role=role, clinic=clinic) for role in Role}
    return {"users": users, "patient": PatientFactory(clinic=clinic), "foreign": PatientFactory(clinic=ClinicFactory())}


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
        response = getattr(client, method)(concrete(route, world["patient"].pk))
        if allowed == PUBLIC or role in allowed:
            assert response.status_code in (200, 302), (role, name, response.status_code)
            assert not (response.status_code == 302 and "/accounts/login" in response["Location"]), (role, name)
        else:
            assert response.status_code == 403, (role, name, response.status_code)
    assert client.post("/accounts/logout/").status_code == 302


@pytest.mark.parametrize("role", sorted(CARE))
def test_patient_pages_of_another_clinic_are_404_for_every_role(client, world, role):
    client.force_login(world["users"][role])
    for name, route, _ in page_patterns():
        if "patient_id" in route and role in PAGES[name][1]:
            assert client.get(concrete(route, world["foreign"].pk)).status_code == 404, name


def test_anonymous_users_are_sent_to_sign_in(client, world):
    for name, route, _ in page_patterns():
        method, allowed = PAGES[name]
        response = getattr(client, method)(concrete(route, world["patient"].pk))
        if allowed == PUBLIC:
            assert response.status_code == 200, name
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
        url = concrete(path, world["patient"].pk)
        response = getattr(client, method)(url, {}, content_type="application/json", headers=headers)
        if role in allowed:
            assert response.status_code not in (401, 403, 404), (role, method, path, response.status_code)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
        if "{patient_id}" in path and role in allowed:
            foreign = getattr(client, method)(concrete(path, world["foreign"].pk), {},
                                              content_type="application/json", headers=headers)
            assert foreign.status_code == 404, (role, method, path)


def test_api_without_token_is_401_everywhere(client, world):
    for method, path in API:
        assert getattr(client, method)(concrete(path, world["patient"].pk)).status_code == 401
