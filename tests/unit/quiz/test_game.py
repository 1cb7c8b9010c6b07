"""files/quiz, the quiz of seed 001, against a real PostgreSQL (run by tests/unit/test_quiz.py, once per Django
stack): a pseudo unique for the day, answers timed by the server, scores checked against what the server recorded,
the leaderboard's order and ties, question files checked on load, and the daily reset with its integrity check."""

import datetime
import os
import subprocess
import sys

import pytest
from conftest import ROOT, owned_database, superuser_connect

APP = ROOT / "files" / "quiz"
QUESTIONS = APP / "questions"


@pytest.fixture(scope="module")
def django_db(pg, tmp_path_factory):
    """A database owned by a non-superuser role, the migrations applied, the static files collected."""
    role = "quiz_app"
    name = owned_database(pg, "quiz_", role, "unit-quiz-pw")
    os.environ.update({
        "QUIZ_SECRET_KEY": "unit-secret-key-not-for-production", "QUIZ_DB_NAME": name, "QUIZ_DB_USER": role,
        "QUIZ_DB_PASSWORD": "unit-quiz-pw", "QUIZ_DB_HOST": pg["host"], "QUIZ_DB_PORT": str(pg["port"]),
        "QUIZ_ALLOWED_HOSTS": "testserver", "QUIZ_QUESTIONS_DIR": str(QUESTIONS), "QUIZ_QUESTIONS_PER_GAME": "3",
        "QUIZ_STATIC_ROOT": str(tmp_path_factory.mktemp("static")), "DJANGO_SETTINGS_MODULE": "quiz_noel.settings"})
    sys.path.insert(0, str(APP))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    yield name
    from django.db import connections

    connections.close_all()


@pytest.fixture
def api(django_db):
    from game.models import Game
    from rest_framework.test import APIClient

    Game.objects.all().delete()
    return APIClient()


def post(api, path, body):
    return api.post(path, body, format="json")


def wait(game_id, seconds):
    """As if the pending question had been served ``seconds`` ago (the server times answers from then)."""
    from django.utils import timezone
    from game.models import Game

    Game.objects.filter(pk=game_id).update(asked_at=timezone.now() - datetime.timedelta(seconds=seconds))


def play_through(api, pseudo, level="facile", right=True, seconds=2):
    """A whole game through the API; returns (game, token, last answer's response body)."""
    from game.models import Game
    from game.questions import bank

    started = post(api, "/api/games", {"pseudo": pseudo, "level": level})
    assert started.status_code == 201, started.content
    game, token = started.json()["game"], started.json()["token"]
    body = {}
    for _question in range(3):
        wait(game, seconds)
        asked = bank()[level][Game.objects.get(pk=game).questions[len(Game.objects.get(pk=game).answers)]]
        choice = asked.answer if right else (asked.answer + 1) % len(asked.choices)
        answered = post(api, f"/api/games/{game}/answers", {"token": token, "choice": choice})
        assert answered.status_code == 200, answered.content
        body = answered.json()
    assert body["next"] is None
    return game, token, body


def test_a_pseudo_taken_today_is_refused_case_aside_and_free_again_after_the_reset(api):
    from game.management.commands.purge_daily_scores import purge
    from game.models import Game
    from game.play import today

    assert post(api, "/api/games", {"pseudo": "Lutin", "level": "facile"}).status_code == 201
    taken = post(api, "/api/games", {"pseudo": "lutin", "level": "avance"})
    assert taken.status_code == 409 and taken.json() == {"pseudo": ["lutin is taken today: choose another pseudo"]}
    # Midnight in the quiz's zone: the game becomes yesterday's, and the reset deletes it.
    Game.objects.update(day_date=today() - datetime.timedelta(days=1))
    assert purge(today()) == (1, 0)
    assert post(api, "/api/games", {"pseudo": "lutin", "level": "avance"}).status_code == 201


def test_bad_starts_are_refused_with_the_field_at_fault(api):
    assert post(api, "/api/games", {"pseudo": "x", "level": "facile"}).json() == {
        "pseudo": ["3 to 20 letters, digits, - or _"]}
    assert "level" in post(api, "/api/games", {"pseudo": "Renne", "level": "impossible"}).json()
    assert post(api, "/api/games", {"pseudo": "<script>", "level": "facile"}).status_code == 400


