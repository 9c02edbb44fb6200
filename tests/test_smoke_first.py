import pytest

from tests.factories import PatientFactory, UserFactory


@pytest.mark.django_db
def test_chart_opens_for_nurse_of_same_clinic(client):
    user = UserFactory()
    patient = PatientFactory(clinic=user.clinic)
    client.force_login(user)
    response = client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    assert patient.family_name in response.content.decode()
