from django.contrib.auth import views as auth_views
from django.urls import path

from . import account_views, dashboard_views, grid_views, map_views, mobile_views, views
from .auth import LoginView

app_name = "console"
urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", account_views.password_change, name="password_change"),
    path("", views.home, name="home"),
    path("inbox/", views.inbox, name="inbox"),
    path("queues/", views.queues, name="queues"),
    path("queues/<slug:key>/", views.queue, name="queue"),
    path("queues/dispatch/batch", views.batch_dispatch, name="batch_dispatch"),
    path("case/", views.case_search, name="case_search"),
    path("case/<str:number>/", views.case_detail, name="case_detail"),
    path("case/<str:number>/panel", views.case_panel, name="case_panel"),
    path("case/<str:number>/photo/<int:pk>", views.case_photo, name="case_photo"),
    path("case/<str:number>/do/<slug:action>", views.case_action, name="case_action"),
    path("intake/", views.intake, name="intake"),
    path("intake/suggest", views.intake_suggest, name="intake_suggest"),
    path("intake/places", views.intake_places, name="intake_places"),
    path("intake/check", views.intake_check, name="intake_check"),
    path("map/", map_views.map_page, name="map"),
    path("map/cases.json", map_views.map_cases, name="map_cases"),
    path("map/grid/<str:code>", map_views.grid_panel, name="grid_panel"),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/heat.json", dashboard_views.dashboard_heat, name="dashboard_heat"),
    path("dashboard/export/<slug:key>.xlsx", dashboard_views.dashboard_export, name="dashboard_export"),
    path("grids/", grid_views.grids_page, name="grids"),
    path("grids/import/", grid_views.grid_import, name="grid_import"),
    path("grids/coverage/<str:code>.json", grid_views.coverage, name="grid_coverage"),
    path("grids/<str:code>/", grid_views.grid_detail, name="grid_detail"),
    path("m/", mobile_views.mobile_home, name="mobile_home"),
    path("m/report/", mobile_views.mobile_report, name="mobile_report"),
    path("m/report/submit", mobile_views.mobile_report_submit, name="mobile_report_submit"),
    path("m/suggest", mobile_views.mobile_suggest, name="mobile_suggest"),
    path("m/case/<str:number>/", mobile_views.mobile_case, name="mobile_case"),
    path("m/manifest.webmanifest", mobile_views.manifest, name="manifest"),
    path("m/sw.js", mobile_views.service_worker, name="service_worker"),
]
