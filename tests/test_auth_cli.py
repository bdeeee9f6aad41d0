"""`flask create-admin`: makes a confirmed site administrator, or promotes an existing account."""

from __future__ import annotations

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import User
from organizer.services import accounts

from . import factories


def test_create_admin_makes_a_confirmed_administrator(runner, client, auth):
    result = runner.invoke(
        args=[
            "create-admin",
            "Admin@Example.org",
            "--name",
            "Ada",
            "--password",
            "admin passphrase",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "admin@example.org is a site administrator." in result.output

    user = db.session.scalar(select(User))
    assert (user.email, user.name, user.is_admin, user.email_confirmed) == (
        "admin@example.org",
        "Ada",
        True,
        True,
    )
    assert accounts.authenticate("ADMIN@example.org", "admin passphrase") == user
    assert auth.login("admin@example.org", "admin passphrase").status_code == 302


def test_create_admin_promotes_an_existing_account_in_any_case(runner):
    user = factories.make_user(email="noa@example.org")
    result = runner.invoke(args=["create-admin", "NOA@example.org", "--password", "ignored pw!"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert user.is_admin
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert accounts.authenticate("noa@example.org", factories.PASSWORD) == user


def test_create_admin_refuses_bad_input_cleanly(runner):
    for args in (
        ["create-admin", "someone@example.org", "--password", "short"],
        ["create-admin", "not an email", "--password", "long enough passphrase"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Error:" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
