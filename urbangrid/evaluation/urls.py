from django.urls import path

from . import views

app_name = "evaluation"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.xlsx", views.export, name="export"),
    path("drill/", views.drill, name="drill"),
    path("schemes/", views.schemes, name="schemes"),
    path("publish/", views.publish, name="publish"),
    path("assessments/<int:pk>/", views.assessment, name="assessment"),
    path("orders/", views.orders, name="orders"),
    path("orders/issue/", views.order_issue, name="order_issue"),
    path("orders/<int:pk>/", views.order, name="order"),
    path("orders/<int:pk>/<str:what>/", views.order_act, name="order_act"),
    path("spot-checks/", views.spot_checks, name="spot_checks"),
    path("spot-checks/start/", views.spot_check_start, name="spot_check_start"),
    path("spot-checks/<int:pk>/", views.spot_check, name="spot_check"),
    path("spot-items/<int:pk>/result/", views.spot_item_result, name="spot_item_result"),
    path("accountability/", views.accountability, name="accountability"),
    path("accountability/record/", views.accountability_record, name="accountability_record"),
    path("reports/", views.reports, name="reports"),
    path("reports/request/", views.report_request, name="report_request"),
    path("reports/<int:pk>/status/", views.report_status, name="report_status"),
    path("reports/<int:pk>/<str:fmt>/", views.report_file, name="report_file"),
]
