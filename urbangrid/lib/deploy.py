"""What a server checks before it serves: never the public demo key in production.

Starting the platform (the WSGI/ASGI application, `manage.py serve`) refuses the demo
``SECRET_KEY`` while DEBUG is off unless the demo city is served on purpose (URBANGRID_DEMO=1);
`check --deploy` reports it too. Commands that only read or migrate the database are not refused.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

DEMO_KEY_MESSAGE = (
    "SECRET_KEY is the public demo key while DEBUG is off: set SECRET_KEY "
    "(or URBANGRID_DEMO=1 to serve the demo city, DEBUG=1 to develop)."
)


def demo_key_refused() -> bool:
    return (
        settings.SECRET_KEY == settings.DEMO_SECRET_KEY and not settings.DEBUG and not settings.URBANGRID_DEMO
    )


def refuse_demo_key() -> None:
    """Called by everything that starts serving requests."""
    if demo_key_refused():
        raise ImproperlyConfigured(DEMO_KEY_MESSAGE)


@register(Tags.security, deploy=True)
def check_demo_key(app_configs, **kwargs) -> list[Error]:
    return [Error(DEMO_KEY_MESSAGE, id="urbangrid.E001")] if demo_key_refused() else []
