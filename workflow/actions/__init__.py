"""The one door: every use case, one plain typed function, by area.

Each takes ``(database, settings, case, ..., *, actor, now)``, opens its own transaction and
returns plain data or records; where the web checks a page's version first, a ``..._in``
variant runs in the caller's session. The CLI, the web, the flows, the scheduler and the
demo call these and never a rule wing; rules never import them.
"""
