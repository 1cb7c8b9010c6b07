# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: subnet_errors
short_description: Check a VPC's subnet plan - each subnet inside the VPC, none overlapping another
version_added: 2.0.0
description:
  - Takes the VPC's network (CIDR) and its subnets (dicts with C(cidr) and C(az)) and returns one message
    per problem - a subnet that is not a CIDR network, lies outside the VPC, overlaps another subnet, or
    has no availability zone letter. An empty list means the plan is valid.
  - The aws_network role calls it before any API call.
options:
  _input:
    description: The VPC's network, for example C(10.20.0.0/16).
    type: str
    required: true
  subnets:
    description: The subnets, each a dict with C(cidr) and C(az) (the letter after the region).
    type: list
    elements: dict
    required: true
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Check the network plan, before any API call
  ansible.builtin.assert:
    that: _errors | length == 0
    fail_msg: "{{ _errors | join('; ') }}"
  vars:
    _errors: "{{ '10.20.0.0/16' | integration.demoapp.subnet_errors([{'cidr': '10.20.0.0/24', 'az': 'a'}]) }}"
"""

RETURN = r"""
_value:
  description: One message per problem, naming the subnets concerned.
  type: list
  elements: str
  sample: ["subnets 10.20.0.0/24 and 10.20.0.128/25 overlap"]
"""

import ipaddress
import re

AZ_LETTER = re.compile(r"^[a-z]$")


def _network(text):
    try:
        return ipaddress.ip_network(str(text).strip(), strict=True) if "/" in str(text) else None
    except ValueError:
        return None


def subnet_errors(vpc_cidr, subnets):
    vpc = _network(vpc_cidr)
    if vpc is None:
        return ["VPC network %r is not a network in CIDR form (10.20.0.0/16)" % (vpc_cidr,)]
    errors, seen = [], []
    for subnet in subnets:
        if not isinstance(subnet, dict):
            errors.append("subnet %r is not a dict with cidr and az" % (subnet,))
            continue
        net = _network(subnet.get("cidr"))
        if net is None:
            errors.append("subnet %r is not a network in CIDR form (10.20.1.0/24)" % (subnet.get("cidr"),))
            continue
        if not AZ_LETTER.match(str(subnet.get("az", ""))):
            errors.append("subnet %s: az %r is not an availability zone letter (a, b, ...)" % (net, subnet.get("az")))
        if net.version != vpc.version or not net.subnet_of(vpc):
            errors.append("subnet %s is outside the VPC %s" % (net, vpc))
        errors.extend("subnets %s and %s overlap" % (other, net) for other in seen
                      if other.version == net.version and other.overlaps(net))
        seen.append(net)
    return errors


class FilterModule(object):
    def filters(self):
        return {"subnet_errors": subnet_errors}
