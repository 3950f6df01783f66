"""A size-capped, least-recently-used cache: the one the simulator's compiled programs,
observables, light cones and measurement plans share."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class CappedCache(Generic[K, V]):
    """At most ``size`` entries; storing one more drops the least recently used.

    ``get`` marks an entry as used; ``clear`` empties the cache.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a cache needs room for at least one entry, got {size}")
        self.size = int(size)
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def get(self, key: K, default=None):
        """The entry of ``key`` (now the most recently used), or ``default``."""
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` (dropping the least recently used entry when full);
        returns ``value``."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()
