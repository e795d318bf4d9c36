"""Who may use the portal: managers sent by their intranet with a signed launch link."""

from flask import Flask

from .cli import launch_link
from .manager import Manager, current_manager
from .routes import bp, require_manager
from .sessions import ServerSessionInterface, end_sessions

__all__ = ["Manager", "current_manager", "init_app"]


def init_app(app: Flask) -> None:
    app.session_interface = ServerSessionInterface()
    app.register_blueprint(bp)
    app.cli.add_command(end_sessions)
    app.before_request(require_manager)
    app.cli.add_command(launch_link)
    app.add_template_global(current_manager)
