"""Top-level commands: `flask seed`, `flask create-admin`."""

from __future__ import annotations

import click
from flask import Flask

from .extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(create_admin_command)
    from .digests.cli import digest_cli

    app.cli.add_command(digest_cli)
    from .reminders.cli import reminders_cli

    app.cli.add_command(reminders_cli)
    from .series.cli import events_cli

    app.cli.add_command(events_cli)
    from .me.cli import mail_cli, privacy_cli

    app.cli.add_command(privacy_cli)
    app.cli.add_command(mail_cli)


@click.command("seed")
def seed_command() -> None:
    """Load demo organizations, organizers, actions and volunteers (safe to run twice)."""
    from .progress import progress
    from .seed import seed

    with progress("Loading demo data") as bar:
        summary = seed(progress=bar)
    click.echo(summary)


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Site administrator")
@click.password_option()
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create a site administrator, or make an existing account one."""
    from .services.accounts import create_user, find_user_by_email
    from .services.errors import DomainError

    user = find_user_by_email(email)
    if user is None:
        try:
            user = create_user(email=email, password=password, name=name, confirmed=True)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    user.is_admin = True
    db.session.commit()
    click.echo(f"{user.email} is a site administrator.")
