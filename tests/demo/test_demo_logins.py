"""The demo prints a login for each role and for a researcher superuser, with fresh passwords that work."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.roles import Role, user_roles
from demo.management.commands.demo_setup import Command

pytestmark = pytest.mark.django_db


def test_the_demo_logins_include_a_researcher_superuser():
    lines = Command().reset_logins()
    printed = {line.split()[1]: (line.split()[0], line.split()[2]) for line in lines}
    assert printed["demo-admin"][0] == "superuser"
    admin = get_user_model().objects.get(username="demo-admin")
    assert admin.is_superuser and admin.is_staff and user_roles(admin) == {Role.RESEARCHER}
    assert not get_user_model().objects.get(username="demo-researcher").is_superuser
    for username, (_, password) in printed.items():
        response = Client().post("/accounts/login/", {"username": username, "password": password})
        assert response.status_code == 302, username
    client = Client()
    client.post("/accounts/login/", {"username": "demo-admin", "password": printed["demo-admin"][1]})
    assert client.get("/admin/").status_code == 200
    assert client.get("/people/").status_code == 200
    again = {line.split()[1]: line.split()[2] for line in Command().reset_logins()}
    assert again["demo-admin"] != printed["demo-admin"][1]
