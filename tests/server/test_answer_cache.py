"""The API's byte-bounded answer cache."""

from __future__ import annotations

from splat_server.answer_cache import AnswerCache


def test_answer_cache_is_lru_by_bytes_and_skips_small_answers():
    cache = AnswerCache(max_bytes=100, min_bytes=10)
    built = []

    def answer(key, size):
        def build():
            built.append(key)
            return bytes(size)

        return cache.get_or_build(key, build)

    assert answer("a", 40) == (bytes(40), False)
    assert answer("a", 40) == (bytes(40), True)
    answer("b", 40)
    answer("a", 40)  # a is now the most recent
    answer("c", 40)  # 120 bytes > 100: evicts b, the least recent
    assert cache.nbytes == 80
    assert answer("a", 40)[1] is True and answer("b", 40)[1] is False
    answer("tiny", 5)
    answer("tiny", 5)
    answer("huge", 101)
    answer("huge", 101)
    assert built.count("tiny") == 2 and built.count("huge") == 2  # never cached
    assert (cache.hits, cache.misses) == (3, 8)
