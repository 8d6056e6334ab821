"""Deadline and bond alerts to staff.

the thresholds, what fires when, the bond deadlines' calls.
"""
