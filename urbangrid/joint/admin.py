"""Read-mostly admin views; writes go through the actions (pages and API)."""

from django.contrib import admin

from .models import Campaign, Consultation, FollowUp, Meeting

for model in (Campaign, Consultation, Meeting, FollowUp):
    admin.site.register(model, list_display=("__str__",))
