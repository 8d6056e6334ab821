"""The foundation.

errors, the clock, settings, private files, money, identifiers, the stage table, templates
and PDFs. No rule of the release lives here.
"""
