"""The quiz's tests (tests/unit/quiz) on both Django stacks the collection deploys to: Debian 13's (Django 4.2,
DRF 3.16: the venv's) and Debian 12's (Django 3.2, DRF 3.14), each in a process of its own."""

import pytest
from conftest import ROOT, django_stack_run


@pytest.mark.parametrize("stack", ["debian13", "debian12"])
def test_the_quiz_passes_its_tests_on_the_django_stack_of(stack):
    proc = django_stack_run(ROOT / "tests" / "unit" / "quiz", stack)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout and " skipped" not in proc.stdout, proc.stdout
