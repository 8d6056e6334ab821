"""Text messages (SMS) through Twilio's REST API: numbers and consent, the texts in each
language and their segments, the outbox's SMS channel, and what the webhooks mean."""
