from django.urls import path

from . import views, webhooks

app_name = "portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("follow/", views.follow, name="follow"),
    path("c/<str:token>/", views.case_by_token, name="case"),
    path("stats/", views.stats, name="stats"),
    path("publicity/", views.publicity, name="publicity"),
    path("regions.geojson", views.regions, name="regions"),
    path("nearby.json", views.nearby, name="nearby"),
    path("suggest.json", views.suggest, name="suggest"),
    path("phone/code/", views.phone_code, name="phone_code"),
    path("phone/verify/", views.phone_verify, name="phone_verify"),
    path("webhooks/<slug:source>/", webhooks.receive, name="webhook"),
]
