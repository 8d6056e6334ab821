"""Court orders and how they move.

the order, amendments and stays, terms per person, obligations, pace and projection.
"""
