"""Settings from the environment: defaults, normalising, and refusing to start wrongly."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SECRET_KEY, run_python, tool_environ

from portal import ConfigError, create_app
from portal.config import check, database_url, from_environ, worst_case_request_seconds

PRODUCTION = {
    "LEAT_API_TOKEN": "token",
    "SECRET_KEY": SECRET_KEY,
    "PORTAL_LAUNCH_SECRET": "l" * 32,
}


def settings(environ):
    return from_environ(environ, "/srv/instance")


def test_defaults():
    config = settings(PRODUCTION)
    assert config["LEAT_BASE_URL"] == "https://api.piggy.eu"
    assert config["PORTAL_TIMEZONE"] == "Europe/Amsterdam"
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/instance/portal.sqlite3"
    assert config["PORTAL_DEMO"] is False
    assert config["LEAT_CONNECT_TIMEOUT"] > 0
    assert config["LEAT_READ_TIMEOUT"] > 0
    check(config)  # a complete production environment passes


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://u:p@db.example:5432/portal",
            "postgresql+psycopg://u:p@db.example:5432/portal",
        ),
        ("postgresql://u:p@db/portal", "postgresql+psycopg://u:p@db/portal"),
        ("postgresql+psycopg://u@db/portal", "postgresql+psycopg://u@db/portal"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_urls_from_paas_hosts_are_normalised(given, expected):
    assert database_url(given, Path("/srv/instance")) == expected


@pytest.mark.parametrize("missing", ["LEAT_API_TOKEN", "SECRET_KEY", "PORTAL_LAUNCH_SECRET"])
def test_outside_demo_mode_a_missing_secret_stops_start_up_naming_it(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing) as caught:
        check(settings(environ))
    assert "\n" not in str(caught.value)


def test_demo_mode_is_never_implied_by_missing_credentials():
    with pytest.raises(ConfigError, match="LEAT_API_TOKEN"):
        check(settings({}))


@pytest.mark.parametrize("value", ["true", "yes", "on", "2", " 1"])
def test_only_an_explicit_1_means_demo(value):
    with pytest.raises(ConfigError, match="PORTAL_DEMO"):
        settings({"PORTAL_DEMO": value})


def test_portal_demo_0_is_production():
    assert settings({**PRODUCTION, "PORTAL_DEMO": "0"})["PORTAL_DEMO"] is False


def test_demo_mode_refuses_a_real_token_beside_it():
    with pytest.raises(ConfigError, match="both set"):
        check(settings({"PORTAL_DEMO": "1", "LEAT_API_TOKEN": "real-token"}))


def test_demo_mode_needs_no_secrets():
    check(settings({"PORTAL_DEMO": "1"}))


@pytest.mark.parametrize("name", ["SECRET_KEY", "PORTAL_LAUNCH_SECRET"])
@pytest.mark.parametrize("demo", [False, True], ids=["production", "demo"])
def test_a_short_secret_is_refused(name, demo):
    environ = {**PRODUCTION, name: "x" * 31}
    if demo:  # demo mode makes its own; one given must be as long
        environ = {"PORTAL_DEMO": "1", name: "x" * 31}
    with pytest.raises(ConfigError, match=f"^{name} is too short") as caught:
        check(settings(environ))
    assert "\n" not in str(caught.value)
    check(settings({**environ, name: "x" * 32}))


def test_the_session_key_and_the_launch_secret_must_differ():
    # The intranet knows the launch secret: it must not also sign the portal's sessions.
    same = "s" * 40
    with pytest.raises(ConfigError, match="SECRET_KEY and PORTAL_LAUNCH_SECRET are the same"):
        check(settings({**PRODUCTION, "SECRET_KEY": same, "PORTAL_LAUNCH_SECRET": same}))


@pytest.mark.parametrize(
    "url",
    [
        "http://api.piggy.eu",
        "http://10.0.0.5:8000",
        "http://leat.example.com/",
        "ftp://api.piggy.eu",
        "api.piggy.eu",
        "https://",
    ],
)
def test_leat_base_url_must_be_https(url):
    with pytest.raises(ConfigError, match=r"^LEAT_BASE_URL=") as caught:
        check(settings({**PRODUCTION, "LEAT_BASE_URL": url}))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.piggy.eu",
        "https://leat.example.com:8443/",
        # This machine: the tests' sandbox and `leat-sandbox` serve plain http there.
        "http://127.0.0.1:5000",
        "http://localhost:5000",
        "http://[::1]:5000",
    ],
)
def test_leat_base_url_https_or_this_machine_is_accepted(url):
    check(settings({**PRODUCTION, "LEAT_BASE_URL": url}))


def test_demo_modes_in_process_leat_is_accepted(tmp_path):
    # Plain http, but on a reserved name that never resolves: nothing leaves the process.
    from portal.leat_sandbox import IN_PROCESS_BASE_URL

    check(settings({"PORTAL_DEMO": "1", "LEAT_BASE_URL": IN_PROCESS_BASE_URL}))
    app = create_app({"INSTANCE_PATH": tmp_path, "PORTAL_DEMO": True})
    assert app.config["LEAT_BASE_URL"] == IN_PROCESS_BASE_URL


def test_frame_ancestors_must_be_origins():
    config = settings(
        {**PRODUCTION, "PORTAL_FRAME_ANCESTORS": "https://a.example  https://b.example"}
    )
    assert config["PORTAL_FRAME_ANCESTORS"] == ("https://a.example", "https://b.example")
    with pytest.raises(ConfigError, match="PORTAL_FRAME_ANCESTORS"):
        check(settings({**PRODUCTION, "PORTAL_FRAME_ANCESTORS": "intranet.example"}))


@pytest.mark.parametrize(
    "source", ["*", "https:", "http:", "https://*", "http://*", "https://*:443", "https://*.com"]
)
def test_frame_ancestors_that_allow_every_site_are_refused(source):
    environ = {**PRODUCTION, "PORTAL_FRAME_ANCESTORS": f"https://intranet.example {source}"}
    with pytest.raises(ConfigError, match=r"^PORTAL_FRAME_ANCESTORS: .* any site") as caught:
        check(settings(environ))
    assert "\n" not in str(caught.value)


def test_a_host_wildcard_in_frame_ancestors_is_allowed():
    check(settings({**PRODUCTION, "PORTAL_FRAME_ANCESTORS": "https://*.intranet.example"}))


@pytest.mark.parametrize(
    ("name", "value"), [("PORTAL_SESSION_HOURS", "0"), ("PORTAL_PROXY_HOPS", "x")]
)
def test_bad_numbers_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        settings({**PRODUCTION, name: value})


def test_launch_audience_and_issuer_are_optional():
    assert settings(PRODUCTION)["PORTAL_LAUNCH_AUDIENCE"] is None
    assert settings(PRODUCTION)["PORTAL_LAUNCH_ISSUER"] is None
    config = settings(
        {
            **PRODUCTION,
            "PORTAL_LAUNCH_AUDIENCE": "https://visits.example.com",
            "PORTAL_LAUNCH_ISSUER": "https://intranet.example.com",
        }
    )
    assert config["PORTAL_LAUNCH_AUDIENCE"] == "https://visits.example.com"
    assert config["PORTAL_LAUNCH_ISSUER"] == "https://intranet.example.com"
    check(config)


@pytest.mark.parametrize("name", ["PORTAL_RATE_LIMIT_WRITES", "PORTAL_RATE_LIMIT_LAUNCH"])
def test_rate_limits_are_read_in_flask_limiters_notation(name):
    for value in ("60/minute", "10 per second", "100/hour;1000/day"):
        config = settings({**PRODUCTION, name: value})
        assert config[name] == value
        check(config)
    for value in ("lots", "30", "0/minute", "-1/minute", "30/fortnight"):
        with pytest.raises(ConfigError, match=name) as caught:
            check(settings({**PRODUCTION, name: value}))
        assert "\n" not in str(caught.value)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ConfigError, match="PORTAL_TIMEZONE"):
        check(settings({**PRODUCTION, "PORTAL_TIMEZONE": "Europe/Atlantis"}))


@pytest.mark.parametrize("value", ["soon", "0", "-1", "301"])
def test_a_bad_timeout_is_refused(value):
    with pytest.raises(ConfigError, match="LEAT_READ_TIMEOUT"):
        settings({**PRODUCTION, "LEAT_READ_TIMEOUT": value})


def test_timeouts_are_read_from_the_environment():
    config = settings({**PRODUCTION, "LEAT_CONNECT_TIMEOUT": "2", "LEAT_READ_TIMEOUT": "4.5"})
    assert (config["LEAT_CONNECT_TIMEOUT"], config["LEAT_READ_TIMEOUT"]) == (2.0, 4.5)
    # three calls, each up to three attempts of 6.5 s plus two waits of at most 5 s
    assert worst_case_request_seconds(config) == 3 * (3 * 6.5 + 2 * 5)


def test_create_app_refuses_to_start_without_a_token(tmp_path):
    with pytest.raises(ConfigError, match="LEAT_API_TOKEN"):
        create_app(
            {"INSTANCE_PATH": tmp_path, "SECRET_KEY": SECRET_KEY, "PORTAL_LAUNCH_SECRET": "l" * 32}
        )


def test_demo_app_keeps_one_secret_key_across_restarts(tmp_path):
    first = create_app({"INSTANCE_PATH": tmp_path, "PORTAL_DEMO": True})
    second = create_app({"INSTANCE_PATH": tmp_path, "PORTAL_DEMO": True})
    assert first.config["SECRET_KEY"]
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["PORTAL_LAUNCH_SECRET"] == second.config["PORTAL_LAUNCH_SECRET"]
    assert first.config["PORTAL_LAUNCH_SECRET"] != first.config["SECRET_KEY"]
    assert (tmp_path / "demo-secret-key").stat().st_mode & 0o077 == 0


def test_the_flask_cli_stops_with_one_line_naming_the_variable(tmp_path):
    environ = tool_environ(
        SECRET_KEY=SECRET_KEY,
        PORTAL_LAUNCH_SECRET="l" * 32,
        DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
    )
    result = run_python("-m", "flask", "--app", "wsgi", "db", "upgrade", env=environ)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "LEAT_API_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_gunicorn_stops_with_one_line_before_any_worker_boots():
    environ = tool_environ(LEAT_API_TOKEN="t", PORTAL_LAUNCH_SECRET="l" * 32, PORT="0")
    result = run_python("-m", "gunicorn", "wsgi:app", env=environ)
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip().splitlines()
    assert output == [
        "portal: configuration error: SECRET_KEY is not set: the portal needs it outside "
        "demo mode (set PORTAL_DEMO=1 to try the portal against its built-in Leat sandbox)"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "short"),
        ("LEAT_BASE_URL", "http://leat.example.com"),
        ("PORTAL_FRAME_ANCESTORS", "https://*"),
    ],
)
def test_gunicorn_refuses_an_unsafe_setting_with_one_line_naming_it(name, value):
    settings = {"LEAT_API_TOKEN": "t", "SECRET_KEY": SECRET_KEY, "PORTAL_LAUNCH_SECRET": "l" * 32}
    environ = tool_environ(**{**settings, name: value}, PORT="0")
    result = run_python("-m", "gunicorn", "wsgi:app", env=environ)
    assert result.returncode != 0
    (line,) = (result.stdout + result.stderr).strip().splitlines()
    assert line.startswith(f"portal: configuration error: {name}")


@pytest.mark.slow  # three Python processes, two of them migrating: ~2 s
def test_the_web_app_does_not_load_alembic_but_flask_db_still_migrates(tmp_path):
    # Alembic serves no request and costs a web worker ~11 MB: only `flask db` loads it.
    environ = tool_environ(
        LEAT_API_TOKEN="t",
        SECRET_KEY=SECRET_KEY,
        PORTAL_LAUNCH_SECRET="l" * 32,
        DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
    )
    loaded = run_python(
        "-c", "import sys, wsgi; print(sorted({'alembic'} & set(sys.modules)))", env=environ
    )
    assert loaded.stdout.strip() == "[]", loaded.stderr
    for command in ("upgrade", "current"):
        result = run_python("-m", "flask", "--app", "wsgi", "db", command, env=environ)
        assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout
