"""Gymnasium environments of qnoise (quantum architecture search); built on ``qnoise``."""

__all__: list[str] = []
