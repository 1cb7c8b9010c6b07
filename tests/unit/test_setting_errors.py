"""The setting_errors filter every role's preflight uses: good values pass, bad ones are named."""

import importlib
import sys

import pytest


@pytest.fixture(scope="module")
def setting_errors(collection_path):
    sys.path.insert(0, str(collection_path))
    module = importlib.import_module("ansible_collections.integration.demoapp.plugins.filter.setting_errors")
    return module.setting_errors


GOOD = [
    ("port", 22), ("port", "5432"), ("port", 65535), ("positive", 5), ("absolute_path", "/srv/acme"),
    ("account", "acme"), ("account", "_svc-1"), ("pg_identifier", "acme_db"), ("cidr", "192.0.2.0/24"),
    ("cidr", "2001:db8::/32"), ("address", "192.0.2.10"), ("address", "2001:db8::/64"), ("duration", "10m"),
    ("duration", 600), ("service", {"port": 443}), ("service", {"port": "53", "proto": "udp", "sources": ["::1"]}),
    ("cron_minute", "0"), ("cron_minute", "*/5"), ("cron_minute", "0,15,30-45"), ("cron_hour", "1"),
    ("cron_hour", "0-23/2"), ("cron_day", "*"), ("cron_month", "jan-mar"), ("cron_weekday", "mon-fri"),
    ("cron_weekday", "7"), ("dotted_name", "quiz_noel.settings"), ("environment", {"QUIZ_KEY": "a b=c", "N": 3}),
    ("environment", {}),
]
BAD = [
    ("port", 0), ("port", 70000), ("port", "x"), ("port", True), ("positive", "abc"), ("positive", 0),
    ("absolute_path", "relative/dir"), ("absolute_path", ""), ("account", "Bad Name"), ("account", "1abc"),
    ("pg_identifier", "bad'name"), ("pg_identifier", "Upper"), ("pg_identifier", "a" * 64),
    ("cidr", "not-a-cidr"), ("address", "10.0.0.300"), ("address", "anywhere"), ("address", ""),
    ("cidr", "192.0.2.1"), ("cidr", "300.0.0.0/8"), ("duration", "ten minutes"), ("service", {"port": 0}),
    ("service", {"port": 80, "proto": "icmp"}), ("service", {"port": 80, "sources": ["x"]}), ("service", 80),
    ("cron_minute", "61"), ("cron_minute", "5/10"), ("cron_minute", ""), ("cron_hour", "abc"),
    ("cron_hour", "5-2"), ("cron_day", "0"), ("cron_month", "13"), ("cron_weekday", "8"), ("cron_minute", "*/0"),
    ("dotted_name", "settings"), ("dotted_name", "quiz.settings;rm"), ("environment", ["A=1"]),
]


@pytest.mark.parametrize(("kind", "value"), GOOD)
def test_good_values_pass(setting_errors, kind, value):
    assert setting_errors([["some_variable", value, kind]]) == []


@pytest.mark.parametrize(("kind", "value"), BAD)
def test_bad_values_are_named_with_what_is_accepted(setting_errors, kind, value):
    errors = setting_errors([["some_variable", value, kind], ["other_variable", 22, "port"]])
    assert len(errors) == 1
    assert errors[0].startswith("some_variable: ")
    assert " is not " in errors[0]


def test_environment_values_a_systemd_environment_file_would_alter_are_named_never_shown(setting_errors):
    secret = 'pa"ss\\word'
    pairs = {"GOOD": "x y", "QUOTED": secret, "LINES": "a\nb", "bad name": "x"}
    errors = setting_errors([["env", pairs, "environment"]])
    assert errors == ["env: {LINES, QUOTED, bad name: ...} is not NAME: value pairs (names of letters, digits and _; "
                      "each value on one line, without quotes or backslashes)"]
    assert secret not in errors[0]


def test_an_unknown_kind_is_a_programming_error(setting_errors):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError):
        setting_errors([["x", 1, "no_such_kind"]])


def test_list_kinds_name_each_bad_element(setting_errors):
    errors = setting_errors([["nets", ["192.0.2.0/24", "not-a-cidr", "bad"], "cidr_list"],
                             ["tables", ["ok_table"], "pg_identifier_list"], ["one", "x/8", "cidr_list"]])
    assert errors == [
        "nets: 'not-a-cidr' is not a network in CIDR form (192.0.2.0/24, 2001:db8::/32)",
        "nets: 'bad' is not a network in CIDR form (192.0.2.0/24, 2001:db8::/32)",
        "one: 'x/8' is not a list (of network in CIDR form (192.0.2.0/24, 2001:db8::/32))",
    ]
