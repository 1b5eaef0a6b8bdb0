from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "urbangrid.demo"
    label = "demo"
