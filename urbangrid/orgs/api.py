"""JSON API of the orgs app, mounted under /api/v1/orgs/."""

from ninja import Router

router = Router(tags=["orgs"])
