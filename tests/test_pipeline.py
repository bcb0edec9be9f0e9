import pytest

from latentlab.media.pipeline import pipeline


def test_pipeline_keeps_order_and_raises_the_producers_error():
    got = []
    assert pipeline(iter(range(50)), got.append, depth=2)
    assert got == list(range(50))

    def failing():
        yield 1
        raise OSError("disk gone")

    got.clear()
    with pytest.raises(OSError, match="disk gone"):
        pipeline(failing(), got.append)
    assert got == [1]
    produced = []

    def endless():
        for i in range(10**6):
            produced.append(i)
            yield i

    got.clear()
    assert not pipeline(endless(), got.append, cancel=lambda: len(got) >= 5, depth=2)
    assert got == list(range(5)) and len(produced) <= 5 + 2 + 2  # stopped, not run to the end
