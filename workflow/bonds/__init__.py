"""The bond after posting (its events and ledger) and the person's hearings."""
