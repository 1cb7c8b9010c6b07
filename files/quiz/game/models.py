"""One table, game: a player's game of the day. Rows live one day (the reset deletes the days before today in the
quiz's zone); the pseudo is unique for the day, case aside; the leaderboard reads points, temps_total and day_date,
each indexed."""

from django.db import models

from game.questions import LEVELS


class Game(models.Model):
    pseudo = models.CharField(max_length=20)
    pseudo_key = models.CharField(max_length=20)  # the pseudo in lower case: unique for the day
    level = models.CharField(max_length=16, choices=[(level, level) for level in LEVELS])
    day_date = models.DateField()  # the day in the quiz's zone (QUIZ_TIME_ZONE) the game was started
    token = models.CharField(max_length=64)  # the player's secret: answers and the score must carry it
    questions = models.JSONField()  # indexes into the level's questions, in the order asked
    asked_at = models.DateTimeField(null=True)  # when the pending question was served (the server times answers)
    answers = models.JSONField(default=list)  # [{"choice": 1, "right": true, "ms": 4210}, ...]
    points = models.PositiveIntegerField(default=0)
    temps_total = models.PositiveIntegerField(default=0)  # milliseconds, the sum of the answers' times
    finished_at = models.DateTimeField(null=True)  # when the score was recorded: on the leaderboard from then on

    class Meta:
        db_table = "game"
        constraints = [models.UniqueConstraint(fields=["day_date", "pseudo_key"], name="game_pseudo_once_a_day")]
        indexes = [
            models.Index(fields=["points"], name="game_points_idx"),
            models.Index(fields=["temps_total"], name="game_temps_total_idx"),
            models.Index(fields=["day_date"], name="game_day_date_idx"),
        ]
