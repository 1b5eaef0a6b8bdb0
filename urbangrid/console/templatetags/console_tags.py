"""Header and navigation of every console page, and small display helpers."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from ..nav import build_nav
from ..queries import deadline_status, header_info, remaining_text

register = template.Library()


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    items = build_nav(user) if user is not None and user.is_authenticated else []
    path = request.path if request else ""
    active = ""
    for item in items:
        if item.url != "/" and path.startswith(item.url) and len(item.url) > len(active):
            active = item.url
    return {"items": items, "active": active or (path if path == "/" else "")}


@register.inclusion_tag("console/_user.html", takes_context=True)
def console_user(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"info": None}
    return {"info": header_info(user), "request": request}


@register.simple_tag
def deadline_class(case, now=None):
    return {"overdue": "badge-red", "warning": "badge-yellow", "normal": "badge-green"}.get(
        deadline_status(case, now or timezone.now()), ""
    )


@register.simple_tag
def remaining(case, now=None):
    return remaining_text(case, now or timezone.now())


@register.filter
def state_class(state: str) -> str:
    return f"st-{state}"


@register.filter
def yesno_zh(value) -> str:
    if value is None:
        return "—"
    return _("Yes") if value else _("No")


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def get_region(names, pk):
    return names.get(pk, "") if isinstance(names, dict) else ""


@register.simple_tag(takes_context=True)
def console_who(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    info = header_info(user)
    return f"{info.name} · {info.unit}" if info.unit else info.name
