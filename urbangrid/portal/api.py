"""JSON API of the portal app, mounted under /api/v1/portal/."""

from ninja import Router

router = Router(tags=["portal"])
