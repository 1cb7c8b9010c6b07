"""The API (JSON, no cookie, no login: a game's token authorizes its answers and its score) and the two pages.

POST /api/games {pseudo, level} -> 201 {game, token, question}
POST /api/games/<id>/answers {token, choice} -> {right, answer, points, temps_total, next}
POST /api/scores {game, token, points, temps_total} -> 201 {rank, ...} (rate limited at the proxy)
GET /api/leaderboard -> today's games, best first; GET /api/health
GET / (play), GET /classement (the day's leaderboard)."""

from django.db import connection
from django.shortcuts import render
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from game import play
from game.questions import LEVELS


class Start(serializers.Serializer):
    pseudo = serializers.RegexField(r"^[\w-]{3,20}$", error_messages={
        "invalid": "3 to 20 letters, digits, - or _"})
    level = serializers.ChoiceField(choices=list(LEVELS))


class Answer(serializers.Serializer):
    token = serializers.CharField(max_length=64)
    choice = serializers.IntegerField(min_value=0, max_value=5)


class Score(serializers.Serializer):
    game = serializers.IntegerField(min_value=1)
    token = serializers.CharField(max_length=64)
    points = serializers.IntegerField(min_value=0, max_value=10_000)
    temps_total = serializers.IntegerField(min_value=0, max_value=86_400_000)


def checked(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def refused(exc):
    return Response({exc.field: [exc.message]}, status=exc.status)


class GamesView(APIView):
    def post(self, request):
        data = checked(Start, request)
        try:
            game = play.start(data["pseudo"], data["level"])
        except play.Refused as exc:
            return refused(exc)
        return Response({"game": game.pk, "token": game.token, "question": play.question(game)},
                        status=status.HTTP_201_CREATED)


class AnswersView(APIView):
    def post(self, request, game_id):
        data = checked(Answer, request)
        try:
            return Response(play.answer(game_id, data["token"], data["choice"]))
        except play.Refused as exc:
            return refused(exc)


class ScoresView(APIView):
    def post(self, request):
        data = checked(Score, request)
        try:
            game = play.record(data["game"], data["token"], data["points"], data["temps_total"])
        except play.Refused as exc:
            return refused(exc)
        rank = next(row["rank"] for row in play.leaderboard(game.day_date) if row["pseudo"] == game.pseudo)
        return Response({"rank": rank, "pseudo": game.pseudo, "points": game.points,
                         "temps_total": game.temps_total}, status=status.HTTP_201_CREATED)


class LeaderboardView(APIView):
    def get(self, request):
        return Response({"day": play.today().isoformat(), "games": play.leaderboard()})


class HealthView(APIView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok"})


def play_page(request):
    return render(request, "game/play.html", {"levels": list(LEVELS)})


def leaderboard_page(request):
    return render(request, "game/leaderboard.html", {"day": play.today(), "games": play.leaderboard()})
