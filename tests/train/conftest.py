import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    # Two shared cores: torch's second thread mostly waits for the first (50 ms vs >1 s per tiny step).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
