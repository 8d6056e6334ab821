"""What people are told. Letters and e-mails: composing them (``composing``,
``bond_letters``, ``renotice``, ``hearing_reminders``), rendering them (``letters``, Babel;
PDFs in ``workflow.core.pdf``), language access (``languages``) and the use case that puts
them to work (``sending``), through the outbox in ``workflow.record.outbox``. Staff alerts:
the thresholds (``thresholds``), the deadline alerts (``alerts``) and what each bond
deadline calls for (``bond_alerts``). Nothing is re-exported: import the module you mean.
"""
