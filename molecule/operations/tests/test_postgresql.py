"""postgresql: least privilege for the application role, loopback only, schema drift detected."""

import json

from conftest import DB_PASSWORD, psql_as_app, run_scenario_playbook, target_name

# Debian 13 only (why: molecule/operations/molecule.yml).
testinfra_hosts = ["ansible://debian13"]


def test_app_role_can_insert_and_select(host):
    result = psql_as_app(host, "INSERT INTO app_logs (run_date, message) VALUES (now(), 'molecule') "
                               "RETURNING id; SELECT count(*) > 0 FROM app_logs")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "t"


def test_app_role_cannot_create_outside_what_it_owns(host):
    denied = psql_as_app(host, "CREATE TABLE pg_catalog.intruder (i int)")
    assert denied.rc != 0 and "permission denied" in denied.stderr
    other_db = psql_as_app(host, "CREATE TABLE intruder (i int)", db="postgres")
    assert other_db.rc != 0
    assert "no pg_hba.conf entry" in other_db.stderr or "permission denied" in other_db.stderr


def test_app_role_is_no_superuser(host):
    result = psql_as_app(host, "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles "
                               "WHERE rolname = current_user")
    assert result.stdout.strip() == "f"


def test_login_without_password_is_refused(host):
    tcp = psql_as_app(host, "SELECT 1", password=None)
    assert tcp.rc != 0 and "no password supplied" in tcp.stderr
    socket = host.run("runuser -u nobody -- psql -X -w -U demoapp_user -d demoapp_db -c 'SELECT 1'")
    assert socket.rc != 0
    wrong = psql_as_app(host, "SELECT 1", password="not-the-password")
    assert wrong.rc != 0 and "password authentication failed" in wrong.stderr


def test_password_is_stored_as_scram(host):
    result = host.run("runuser -u postgres -- psql -XAtc \"SELECT rolpassword FROM pg_authid "
                      "WHERE rolname = 'demoapp_user'\"")
    assert result.stdout.startswith("SCRAM-SHA-256$")


def test_server_listens_on_loopback_only(host, client):
    assert host.run("runuser -u postgres -- psql -XAtc 'SHOW listen_addresses'").stdout.strip() == "localhost"
    remote = client.run(f"pg_isready -t 5 -h {target_name(host)}")
    assert remote.rc == 2, remote.stdout  # 2 = no response: nothing listens there


def test_verify_mode_reports_a_retyped_column(host):
    alter = "runuser -u postgres -- psql -X -d demoapp_db -c 'ALTER TABLE app_logs ALTER COLUMN message TYPE {}'"
    assert host.run(alter.format("varchar(50)")).rc == 0
    try:
        args = {"db": "demoapp_db", "login_host": "127.0.0.1", "login_user": "demoapp_user",
                "login_password": DB_PASSWORD, "state": "verify",
                "tables": [{"name": "app_logs", "columns": [
                    {"name": "id", "type": "SERIAL", "primary_key": True},
                    {"name": "run_date", "type": "TIMESTAMP", "nullable": False},
                    {"name": "message", "type": "TEXT", "nullable": False}]}]}
        result = host.ansible("integration.demoapp.pg_schema", json.dumps(args), check=False)
        assert result["msg"].startswith("schema drift: public.app_logs: wrong type message")
        assert {"table": "public.app_logs", "kind": "wrong_type", "column": "message",
                "expected": "text", "actual": "character varying(50)"} in result["drift"]
    finally:
        assert host.run(alter.format("text")).rc == 0


def _self_signed(name):
    """(certificate PEM, key PEM, SHA-256 fingerprint) of a new self-signed certificate for ``name``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode(),
            cert.fingerprint(hashes.SHA256()).hex(":").upper())


def _apply_given_cert(host, **extra_vars):
    return run_scenario_playbook("given_cert.yml", "--limit", target_name(host), "-e", json.dumps(extra_vars))


def _served_fingerprint(host):
    return host.check_output("openssl s_client -starttls postgres -connect 127.0.0.1:5432 </dev/null 2>/dev/null "
                             "| openssl x509 -noout -fingerprint -sha256").split("=", 1)[1]


def test_a_key_that_does_not_match_the_certificate_fails_before_any_change(host):
    cert, _key, _fingerprint = _self_signed("localhost")
    _other_cert, other_key, _other = _self_signed("localhost")
    before = host.check_output("sha256sum /etc/postgresql/*/main/server.crt /etc/postgresql/*/main/server.key")
    proc = _apply_given_cert(host, postgresql_ssl_cert=cert, postgresql_ssl_key=other_key)
    assert proc.returncode != 0
    assert "postgresql_ssl_key is not the key of postgresql_ssl_cert" in proc.stdout + proc.stderr
    assert other_key.splitlines()[1] not in proc.stdout + proc.stderr  # the key is never shown
    assert host.check_output("sha256sum /etc/postgresql/*/main/server.crt /etc/postgresql/*/main/server.key") == before


def test_a_configuration_postgresql_refuses_is_put_back_before_any_reload(host):
    files = "sha256sum /etc/postgresql/*/main/pg_hba.conf /etc/postgresql/*/main/conf.d/*"
    before = host.check_output(files)
    proc = _apply_given_cert(host, postgresql_hba_extra_entries=["host all all 127.0.0.1/32 no-such-method"])
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "PostgreSQL refuses the new configuration" in output and "previous files were put back" in output
    assert host.check_output(files) == before
    assert host.run("systemctl restart postgresql").rc == 0  # the next restart still works
    assert psql_as_app(host, "SELECT 1").stdout.strip() == "1"


# Last: it replaces the generated certificate.
def test_the_given_certificate_is_served_and_verifies(host):
    generated = _served_fingerprint(host)
    cert, key, fingerprint = _self_signed("localhost")
    proc = _apply_given_cert(host, postgresql_ssl_cert=cert, postgresql_ssl_key=key, postgresql_ssl_ca_cert=cert)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert key.splitlines()[1] not in proc.stdout + proc.stderr
    assert _served_fingerprint(host) == fingerprint != generated
    host.run(f"cat > /tmp/ca.pem <<'EOF'\n{cert}EOF")
    verified = psql_as_app(host, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", host_addr="localhost",
                           libpq_env="PGSSLMODE=verify-full PGSSLROOTCERT=/tmp/ca.pem")
    assert verified.stdout.strip() == "t", verified.stderr
