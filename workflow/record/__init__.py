"""The record.

the database, its one schema and the ORM on it, bulk writes, the audit log, accounts, the
outbox, the scheduler's heartbeat.
"""
