from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("", views.index, name="index"),
    path("training/", views.training, name="training"),
    path("training/schedule/", views.schedule_training, name="schedule_training"),
    path("training/<int:pk>/", views.session, name="session"),
    path("training/<int:pk>/record/", views.record_result, name="record_result"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/password/", views.reset_password, name="reset_password"),
]
