"""The people an order covers.

the moves between stages, text fields made into a move, the sweep's checks.
"""
