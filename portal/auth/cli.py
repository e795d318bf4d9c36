"""``flask --app wsgi launch-link``: a fresh sign-in link, for administrators and tests."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .launch import ALL_SHOPS, MAX_LIFETIME_SECONDS, launch_url, mint


@click.command("launch-link")
@click.option("--manager", "manager_id", required=True, help="The manager's id, e.g. e-mail.")
@click.option("--name", help="The name the portal shows (default: the manager id).")
@click.option("--shop", "shops", multiple=True, help="A Leat shop uuid (repeat for more).")
@click.option("--all-shops", is_flag=True, help="Every shop, now and later.")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--locale", help="The manager's language (en, nl); default: the browser's.")
@with_appcontext
def launch_link(manager_id, name, shops, all_shops, base_url, locale):
    """Print a launch link, valid once and for the next 10 minutes."""
    if bool(shops) == all_shops:
        raise click.UsageError("Give either --shop UUID (one or more) or --all-shops.")
    token = mint(
        current_app.config["PORTAL_LAUNCH_SECRET"],
        manager_id=manager_id,
        name=name or manager_id,
        shops=[ALL_SHOPS] if all_shops else list(shops),
        lifetime=MAX_LIFETIME_SECONDS,
        # What this portal checks, so the link works wherever the CLI runs.
        audience=current_app.config["PORTAL_LAUNCH_AUDIENCE"],
        issuer=current_app.config["PORTAL_LAUNCH_ISSUER"],
        locale=locale,
    )
    click.echo(launch_url(base_url, token))
