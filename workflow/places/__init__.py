"""Where people are held and heard.

the facility directory and field offices, time zones, posting windows, immigration courts.
"""
