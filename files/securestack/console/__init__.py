"""The console: servers, their backups and incidents, and the audit trail of critical actions."""
