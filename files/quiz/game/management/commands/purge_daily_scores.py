"""python3 manage.py purge_daily_scores: the daily reset, at 00:00 in the quiz's zone (QUIZ_TIME_ZONE).

Deletes the games of the days before today (normally yesterday's alone), in one transaction with a row-count
integrity check: the rows before = the rows deleted + the rows after, and no row of a past day is left. When the
counts do not add up, nothing is deleted (the transaction rolls back) and the command fails, so that the job's
failure is reported. Prints one line, "Purge OK: ...", which the job's log keeps."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from game.models import Game
from game.play import today


class IntegrityFailure(CommandError):
    """The counts did not add up: the transaction was rolled back."""


def purge(day):
    """Delete the games before ``day``; returns (deleted, kept). REPEATABLE READ: the counts and the delete see one
    snapshot, so a game started meanwhile neither breaks the check nor is lost."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        before = Game.objects.count()
        past = Game.objects.filter(day_date__lt=day)
        expected = past.count()
        deleted = past.delete()[0]
        after, left = Game.objects.count(), Game.objects.filter(day_date__lt=day).count()
        if deleted != expected or before != deleted + after or left:
            raise IntegrityFailure(f"integrity check failed, nothing deleted: {before} rows before, {expected} of "
                                   f"days before {day}, {deleted} deleted, {after} after, {left} of past days left")
    return deleted, after


class Command(BaseCommand):
    help = "Delete the games of the days before today in the quiz's zone, with a row-count integrity check."

    def handle(self, *args, **options):
        day = today()
        deleted, kept = purge(day)
        self.stdout.write(f"Purge OK: {deleted} games before {day} ({settings.QUIZ_TIME_ZONE.key}) deleted, "
                          f"{kept} of today kept")
