from django.urls import path

from . import views

app_name = "patrol"
urlpatterns = [
    path("", views.index, name="index"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_form, name="plan_new"),
    path("plans/<int:pk>/", views.plan_form, name="plan_edit"),
    path("plans/<int:pk>/deactivate/", views.plan_deactivate, name="plan_deactivate"),
    path("today/", views.today, name="today"),
    path("tracks/", views.track_list, name="tracks"),
    path("tracks/<int:pk>/", views.track_detail, name="track"),
    path("m/", views.mobile, name="mobile"),
    path("sweeps/", views.campaign_list, name="campaigns"),
    path("sweeps/new/", views.campaign_form, name="campaign_new"),
    path("sweeps/<int:pk>/", views.campaign_detail, name="campaign"),
    path("sweeps/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("sweeps/<int:campaign_pk>/inspect/<int:place_pk>/", views.inspect, name="inspect"),
    path("places/", views.place_list, name="places"),
]
