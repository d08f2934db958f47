"""Messages to people: the in-app inbox, and e-mail/SMS through a transactional outbox."""
