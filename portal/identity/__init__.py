"""Trusted student digital identity: signed tokens, QR cards, certificates, verification (M-24)."""
