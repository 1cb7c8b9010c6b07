"""Shared helpers for every Molecule scenario's testinfra tests.

The scenario inventory has a ``targets`` group (the hosts under test) and a
``client`` container on the same private Docker network that plays the remote
administrator or attacker: SSH attempts in the tests are real connections
from that container.
"""

import os
import shlex

import pytest
import testinfra

INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
SSH_OPTS = (
    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
    "-o ConnectTimeout=10 -o LogLevel=ERROR"
)


@pytest.fixture(scope="session")
def client():
    """The client container (remote admin / attacker): the first host of the ``clients`` group."""
    return testinfra.get_hosts(["ansible://clients"], ansible_inventory=INVENTORY)[0]


def target_name(host):
    """Inventory name of a target, also its DNS name on the scenario network."""
    return host.backend.get_hostname()


def targets_by_name(spec):
    """The hosts of a ``testinfra_hosts`` list, by inventory name."""
    return {target_name(t): t for t in testinfra.get_hosts(spec, ansible_inventory=INVENTORY)}


def side_by_side(work, hosts):
    """``work(host)`` for every host of ``hosts`` (name -> host) at the same time, one thread each (testinfra's
    Ansible backend runs commands from threads); name -> result."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        return dict(zip(hosts, pool.map(work, hosts.values()), strict=True))


# ssh_hardening's anti-lockout tests, in two files: the refusals run on both releases, the longer
# paths (rotation, rollback, the three-minute check) on the newer OpenSSH only. REFUSED_AT holds when
# each host first refused an access change: the three-minute check runs in the other file, after the
# tests its wait overlaps.
LONG_PATHS_ON = "debian13"
REFUSED_AT = {}


def long_paths_only(host):
    if target_name(host) != LONG_PATHS_ON:
        pytest.skip(f"rotation, rollback and the three-minute wait run on {LONG_PATHS_ON} only")


def ssh_with_key(client, user, target, command="true", key="/root/.ssh/id_ed25519"):
    """Key-only SSH login from the client; returns the CommandResult."""
    return client.run(
        f"ssh {SSH_OPTS} -o BatchMode=yes -o PreferredAuthentications=publickey "
        f"-o IdentitiesOnly=yes -i {key} {user}@{target} {shlex.quote(command)}"
    )


def ssh_with_password(client, user, target, password, command="true"):
    """Password-only SSH login from the client (sshpass); returns the CommandResult."""
    return client.run(
        f"sshpass -p {shlex.quote(password)} ssh {SSH_OPTS} -o BatchMode=no "
        "-o PubkeyAuthentication=no "
        "-o PreferredAuthentications=password,keyboard-interactive "
        f"-o NumberOfPasswordPrompts=1 {user}@{target} {shlex.quote(command)}"
    )


def target_ip(host):
    """Address of a target on the scenario network (reachable from the controller)."""
    return host.check_output("hostname -I").split()[0]


def controller_key():
    """Private key the controller (key A of the anti-lockout tests) logs in as appadmin with."""
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "id_ed25519")


def ansible_over_ssh(host, playbook, extra_vars=None, key=None):
    """Run a scenario playbook against ``host`` over real SSH as appadmin (controller key, or ``key``).

    With ``playbook=None`` only pings the host. Each call has its own SSH control sockets,
    so a run never reuses a connection another run authenticated with another key.
    Returns the CompletedProcess.
    """
    import json
    import subprocess
    import tempfile

    scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
    common = [
        "-i", f"{target_ip(host)},", "-u", "appadmin",
        "--private-key", key or controller_key(),
        "-e", "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
    ]
    if playbook is None:
        cmd = ["ansible", "all", "-m", "ansible.builtin.ping", *common]
    else:
        cmd = ["ansible-playbook", os.path.join(scenario, playbook), *common]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
    with tempfile.TemporaryDirectory(prefix="cp-", dir="/tmp") as control_dir:
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        for socket_path in os.listdir(control_dir):  # close the masters this run left behind
            subprocess.run(["ssh", "-o", f"ControlPath={os.path.join(control_dir, socket_path)}", "-O", "exit", "x"],
                           capture_output=True, check=False)
    return proc


def scenario_playbook_command(playbook, *args):
    """The command line that runs a playbook of the scenario directory against the scenario inventory."""
    return ["ansible-playbook", "-i", os.path.dirname(INVENTORY), *args,
            os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], playbook)]


def run_scenario_playbook(playbook, *args):
    """Run a playbook of the scenario directory against the scenario inventory; returns the CompletedProcess."""
    import subprocess

    return subprocess.run(scenario_playbook_command(playbook, *args), capture_output=True, text=True, check=False,
                          env=os.environ)


def cron_file_entry(host, name):
    """The job line of /etc/cron.d/<name> (a confined job): (its five schedule fields, its user, its command)."""
    lines = [line for line in host.file(f"/etc/cron.d/{name}").content_string.splitlines()
             if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(lines) == 1, lines
    fields = lines[0].split(None, 6)
    return fields[:5], fields[5], fields[6]


def run_cron_file_entry(host, name):
    """Run the command of /etc/cron.d/<name> exactly as cron would (as the line's user, from /)."""
    _schedule, user, command = cron_file_entry(host, name)
    return host.run(f"cd / && runuser -u {user} -- /bin/sh -c {shlex.quote(command)}")


def cron_line(host, user="demoapp"):
    """The batch's schedule and command ("m h dom mon dow command"): from /etc/cron.d/<user>-batch when the
    batch is confined (the default), else the one entry of the account's crontab that is not a comment or MAILTO."""
    if host.file(f"/etc/cron.d/{user}-batch").exists:
        schedule, _user, command = cron_file_entry(host, f"{user}-batch")
        return " ".join([*schedule, command])
    lines = [line for line in host.check_output(f"crontab -l -u {user}").splitlines()
             if line.strip() and not line.startswith(("#", "MAILTO"))]
    assert len(lines) == 1, lines
    return lines[0]


def run_cron_command(host, user="demoapp"):
    """Run the batch's scheduled command exactly as cron would (as the line's user, from /)."""
    if host.file(f"/etc/cron.d/{user}-batch").exists:
        return run_cron_file_entry(host, f"{user}-batch")
    command = cron_line(host, user).split(None, 5)[5]
    return host.run(f"cd / && runuser -u {user} -- /bin/sh -c {shlex.quote(command)}")


# Same value as demoapp_test_db_password in .config/molecule/config.yml ($$ is Molecule's escape).
DB_PASSWORD = "Molecule-Only S3cret #$!"


def psql_as_app(host, sql, host_addr="127.0.0.1", db="demoapp_db", password=DB_PASSWORD, libpq_env=""):
    """Run SQL as the application role over TCP with its password; returns the CommandResult.

    ``libpq_env``: more libpq settings, e.g. "PGSSLMODE=verify-full PGSSLROOTCERT=/tmp/ca.pem".
    """
    env = libpq_env + (f" PGPASSWORD={shlex.quote(password)} " if password is not None else " ")
    return host.run(
        f"{env}psql -X -w -h {host_addr} -U demoapp_user -d {db} -v ON_ERROR_STOP=1 -Atc {shlex.quote(sql)}"
    )


def brute_force_until_banned(host, client, attempts=7, wait=30):
    """Failed SSH logins from the client until fail2ban bans it; returns the client's address.

    The caller unbans it (``fail2ban-client set sshd unbanip``) when done.
    """
    import time

    attacker = client.check_output("hostname -I").split()[0]
    for attempt in range(attempts):
        # timeout: a ban that lands mid-handshake leaves ssh waiting for packets that are dropped
        client.run(f"timeout 15 ssh {SSH_OPTS} -o BatchMode=yes intruder{attempt}@{target_name(host)} true")
    for _second in range(wait):
        if attacker in banned_addresses(host):
            break
        time.sleep(1)
    return attacker


def banned_addresses(host):
    """Addresses the sshd jail currently bans."""
    return host.check_output("fail2ban-client status sshd").split("Banned IP list:")[1].split()


def https_request(source, name, path, *args):
    """(status, headers dict, body) of an HTTPS request from ``source`` to https://<name><path> (self-signed
    certificate: -k); ``args`` are more curl arguments, as shell words."""
    out = source.run(f"curl -sk -m 10 -D - -o /tmp/body {' '.join(args)} {shlex.quote(f'https://{name}{path}')}; "
                     "echo; cat /tmp/body")
    head, _sep, body = out.stdout.partition("\r\n\r\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _s, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body.strip()


def changed_tasks(stdout):
    """The tasks a playbook run's output reports changed, as "host: task" lines (a failing idempotence check's
    message: the summary a callback prints at the end would hide them in the output's tail)."""
    found, task = [], ""
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[6:].rsplit("]", 1)[0]
        elif line.startswith("changed: ["):
            found.append(f"{line[10:].split(']', 1)[0]}: {task}")
    return "\n".join(found)


def connects(source, address, port):
    """A TCP connection from ``source`` to address:port opens within 3 s (bash's /dev/tcp: no tool needed)."""
    return source.run(f"timeout 3 bash -c 'exec 3<>/dev/tcp/{address}/{port}'").rc == 0


def docker_address(host):
    """A target's address on the scenario's Docker network (this machine reaches it; nothing else does)."""
    import subprocess

    out = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                          target_name(host)], capture_output=True, text=True, check=True).stdout.split()
    return out[0]


def chromium(names, address):
    """A headless Chromium (Debian's chromium and chromium-driver, through Selenium) reaching each of ``names`` at
    ``address``, its browser log kept; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    rules = ", ".join(f"MAP {name} {address}" for name in names)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                     "--window-size=1280,860", "--disable-gpu", f"--host-resolver-rules={rules}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
