"""playbooks/aws.yml against the emulator, checked with boto3; then aws_teardown.yml twice leaves nothing."""

import base64
import json
import os
import re
import subprocess
import time

import boto3
import pytest
import yaml

ENDPOINT = "http://127.0.0.1:" + os.environ.get("MOTO_PORT", "5055")
TAGS = [{"Name": "tag:Project", "Values": ["demoapp-molecule"]},
        {"Name": "tag:ManagedBy", "Values": ["integration.demoapp"]}]


@pytest.fixture(scope="module")
def ec2():
    return boto3.client("ec2", region_name="eu-west-3", endpoint_url=ENDPOINT)


@pytest.fixture(scope="module")
def vpc(ec2):
    vpcs = ec2.describe_vpcs(Filters=[*TAGS, {"Name": "tag:Name", "Values": ["demoapp-molecule"]}])["Vpcs"]
    assert len(vpcs) == 1, vpcs
    return vpcs[0]


@pytest.fixture(scope="module")
def peer_vpc(ec2):
    vpcs = ec2.describe_vpcs(Filters=[*TAGS, {"Name": "tag:Name", "Values": ["demoapp-molecule-peer"]}])["Vpcs"]
    assert len(vpcs) == 1, vpcs
    return vpcs[0]


def in_vpc(vpc):
    return [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]


def test_the_vpc_has_its_network_and_dns(ec2, vpc):
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)[key]["Value"] is True


def test_four_subnets_in_two_zones(ec2, vpc):
    subnets = ec2.describe_subnets(Filters=in_vpc(vpc))["Subnets"]
    tiers = {s["CidrBlock"]: (next(t["Value"] for t in s["Tags"] if t["Key"] == "Tier"), s["AvailabilityZone"])
             for s in subnets}
    assert tiers == {"10.20.0.0/24": ("public", "eu-west-3a"), "10.20.1.0/24": ("public", "eu-west-3b"),
                     "10.20.10.0/24": ("private", "eu-west-3a"), "10.20.11.0/24": ("private", "eu-west-3b")}


def test_public_route_via_the_internet_gateway_private_via_the_nat_gateway(ec2, vpc):
    igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
    nat = ec2.describe_nat_gateways(Filters=in_vpc(vpc))["NatGateways"]
    assert len(nat) == 1 and nat[0]["State"] == "available"
    tables = ec2.describe_route_tables(Filters=in_vpc(vpc) + TAGS)["RouteTables"]
    default_route = {}
    for table in tables:
        tier = next(t["Value"] for t in table["Tags"] if t["Key"] == "Tier")
        route = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
        default_route[tier] = route.get("GatewayId") or route.get("NatGatewayId")
        assert len(table["Associations"]) == 2
    assert default_route == {"public": igw["InternetGateways"][0]["InternetGatewayId"],
                             "private": nat[0]["NatGatewayId"]}


def test_the_second_vpc_is_peered_with_routes_on_both_sides(ec2, vpc, peer_vpc):
    assert peer_vpc["CidrBlock"] == "10.30.0.0/16"
    peerings = ec2.describe_vpc_peering_connections(Filters=TAGS)["VpcPeeringConnections"]
    [peering] = [p for p in peerings if p["Status"]["Code"] == "active"]
    ends = {peering["RequesterVpcInfo"]["VpcId"], peering["AccepterVpcInfo"]["VpcId"]}
    assert ends == {vpc["VpcId"], peer_vpc["VpcId"]}
    pcx = peering["VpcPeeringConnectionId"]

    def peering_routes(of_vpc):
        tables = ec2.describe_route_tables(Filters=in_vpc(of_vpc) + TAGS)["RouteTables"]
        return {(r["DestinationCidrBlock"], r.get("VpcPeeringConnectionId")) for t in tables for r in t["Routes"]
                if r.get("VpcPeeringConnectionId")}, len(tables)

    assert peering_routes(vpc) == ({("10.30.0.0/16", pcx)}, 2)  # the same route in the public and private tables
    assert peering_routes(peer_vpc) == ({("10.20.0.0/16", pcx)}, 1)


