"""What comes in: the one spreadsheet reader (``tables``) and its header aliases (``headers``),
the class list (``roster``, with each person's history in ``history``), custody lists and
their private inbox (``reconcile``), and facility lists (``facility_import``). Nothing is
re-exported: import the module you mean.
"""
