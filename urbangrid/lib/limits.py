"""Length limits of the free text every channel accepts, defined once.

Every intake channel (API, portal, mobile, Open311, hotline form, webhooks) ends in the same
checks, so a report too long for one channel is too long for all: nothing is cut silently and
no single text can make the public pages slow for everyone.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from .errors import InvalidInput

# Open311's own limit for a description, used by every channel.
DESCRIPTION_MAX = 4000
ADDRESS_MAX = 200
NAME_MAX = 60
PHONE_MAX = 20
EMAIL_MAX = 120
# A device's or account's identifier, a link to a photo elsewhere.
IDENTIFIER_MAX = 80
URL_MAX = 500


def check_length(value: str | None, limit: int, *, field: str, label: str) -> None:
    """Refuse ``value`` longer than ``limit`` characters with a clear message naming the field."""
    if value and len(value) > limit:
        raise InvalidInput(
            _("%(label)s is limited to %(limit)d characters (%(length)d given).")
            % {"label": label, "limit": limit, "length": len(value)},
            field=field,
        )
