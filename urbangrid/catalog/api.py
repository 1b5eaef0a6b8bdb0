"""JSON API of the catalog app, mounted under /api/v1/catalog/."""

from ninja import Router

router = Router(tags=["catalog"])
