"""with_settings: login.defs settings set in the text, as one lineinfile per key would (host_hardening)."""

import importlib
import sys

import pytest

# The lines of Debian's /etc/login.defs these settings meet: a comment naming the key, the setting, a commented one.
LOGIN_DEFS = """#
#\tPASS_MAX_DAYS\tMaximum number of days a password may be used.
#\tPASS_MIN_DAYS\tMinimum number of days allowed between password changes.
#
PASS_MAX_DAYS\t99999
PASS_MIN_DAYS\t0
UMASK\t\t022
#SHA_CRYPT_MIN_ROUNDS 5000
"""
SETTINGS = {"UMASK": "027", "SHA_CRYPT_MIN_ROUNDS": 65536, "SHA_CRYPT_MAX_ROUNDS": 65536,
            "PASS_MAX_DAYS": 365, "PASS_MIN_DAYS": 1}


@pytest.fixture(scope="module")
def with_settings(collection_path):
    sys.path.insert(0, str(collection_path))
    return importlib.import_module("ansible_collections.integration.demoapp.plugins.filter.with_settings").with_settings


def test_the_last_line_of_each_key_is_set_and_a_missing_key_is_appended(with_settings):
    assert with_settings(LOGIN_DEFS, SETTINGS) == """#
#\tPASS_MAX_DAYS\tMaximum number of days a password may be used.
#\tPASS_MIN_DAYS\tMinimum number of days allowed between password changes.
#
PASS_MAX_DAYS\t365
PASS_MIN_DAYS\t1
UMASK\t027
SHA_CRYPT_MIN_ROUNDS\t65536
SHA_CRYPT_MAX_ROUNDS\t65536
"""


def test_a_text_that_holds_every_setting_comes_back_unchanged(with_settings):
    once = with_settings(LOGIN_DEFS, SETTINGS)
    assert with_settings(once, SETTINGS) == once


def test_a_last_line_without_newline_gets_one_before_what_is_appended(with_settings):
    assert with_settings("UMASK 022", {"UMASK": "027", "PASS_MIN_DAYS": 1}, " ") == "UMASK 027\nPASS_MIN_DAYS 1\n"
    assert with_settings("", {"UMASK": "027"}) == "UMASK\t027\n"


def test_a_key_is_matched_whole_not_as_the_start_of_another(with_settings):
    assert with_settings("UMASKS 1\n", {"UMASK": "027"}) == "UMASKS 1\nUMASK\t027\n"


@pytest.mark.parametrize(("settings", "message"), [
    (["UMASK", "027"], "must be a dict"),
    ({"UMASK 027": "x"}, "is not a setting's name"),
    ({"^.*": "x"}, "is not a setting's name"),
])
def test_bad_settings_are_refused_naming_them(with_settings, settings, message):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=message):
        with_settings("UMASK 022\n", settings)
