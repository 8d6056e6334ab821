"""What runs the use cases on a schedule or a server.

Prefect flows, the APScheduler jobs, the local Prefect server, backups.
"""
