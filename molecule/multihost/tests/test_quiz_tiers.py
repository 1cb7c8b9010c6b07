"""The quiz on both application servers (Django 3.2 on api1's Debian 12, 4.2 on api2's Debian 13), behind the proxy
host, its database on the database host: an outsider plays a whole game through the proxy, its requests balanced
over both servers, and finds its pseudo on the leaderboard, the row on the database host; the proxy serves each
server's static files (the hashed names of either server's manifest) from its own disk with a year of cache, and
neither server's Gunicorn sees a request for them."""

import json
import shlex
import time
import uuid

import testinfra
from conftest import INVENTORY, https_request, target_ip

testinfra_hosts = ["ansible://proxy"]
QUIZ = "quiz.proxy"  # quiz_server_name's default: quiz.<the first proxy>
SERVERS = ("api1", "api2")


def get(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


def quiz(source, path, body=None):
    """(status, headers, body) of a request from ``source`` to the quiz's name on the proxy."""
    args = [f"--resolve {QUIZ}:443:{target_ip(get('proxy'))}"]
    if body is not None:
        args += ["-X POST -H 'Content-Type: application/json'", f"-d {shlex.quote(json.dumps(body))}"]
    return https_request(source, QUIZ, path, *args)


def test_an_outsider_plays_a_whole_game_over_both_servers_and_its_row_is_on_the_database_host(client):
    pseudo = f"tiers-{uuid.uuid4().hex[:8]}"
    status, _headers, body = quiz(client, "/api/games", {"pseudo": pseudo, "level": "facile"})
    assert status == 201, body
    game = json.loads(body)
    result = {"next": game["question"]}
    while result["next"]:
        time.sleep(0.4)  # slower than quiz_min_answer_ms (300 ms): the server times each answer
        answer = {"token": game["token"], "choice": 0}
        status, _headers, body = quiz(client, f"/api/games/{game['game']}/answers", answer)
        assert status == 200, body
        result = json.loads(body)
    score = {"game": game["game"], "token": game["token"], "points": result["points"],
             "temps_total": result["temps_total"]}
    status, _headers, body = quiz(client, "/api/scores", score)
    assert status == 201, body
    status, _headers, body = quiz(client, "/api/leaderboard")
    assert status == 200 and pseudo in [row["pseudo"] for row in json.loads(body)["games"]], body
    query = shlex.quote(f"SELECT points, temps_total FROM game WHERE pseudo = '{pseudo}'")  # noqa: S608 (ours)
    row = get("database").check_output(f"runuser -u postgres -- psql -X -At -d quiz -c {query}")
    assert row == f"{result['points']}|{result['temps_total']}"
    # Both servers answered some of these requests (the proxy balances them): each one's Gunicorn logged the game.
    for name in SERVERS:
        log = get(name).check_output("journalctl -u quiz --no-pager -o cat")
        assert f"/api/games/{game['game']}/answers" in log, name


def test_the_proxy_serves_both_servers_static_files_from_its_own_disk_with_a_year_of_cache(client):
    manifests = {name: json.loads(get(name).check_output("cat /var/lib/quiz/static/staticfiles.json"))["paths"]
                 for name in SERVERS}
    hashed = {name: set(paths.values()) for name, paths in manifests.items()}
    for name, other in (SERVERS, SERVERS[::-1]):
        # The game's script, and files of this server's DRF that the other's manifest lacks (3.14 and 3.16 differ):
        # with one server's archive alone, the proxy would answer 404 for the other's.
        own = sorted(hashed[name] - hashed[other])
        assert own, f"{name}'s static files are all the other server's too: nothing here tells the archives apart"
        paths = [manifests[name]["game/quiz.js"], *own[:3]]
        for path in paths:
            status, headers, _body = quiz(client, f"/static/{path}")
            assert (status, headers.get("cache-control")) == (200, "max-age=31536000"), (name, path, status, headers)
    for name in SERVERS:
        assert "/static/" not in get(name).check_output("journalctl -u quiz --no-pager -o cat"), name
