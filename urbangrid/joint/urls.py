from django.urls import path

from . import views

app_name = "joint"
urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/tasks/", views.campaign_task_add, name="campaign_task_add"),
    path("campaigns/<int:pk>/link/", views.campaign_link, name="campaign_link"),
    path("campaigns/<int:pk>/end/", views.campaign_end, name="campaign_end"),
    path("tasks/<int:pk>/report/", views.campaign_task_report, name="task_report"),
    path("tasks/<int:pk>/accept/", views.campaign_task_accept, name="task_accept"),
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/new/", views.consultation_new, name="consultation_new"),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultation"),
    path("consultations/<int:pk>/view/", views.consultation_view, name="consultation_view"),
    path("consultations/<int:pk>/schedule/", views.consultation_schedule, name="consultation_schedule"),
    path("consultations/<int:pk>/decide/", views.consultation_decide, name="consultation_decide"),
    path("consultations/<int:pk>/apply/", views.consultation_apply, name="consultation_apply"),
    path("consultations/<int:pk>/matrix/", views.consultation_matrix, name="consultation_matrix"),
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/agenda/", views.meeting_agenda, name="meeting_agenda"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="meeting_minutes"),
    path("meetings/<int:pk>/follow-ups/", views.meeting_follow_up, name="meeting_follow_up"),
    path("follow-ups/<int:pk>/reply/", views.follow_up_reply, name="follow_up_reply"),
    path("follow-ups/<int:pk>/close/", views.follow_up_close, name="follow_up_close"),
]
