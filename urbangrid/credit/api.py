"""JSON API of the credit app, mounted under /api/v1/credit/."""

from ninja import Router

router = Router(tags=["credit"])