def test_security_groups_follow_the_tiers_with_exactly_the_declared_rules(ec2, vpc):
    groups = {g["GroupName"].removeprefix("demoapp-molecule-"): g
              for g in ec2.describe_security_groups(Filters=in_vpc(vpc))["SecurityGroups"]}
    ids = {name: group["GroupId"] for name, group in groups.items()}

    def rules(name):
        return sorted((p["FromPort"], tuple(r["CidrIp"] for r in p["IpRanges"]),
                       tuple(sorted(g["GroupId"] for g in p["UserIdGroupPairs"])))
                      for p in groups[name]["IpPermissions"])

    assert rules("admin") == [(22, ("203.0.113.0/24",), ())]
    assert rules("proxy") == [(80, ("0.0.0.0/0",), ()), (443, ("0.0.0.0/0",), ())]
    assert rules("api") == [(8000, (), (ids["proxy"],))]
    assert rules("batch") == []
    assert rules("db") == [(5432, (), tuple(sorted((ids["api"], ids["batch"]))))]


def test_the_bucket_is_private_encrypted_and_versioned():
    s3 = boto3.client("s3", region_name="eu-west-3", endpoint_url=ENDPOINT)
    name = "demoapp-molecule-backups"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags["ManagedBy"] == "integration.demoapp"


def test_the_instances_boot_with_the_admins_and_land_in_their_groups(ec2, vpc):
    running = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    instances = {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i
                 for r in ec2.describe_instances(Filters=in_vpc(vpc) + running)["Reservations"] for i in r["Instances"]}
    assert set(instances) == {"demoapp-molecule-web", "demoapp-molecule-app", "demoapp-molecule-test"}
    tiers = {s["SubnetId"]: next(t["Value"] for t in s["Tags"] if t["Key"] == "Tier")
             for s in ec2.describe_subnets(Filters=in_vpc(vpc))["Subnets"]}
    assert tiers[instances["demoapp-molecule-web"]["SubnetId"]] == "public"
    assert tiers[instances["demoapp-molecule-app"]["SubnetId"]] == "private"
    assert tiers[instances["demoapp-molecule-test"]["SubnetId"]] == "private"
    # Each instance in the admin group and the groups of its tiers.
    group_names = {name: sorted(g["GroupName"].removeprefix("demoapp-molecule-") for g in i["SecurityGroups"])
                   for name, i in instances.items()}
    assert group_names == {"demoapp-molecule-web": ["admin", "proxy"],
                           "demoapp-molecule-app": ["admin", "api", "batch"], "demoapp-molecule-test": ["admin"]}
    encoded = ec2.describe_instance_attribute(InstanceId=instances["demoapp-molecule-app"]["InstanceId"],
                                              Attribute="userData")["UserData"]["Value"]
    text = base64.b64decode(encoded).decode()
    assert text.startswith("#cloud-config\n")
    config = yaml.safe_load(text)
    assert config["package_upgrade"] is True and config["timezone"] == "Europe/Paris"
    assert config["users"] == [{"name": "appadmin", "groups": ["sudo"], "shell": "/bin/bash",
                                "sudo": "ALL=(ALL) NOPASSWD:ALL", "lock_passwd": True,
                                "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMoleculeOnlyNotARealKey "
                                                        "appadmin@molecule"]}]
    inventory = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "inventories", "aws", "demoapp.aws_ec2.yml")
    proc = subprocess.run(["ansible-inventory", "-i", inventory, "--list"], capture_output=True, text=True, check=False,
                          env=dict(os.environ, AWS_URL=ENDPOINT, AWS_REGION="eu-west-3"))
    assert proc.returncode == 0, proc.stderr
    groups = json.loads(proc.stdout)
    assert groups["proxy"]["hosts"] == ["demoapp-molecule-web"]
    assert groups["api"]["hosts"] == ["demoapp-molecule-app"]
    assert groups["batch"]["hosts"] == ["demoapp-molecule-app"]
    assert groups.get("db", {}).get("hosts", []) == []  # RDS is on: no instance is a database host
    assert groups["test"]["hosts"] == ["demoapp-molecule-test"]


def test_the_database_is_private_encrypted_and_backed_up(ec2, vpc):
    rds = boto3.client("rds", region_name="eu-west-3", endpoint_url=ENDPOINT)
    db = rds.describe_db_instances(DBInstanceIdentifier="demoapp-molecule-db")["DBInstances"][0]
    assert db["Engine"] == "postgres" and db["PubliclyAccessible"] is False and db["StorageEncrypted"] is True
    assert db["BackupRetentionPeriod"] >= 7
    private_filter = [*in_vpc(vpc), {"Name": "tag:Tier", "Values": ["private"]}]
    private = {s["SubnetId"] for s in ec2.describe_subnets(Filters=private_filter)["Subnets"]}
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} == private
    db_group = ec2.describe_security_groups(Filters=[*in_vpc(vpc), {"Name": "group-name",
                                                                    "Values": ["demoapp-molecule-db"]}])
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [db_group["SecurityGroups"][0]["GroupId"]]


