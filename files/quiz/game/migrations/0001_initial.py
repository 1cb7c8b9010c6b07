"""The game table, its three indexes (points, temps_total, day_date) and a pseudo once a day."""

from django.db import migrations, models

LEVELS = [("facile", "facile"), ("intermediaire", "intermediaire"), ("avance", "avance")]


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Game",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("pseudo", models.CharField(max_length=20)),
                ("pseudo_key", models.CharField(max_length=20)),
                ("level", models.CharField(choices=LEVELS, max_length=16)),
                ("day_date", models.DateField()),
                ("token", models.CharField(max_length=64)),
                ("questions", models.JSONField()),
                ("asked_at", models.DateTimeField(null=True)),
                ("answers", models.JSONField(default=list)),
                ("points", models.PositiveIntegerField(default=0)),
                ("temps_total", models.PositiveIntegerField(default=0)),
                ("finished_at", models.DateTimeField(null=True)),
            ],
            options={
                "db_table": "game",
                "indexes": [models.Index(fields=["points"], name="game_points_idx"),
                            models.Index(fields=["temps_total"], name="game_temps_total_idx"),
                            models.Index(fields=["day_date"], name="game_day_date_idx")],
            },
        ),
        migrations.AddConstraint(
            model_name="game",
            constraint=models.UniqueConstraint(fields=("day_date", "pseudo_key"), name="game_pseudo_once_a_day"),
        ),
    ]
