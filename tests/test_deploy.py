"""Deployment settings: the demo key never serves production, `check --deploy` is clean behind TLS,
and every response carries a strict Content-Security-Policy and a Permissions-Policy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Variables of the settings this file is about; each run starts without them.
SETTINGS_ENV = [
    "DEBUG",
    "SECRET_KEY",
    "URBANGRID_DEMO",
    "URBANGRID_TLS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser fixtures; check --deploy rightly refuses it
]
PRODUCTION_KEY = "k8Jx!2mQ9vT#rW4zL7pN0sY3bF6hD1gC5eA8uI2oK9jM4nB7vX0cZ3qR6tE1wS5yU8"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run(["manage.py", *args], env)


def settings_of(**env: str) -> subprocess.CompletedProcess:
    """Import the settings module alone (fast) and print the security settings."""
    script = (
        "import urbangrid.settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    )
    return run(["-c", script], env)


def serving(**env: str) -> subprocess.CompletedProcess:
    """Load the WSGI application, as gunicorn and runserver do."""
    return run(["-c", "import urbangrid.wsgi"], env)


def test_demo_secret_key_is_refused_without_debug_or_the_demo_opt_in():
    for refused in (serving(), manage("serve", "--port", "1"), manage("check", "--deploy")):
        assert refused.returncode != 0
        assert "SECRET_KEY is the public demo key" in refused.stderr
    assert serving(URBANGRID_DEMO="1").returncode == 0
    assert serving(DEBUG="1").returncode == 0
    assert serving(SECRET_KEY=PRODUCTION_KEY).returncode == 0
    # Commands that do not serve run without a key of their own (a developer's makemigrations).
    assert manage("makemigrations", "--check", "--dry-run").returncode == 0


def test_check_deploy_is_clean_with_production_settings_behind_tls():
    production = {"SECRET_KEY": PRODUCTION_KEY, "ALLOWED_HOSTS": "grid.example.gov.cn"}
    plain = manage("check", "--deploy", **production)
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in plain.stderr + plain.stdout
    behind_tls = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        URBANGRID_TLS="1",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
        **production,
    )
    assert behind_tls.returncode == 0, behind_tls.stderr + behind_tls.stdout
    assert "no issues" in behind_tls.stdout


def shown(completed: subprocess.CompletedProcess) -> str:
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_tls_switch_turns_on_redirect_hsts_and_secure_cookies_each_overridable():
    on = settings_of(
        SECRET_KEY=PRODUCTION_KEY, URBANGRID_TLS="1", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert shown(on) == "True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert shown(settings_of(URBANGRID_DEMO="1")) == "False 0 False False None"
    one_off = settings_of(SECRET_KEY=PRODUCTION_KEY, URBANGRID_TLS="1", SECURE_SSL_REDIRECT="0")
    assert shown(one_off) == "False 31536000 True True None"
    # DEBUG is development on plain http: the TLS switch does not apply there.
    assert shown(settings_of(DEBUG="1", URBANGRID_TLS="1")) == "False 0 False False None"


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_every_page_carries_a_strict_csp_and_a_permissions_policy(client):
    response = client.get("/public/")
    csp = csp_directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["style-src"]
    policy = response.headers["Permissions-Policy"]
    assert "geolocation=(self)" in policy and "microphone=()" in policy


TEMPLATES = sorted((ROOT / "urbangrid").glob("**/templates/**/*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "urbangrid")))
def test_templates_have_no_script_the_policy_would_refuse(path):
    """Inline handlers and js: values cannot carry a nonce; inline <script> and <style> must."""
    text = path.read_text(encoding="utf-8")
    assert not re.findall(r"\son[a-z]+\s*=", text), "inline event handler"
    assert "javascript:" not in text and "'js:" not in text and '"js:' not in text
    for attrs in re.findall(r"<script\b([^>]*)>", text):
        assert "src=" in attrs or "application/json" in attrs or "CSP_NONCE" in attrs, attrs
    for attrs in re.findall(r"<style\b([^>]*)>", text):
        assert "CSP_NONCE" in attrs, "inline <style> without the nonce"
