"""subnet_errors: the VPC plan the aws_network role checks before any API call."""

import importlib
import sys

import pytest


@pytest.fixture(scope="module")
def subnet_errors(collection_path):
    sys.path.insert(0, str(collection_path))
    return importlib.import_module("ansible_collections.integration.demoapp.plugins.filter.subnet_errors").subnet_errors


def test_the_default_plan_is_valid(subnet_errors):
    plan = [{"cidr": "10.20.0.0/24", "az": "a"}, {"cidr": "10.20.1.0/24", "az": "b"},
            {"cidr": "10.20.10.0/24", "az": "a"}, {"cidr": "10.20.11.0/24", "az": "b"}]
    assert subnet_errors("10.20.0.0/16", plan) == []


@pytest.mark.parametrize(("vpc", "plan", "message"), [
    ("10.20.0.0/16", [{"cidr": "10.20.0.0/24", "az": "a"}, {"cidr": "10.20.0.128/25", "az": "b"}],
     "subnets 10.20.0.0/24 and 10.20.0.128/25 overlap"),
    ("10.20.0.0/16", [{"cidr": "10.30.0.0/24", "az": "a"}], "subnet 10.30.0.0/24 is outside the VPC 10.20.0.0/16"),
    ("10.20.0.0/16", [{"cidr": "10.20.0.0/24", "az": "eu-west-3a"}], "is not an availability zone letter"),
    ("10.20.0.0/16", [{"cidr": "10.20.0.1/24", "az": "a"}], "is not a network in CIDR form"),
    ("10.20.0.0", [], "VPC network '10.20.0.0' is not a network"),
])
def test_each_bad_plan_is_named(subnet_errors, vpc, plan, message):
    assert any(message in error for error in subnet_errors(vpc, plan)), subnet_errors(vpc, plan)
