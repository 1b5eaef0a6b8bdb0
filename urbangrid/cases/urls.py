from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("<str:number>/photos/<str:sha256>.jpg", views.attachment, name="attachment"),
    path("public/<str:token>/photos/<str:sha256>.jpg", views.public_attachment, name="public_attachment"),
]
