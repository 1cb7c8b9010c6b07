"""The rules of a game, apart from HTTP: start with a pseudo free today, answers timed by the server, a score
checked against what the server recorded, the day's leaderboard."""

import random
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from game.models import Game
from game.questions import LEVELS, bank


class Refused(Exception):
    """A request the rules refuse: ``field`` names what is wrong, ``status`` the HTTP answer."""

    def __init__(self, field, message, status=400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def today():
    """The quiz's day: the date in QUIZ_TIME_ZONE (a new day starts at its midnight)."""
    return timezone.now().astimezone(settings.QUIZ_TIME_ZONE).date()


def question(game):
    """The pending question as the player sees it (never its answer)."""
    asked = bank()[game.level][game.questions[len(game.answers)]]
    return {"number": len(game.answers) + 1, "of": len(game.questions), "text": asked.text,
            "choices": list(asked.choices)}


def start(pseudo, level):
    """A new game for today; Refused (409) when another player has this pseudo today, case aside."""
    drawn = random.sample(range(len(bank()[level])), min(settings.QUIZ_QUESTIONS_PER_GAME, len(bank()[level])))
    try:
        with transaction.atomic():
            return Game.objects.create(pseudo=pseudo, pseudo_key=pseudo.lower(), level=level, day_date=today(),
                                       token=secrets.token_urlsafe(32), questions=drawn, asked_at=timezone.now())
    except IntegrityError as exc:
        raise Refused("pseudo", f"{pseudo} is taken today: choose another pseudo", 409) from exc


def owned(game_id, token):
    """The game, locked for this transaction, if the token is its own."""
    game = Game.objects.select_for_update().filter(pk=game_id).first()
    if game is None or not secrets.compare_digest(game.token, token):
        raise Refused("game", "no such game, or not yours", 404)
    return game


@transaction.atomic
def answer(game_id, token, choice):
    """Record the answer to the pending question, timed from when the server served it."""
    game = owned(game_id, token)
    if len(game.answers) == len(game.questions):
        raise Refused("game", "every question is answered: record the score")
    asked = bank()[game.level][game.questions[len(game.answers)]]
    if not 0 <= choice < len(asked.choices):
        raise Refused("choice", f"expected a choice from 0 to {len(asked.choices) - 1}")
    now = timezone.now()
    ms = int((now - game.asked_at).total_seconds() * 1000)
    right = choice == asked.answer
    game.answers = [*game.answers, {"choice": choice, "right": right, "ms": ms}]
    game.points += LEVELS[game.level] if right else 0
    game.temps_total += ms
    game.asked_at = now
    game.save(update_fields=["answers", "points", "temps_total", "asked_at"])
    done = len(game.answers) == len(game.questions)
    return {"right": right, "answer": asked.answer, "points": game.points, "temps_total": game.temps_total,
            "next": None if done else question(game)}


@transaction.atomic
def record(game_id, token, points, temps_total):
    """Put the game on the leaderboard, if the score is the one the server recorded and a person could make it."""
    game = owned(game_id, token)
    if game.finished_at is not None:
        raise Refused("game", "this score is already recorded", 409)
    if len(game.answers) < len(game.questions):
        raise Refused("game", f"answer the {len(game.questions)} questions first ({len(game.answers)} answered)")
    if points != game.points:
        raise Refused("points", f"{points} claimed, the answers give {game.points}")
    if temps_total != game.temps_total:
        raise Refused("temps_total", f"{temps_total} ms claimed, the server timed {game.temps_total} ms")
    fastest = min(item["ms"] for item in game.answers)
    if fastest < settings.QUIZ_MIN_ANSWER_MS:
        raise Refused("temps_total", f"an answer in {fastest} ms is not possible for a person "
                                     f"(at least {settings.QUIZ_MIN_ANSWER_MS} ms)")
    game.finished_at = timezone.now()
    game.save(update_fields=["finished_at"])
    return game


def leaderboard(day=None):
    """The day's recorded games, best first: most points, then the shortest total time; equal players share a rank."""
    games = Game.objects.filter(day_date=day or today(), finished_at__isnull=False) \
        .order_by("-points", "temps_total", "finished_at", "id")
    rows, previous = [], None
    for position, game in enumerate(games, start=1):
        key = (game.points, game.temps_total)
        rank = rows[-1]["rank"] if key == previous else position
        rows.append({"rank": rank, "pseudo": game.pseudo, "level": game.level, "points": game.points,
                     "temps_total": game.temps_total})
        previous = key
    return rows
