"""The questions, from three JSON files in QUIZ_QUESTIONS_DIR: facile.json, intermediaire.json, avance.json.

Each file is a list of questions: {"question": "...", "choices": ["...", "..."], "answer": 0} (2 to 6 distinct
choices, answer the index of the right one). The files are read and checked once, when Django starts: a file that
is missing, is not JSON or holds a malformed question stops the start with its name and the line at fault."""

import json
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Points for a right answer, by level (the file name without .json).
LEVELS = {"facile": 1, "intermediaire": 2, "avance": 3}
FIELDS = {"question", "choices", "answer"}


class QuestionFileError(ImproperlyConfigured):
    """A question file that cannot be used: the message names the file and the line."""


@dataclass(frozen=True)
class Question:
    text: str
    choices: tuple
    answer: int


def problem(item):
    """What is wrong with one question, or ''."""
    if not isinstance(item, dict):
        return "a question must be an object"
    if set(item) != FIELDS:
        return f"expected the fields {sorted(FIELDS)}, found {sorted(item)}"
    text, choices, answer = item["question"], item["choices"], item["answer"]
    if not isinstance(text, str) or not text.strip():
        return "question must be a non-empty string"
    if (not isinstance(choices, list) or not 2 <= len(choices) <= 6
            or not all(isinstance(c, str) and c.strip() for c in choices) or len(set(choices)) != len(choices)):
        return "choices must be 2 to 6 distinct non-empty strings"
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
        return f"answer must be the index of the right choice (0 to {len(choices) - 1})"
    return ""


def parse(name, text):
    """The questions of one file's text; QuestionFileError names the file and the line of the first fault."""
    decoder = json.JSONDecoder()

    def line(position):
        return text.count("\n", 0, position) + 1

    try:
        json.loads(text)  # the syntax first, with the position the decoder reports
    except json.JSONDecodeError as exc:
        raise QuestionFileError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    position = len(text) - len(text.lstrip())
    if not text.startswith("[", position):
        raise QuestionFileError(f"{name} line {line(position)}: expected a list of questions")
    questions, position = [], position + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if text.startswith("]", position):
            break
        item, end = decoder.raw_decode(text, position)
        fault = problem(item)
        if fault:
            raise QuestionFileError(f"{name} line {line(position)}: question {len(questions) + 1}: {fault}")
        questions.append(Question(item["question"].strip(), tuple(item["choices"]), item["answer"]))
        position = end
    if not questions:
        raise QuestionFileError(f"{name}: no question")
    return questions


def load(directory):
    """{level: [Question]} from the three files of ``directory``."""
    out = {}
    for level in LEVELS:
        path = directory / f"{level}.json"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QuestionFileError(f"{path}: cannot be read ({exc})") from exc
        out[level] = parse(path.name, text)
    return out


@lru_cache(maxsize=1)
def bank():
    """The questions of QUIZ_QUESTIONS_DIR, read once (game.apps checks them when Django starts)."""
    return load(settings.QUIZ_QUESTIONS_DIR)
