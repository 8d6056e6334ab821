"""Letters and e-mails: composing them (``composing``, ``bond_letters``, ``renotice``,
``hearing_reminders``), rendering them (``letters``, Babel; PDFs in ``workflow.core.pdf``), language
access (``languages``), the outbox that sends each e-mail once (``outbox``), and the use case
that puts them to work (``sending``). Nothing is re-exported: import the module you mean.
"""