def test_a_whole_game_scores_the_answers_the_server_timed(api):
    game, token, last = play_through(api, "Rudolph", level="intermediaire", seconds=2)
    assert last["points"] == 3 * 2  # three right answers at 2 points (intermediaire)
    assert 6000 <= last["temps_total"] < 9000  # about 2 s per answer, timed by the server
    scored = post(api, "/api/scores", {"game": game, "token": token, "points": last["points"],
                                       "temps_total": last["temps_total"]})
    assert scored.status_code == 201, scored.content
    assert scored.json()["rank"] == 1
    board = api.get("/api/leaderboard").json()
    assert [row["pseudo"] for row in board["games"]] == ["Rudolph"]


def test_a_score_the_server_did_not_record_is_refused(api):
    game, token, last = play_through(api, "Comete", right=False)
    honest = {"game": game, "token": token, "points": last["points"], "temps_total": last["temps_total"]}
    more_points = post(api, "/api/scores", {**honest, "points": last["points"] + 1})
    assert more_points.status_code == 400
    assert more_points.json() == {"points": [f"{last['points'] + 1} claimed, the answers give {last['points']}"]}
    faster = post(api, "/api/scores", {**honest, "temps_total": last["temps_total"] - 1000})
    assert faster.status_code == 400 and "the server timed" in faster.json()["temps_total"][0]
    assert post(api, "/api/scores", {**honest, "token": "not-the-token"}).status_code == 404
    assert post(api, "/api/scores", {**honest, "points": -1}).status_code == 400
    assert post(api, "/api/scores", honest).status_code == 201
    assert post(api, "/api/scores", honest).status_code == 409  # once


def test_an_impossible_time_or_an_unfinished_game_is_refused(api):
    game, token, last = play_through(api, "Tornade", seconds=0)  # answered as soon as served: a script
    fast = post(api, "/api/scores", {"game": game, "token": token, "points": last["points"],
                                     "temps_total": last["temps_total"]})
    assert fast.status_code == 400 and "not possible for a person" in fast.json()["temps_total"][0]
    started = post(api, "/api/games", {"pseudo": "Danseur", "level": "facile"}).json()
    early = post(api, "/api/scores", {"game": started["game"], "token": started["token"], "points": 0,
                                      "temps_total": 0})
    assert early.status_code == 400 and early.json() == {"game": ["answer the 3 questions first (0 answered)"]}
    over = post(api, f"/api/games/{game}/answers", {"token": token, "choice": 0})
    assert over.status_code == 400 and "every question is answered" in over.json()["game"][0]


def test_the_leaderboard_orders_by_points_then_time_and_equal_players_share_a_rank(api):
    from django.utils import timezone
    from game.models import Game
    from game.play import leaderboard, today

    now = timezone.now()
    for pseudo, points, ms in (("Lent", 9, 50_000), ("Rapide", 9, 20_000), ("Moyen", 6, 10_000),
                               ("Ex-aequo", 9, 20_000), ("Hier", 30, 1_000)):
        Game.objects.create(pseudo=pseudo, pseudo_key=pseudo.lower(), level="avance", token="t", questions=[],
                            day_date=today() - datetime.timedelta(days=pseudo == "Hier"), points=points,
                            temps_total=ms, finished_at=now)
    Game.objects.create(pseudo="EnCours", pseudo_key="encours", level="avance", token="t", questions=[],
                        day_date=today(), points=30)  # not finished: not on the board
    rows = [(row["rank"], row["pseudo"]) for row in leaderboard()]
    assert rows == [(1, "Rapide"), (1, "Ex-aequo"), (3, "Lent"), (4, "Moyen")]
    page = api.get("/classement")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index("Rapide") < text.index("Lent") < text.index("Moyen") and "Hier" not in text


def test_the_pages_load_their_script_and_style_from_hashed_static_files_and_nothing_inline(api):
    import re

    text = api.get("/").content.decode()
    scripts = re.findall(r"<script[^>]*>", text)
    assert len(scripts) == 1 and re.fullmatch(r'<script src="/static/game/quiz\.[0-9a-f]{12}\.js" defer>',
                                              scripts[0]), scripts
    assert re.search(r'href="/static/game/quiz\.[0-9a-f]{12}\.css"', text)
    assert " style=" not in text and "onclick" not in text.lower()


