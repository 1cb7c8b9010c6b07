"""Routes: the pages (/, /classement) and the API (/api/games, /api/games/<id>/answers, /api/scores,
/api/leaderboard, /api/health)."""

from django.urls import path
from game import views

urlpatterns = [
    path("", views.play_page, name="play"),
    path("classement", views.leaderboard_page, name="leaderboard"),
    path("api/games", views.GamesView.as_view(), name="games"),
    path("api/games/<int:game_id>/answers", views.AnswersView.as_view(), name="answers"),
    path("api/scores", views.ScoresView.as_view(), name="scores"),
    path("api/leaderboard", views.LeaderboardView.as_view(), name="leaderboard-api"),
    path("api/health", views.HealthView.as_view(), name="health"),
]
