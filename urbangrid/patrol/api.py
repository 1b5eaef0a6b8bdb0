"""JSON API of the patrol app, mounted under /api/v1/patrol/."""

from ninja import Router

router = Router(tags=["patrol"])