def test_snapshots_carry_dated_names_and_old_ones_are_pruned(ec2):
    rds = boto3.client("rds", region_name="eu-west-3", endpoint_url=ENDPOINT)
    today = time.strftime("%Y%m%d", time.gmtime())

    def volume_snapshots():
        return {next(t["Value"] for t in s["Tags"] if t["Key"] == "Name"): s["SnapshotId"]
                for s in ec2.describe_snapshots(Filters=TAGS)["Snapshots"]}

    assert f"demoapp-molecule-app-{today}" in volume_snapshots()
    manual = [s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]]
    assert f"demoapp-molecule-db-{today}" in manual
    # One taken long ago, as the role tags them: the next run removes it, keeps today's.
    volume = next(iter(volume_snapshots().values()))
    old = ec2.describe_snapshots(SnapshotIds=[volume])["Snapshots"][0]["VolumeId"]
    ec2.create_snapshot(VolumeId=old, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "Project", "Value": "demoapp-molecule"}, {"Key": "ManagedBy", "Value": "integration.demoapp"},
        {"Key": "Name", "Value": "demoapp-molecule-app-20200101"}, {"Key": "Date", "Value": "20200101"}]}])
    assert "demoapp-molecule-app-20200101" in volume_snapshots()
    proc = playbook("snapshots.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "demoapp-molecule-app-20200101" not in volume_snapshots()
    assert f"demoapp-molecule-app-{today}" in volume_snapshots()


BAD_INPUT = [
    ('{"aws_region": ""}', "aws_region is required"),
    ('{"aws_storage_bucket": "Not_A_Bucket"}', "is not a bucket name"),
    ('{"aws_database_backup_retention_days": 0}', "0 turns automated backups off"),
    ('{"aws_security_trusted_cidrs": ["0.0.0.0/0"]}', "opens SSH to the whole Internet"),
    ('{"aws_network_private_subnets": [{"cidr": "10.20.0.128/25", "az": "a"}]}',
     "subnets 10.20.0.0/24 and 10.20.0.128/25 overlap"),
    ('{"aws_network_peer_vpc_cidr": "10.20.128.0/17", '
     '"aws_network_peer_subnets": [{"cidr": "10.20.128.0/24", "az": "a"}]}',
     "aws_network_vpc_cidr and aws_network_peer_vpc_cidr: VPCs 10.20.0.0/16 and 10.20.128.0/17 overlap"),
]


def test_bad_input_is_refused_before_any_change(ec2):
    """Each case in its own run, all at once (each stops at its first check, before any call that changes state)."""
    before = ec2.describe_vpcs()["Vpcs"], ec2.describe_security_groups()["SecurityGroups"]
    runs = [(message, playbook_started("aws.yml", "-e", extra)) for extra, message in BAD_INPUT]
    for message, proc in runs:
        stdout, stderr = proc.communicate()
        assert proc.returncode != 0, message
        assert message in stdout + stderr, stdout[-2000:]
    assert (ec2.describe_vpcs()["Vpcs"], ec2.describe_security_groups()["SecurityGroups"]) == before


def playbook_started(name, *args):
    """Start playbooks/<name>, or the scenario's own <name> when it has one; returns the Popen."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    path = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], name)
    if not os.path.exists(path):
        path = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", name)
    return subprocess.Popen(["ansible-playbook", "-i", inventory, *args, path], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))


def playbook(name, *args):
    """Run a playbook (as playbook_started) to its end; returns the CompletedProcess."""
    proc = playbook_started(name, *args)
    stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_teardown_twice_leaves_nothing_the_collection_tagged(ec2):
    first, second = playbook("aws_teardown.yml"), playbook("aws_teardown.yml")
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", second.stdout), second.stdout[-2000:]
    assert ec2.describe_vpcs(Filters=TAGS)["Vpcs"] == []
    assert [p for p in ec2.describe_vpc_peering_connections(Filters=TAGS)["VpcPeeringConnections"]
            if p["Status"]["Code"] not in ("deleted", "rejected")] == []
    assert ec2.describe_security_groups(Filters=TAGS)["SecurityGroups"] == []
    assert ec2.describe_subnets(Filters=TAGS)["Subnets"] == []
    assert [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    s3 = boto3.client("s3", region_name="eu-west-3", endpoint_url=ENDPOINT)
    assert "demoapp-molecule-backups" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    rds = boto3.client("rds", region_name="eu-west-3", endpoint_url=ENDPOINT)
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    assert ec2.describe_snapshots(Filters=TAGS)["Snapshots"] == []
