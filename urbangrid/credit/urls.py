from django.urls import path

from . import views

app_name = "credit"
urlpatterns = [
    path("", views.index, name="index"),
    path("subjects/new/", views.subject_new, name="subject_new"),
    path("subjects/<int:pk>/", views.subject_detail, name="subject"),
    path("subjects/<int:pk>/violations/new/", views.violation_new, name="violation_new"),
    path("subjects/<int:pk>/repair/", views.subject_repair, name="subject_repair"),
    path("subjects/<int:pk>/evaluate/", views.subject_evaluate, name="subject_evaluate"),
    path("violations/<int:pk>/penalties/new/", views.penalty_new, name="penalty_new"),
    path("penalties/<int:pk>/fulfil/", views.penalty_fulfil, name="penalty_fulfil"),
    path("lists/", views.lists, name="lists"),
    path("rules/", views.rules, name="rules"),
    path("public/", views.public_list, name="public_list"),
]
