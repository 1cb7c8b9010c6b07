"""The game: questions checked when Django starts (a bad file stops Gunicorn and `manage.py check` with its name)."""

from django.apps import AppConfig

from game.questions import bank


class GameConfig(AppConfig):
    name = "game"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        bank()