def test_the_reset_deletes_exactly_the_days_before_today_and_says_purge_ok(api):
    import io

    from django.conf import settings
    from django.core.management import call_command
    from game.models import Game
    from game.play import today

    for days_ago, count in ((0, 2), (1, 3), (2, 1)):
        for number in range(count):
            Game.objects.create(pseudo=f"p{days_ago}{number}", pseudo_key=f"p{days_ago}{number}", level="facile",
                                token="t", questions=[], day_date=today() - datetime.timedelta(days=days_ago))
    out = io.StringIO()
    call_command("purge_daily_scores", stdout=out)
    assert out.getvalue().strip() == (f"Purge OK: 4 games before {today()} ({settings.QUIZ_TIME_ZONE.key}) deleted, "
                                      "2 of today kept")
    assert sorted(Game.objects.values_list("pseudo", flat=True)) == ["p00", "p01"]


def test_the_reset_rolls_back_and_fails_when_the_counts_do_not_add_up(api, pg, django_db):
    """A trigger puts a row back for each one deleted (a writer the check must catch): nothing is deleted."""
    from game.management.commands.purge_daily_scores import IntegrityFailure, purge
    from game.models import Game
    from game.play import today

    yesterday = today() - datetime.timedelta(days=1)
    for number in range(2):
        Game.objects.create(pseudo=f"y{number}", pseudo_key=f"y{number}", level="facile", token="t", questions=[],
                            day_date=yesterday)
    conn = superuser_connect(pg, django_db)
    conn.autocommit = True
    conn.cursor().execute(
        "CREATE FUNCTION game_put_back() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
        "INSERT INTO game (pseudo, pseudo_key, level, day_date, token, questions, answers, points, temps_total) "
        "VALUES ('z' || OLD.id, 'z' || OLD.id, 'facile', OLD.day_date, 't', '[]', '[]', 0, 0); RETURN OLD; END$$; "
        "CREATE TRIGGER game_put_back AFTER DELETE ON game FOR EACH ROW EXECUTE FUNCTION game_put_back()")
    try:
        with pytest.raises(IntegrityFailure, match="integrity check failed, nothing deleted: 2 rows before"):
            purge(today())
    finally:
        conn.cursor().execute("DROP TRIGGER game_put_back ON game; DROP FUNCTION game_put_back()")
        conn.close()
    assert sorted(Game.objects.values_list("pseudo", flat=True)) == ["y0", "y1"]


def test_a_malformed_question_file_is_refused_with_its_name_and_line(tmp_path):
    from game.questions import QuestionFileError, load, parse

    with pytest.raises(QuestionFileError, match=r"^avance\.json line 3: not valid JSON"):
        parse("avance.json", '[\n  {"question": "Q", "choices": ["a", "b"], "answer": 0},\n  {"question": }\n]')
    good = '{"question": "Q", "choices": ["a", "b"], "answer": 0}'
    with pytest.raises(QuestionFileError, match=r"^facile\.json line 4: question 2: answer must be the index"):
        parse("facile.json", f'[\n  {good},\n\n  {{"question": "R", "choices": ["a", "b"], "answer": 2}}\n]')
    with pytest.raises(QuestionFileError, match=r"question 1: choices must be 2 to 6 distinct"):
        parse("facile.json", '[{"question": "Q", "choices": ["a", "a"], "answer": 0}]')
    with pytest.raises(QuestionFileError, match=r"question 1: expected the fields"):
        parse("facile.json", '[{"question": "Q", "choices": ["a", "b"], "answer": 0, "points": 9}]')
    with pytest.raises(QuestionFileError, match=r"^intermediaire\.json: no question$"):
        parse("intermediaire.json", "[]")
    for level in ("facile", "intermediaire"):
        (tmp_path / f"{level}.json").write_text(f"[{good}]")
    with pytest.raises(QuestionFileError, match=r"avance\.json: cannot be read"):
        load(tmp_path)
    # Django refuses to start with it: `manage.py check` (and so Gunicorn) fails, naming the file.
    (tmp_path / "avance.json").write_text('[{"question": "Q", "choices": ["a"], "answer": 0}]')
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=str(APP), capture_output=True, text=True,
                          check=False, env=dict(os.environ, QUIZ_QUESTIONS_DIR=str(tmp_path)))
    assert proc.returncode != 0
    assert "avance.json line 1: question 1: choices must be 2 to 6 distinct" in proc.stderr, proc.stderr[-2000:]


def test_the_shipped_question_files_load():
    from game.questions import LEVELS, load

    assert {level: len(questions) >= 10 for level, questions in load(QUESTIONS).items()} == dict.fromkeys(LEVELS, True)
