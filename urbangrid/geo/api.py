"""JSON API of the geo app, mounted under /api/v1/geo/."""

from ninja import Router

router = Router(tags=["geo"])
