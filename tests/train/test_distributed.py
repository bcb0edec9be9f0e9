"""torchrun-style data parallelism on the CPU with gloo: 2 ranks x batch B == 1 rank x batch 2B."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from latentlab.run.checkpoint import read_checkpoint, split_prefix
from tests.train.helpers import cli_args

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(args, world, rank, port, **popen):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    if world > 1:
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                   LOCAL_RANK=str(rank), LATENTLAB_DIST_TIMEOUT="60")
    return subprocess.Popen([sys.executable, "-m", "latentlab", "train", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def _train(out, world, steps=2, extra=()):
    args = [*cli_args("dcgan", steps=steps), "--out", str(out), *extra]
    port = _free_port()
    procs = [_launch(args, world, r, port) for r in range(world)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err


def _rows(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_two_ranks_match_one_rank_with_the_same_global_batch(tmp_path):
    _train(tmp_path / "one", world=1)
    _train(tmp_path / "two", world=2)
    one, two = _rows(tmp_path / "one"), _rows(tmp_path / "two")
    assert [r["step"] for r in two] == [1, 2]  # rank 0 alone writes: no duplicate lines
    for a, b in zip(one, two):
        for key in ("real", "fake", "gen"):
            assert abs(a[key] - b[key]) < 1e-4, (key, a[key], b[key])
        assert (a["d_updated"], a["g_updated"]) == (b["d_updated"], b["g_updated"])
    ta, _ = read_checkpoint(tmp_path / "one" / "checkpoints" / "latest.safetensors")
    tb, _ = read_checkpoint(tmp_path / "two" / "checkpoints" / "latest.safetensors")
    for net in ("G", "D"):
        wa, wb = split_prefix(ta, net), split_prefix(tb, net)
        assert wa.keys() == wb.keys()
        for k in wa:
            assert torch.allclose(wa[k].float(), wb[k].float(), atol=1e-4), f"{net}.{k}"


def test_losing_a_rank_ends_the_others_with_a_message(tmp_path):
    args = [*cli_args("dcgan", steps=100000), "--out", str(tmp_path / "run"), "--set", "checkpoint_every=100000"]
    port = _free_port()
    procs = [_launch(args, 2, r, port) for r in range(2)]
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (tmp_path / "run" / "metrics.jsonl").exists():
            time.sleep(0.2)
        assert (tmp_path / "run" / "metrics.jsonl").exists(), "training never started"
        procs[1].kill()
        _, err = procs[0].communicate(timeout=90)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert procs[0].returncode == 3, err
    assert "lost contact with the other ranks" in err and "Traceback" not in err


def _wait_for_steps(out: Path, n: int, procs) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        rows = (out / "metrics.jsonl").read_text().splitlines() if (out / "metrics.jsonl").exists() else []
        if len(rows) >= n:
            return
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.1)
    raise AssertionError("training never got going")


@pytest.mark.parametrize("world, signalled", [(1, (0,)), (2, (0, 1)), (2, (1,))])
def test_sigterm_saves_a_checkpoint_and_every_rank_leaves_with_143(tmp_path, world, signalled):
    """SIGTERM (what torchrun forwards to every rank, and what `timeout` and schedulers send) stops
    like Ctrl-C: all ranks at the same step, rank 0 writing the checkpoint; a rank sent nothing
    follows the one that was."""
    out = tmp_path / "run"
    args = [*cli_args("dcgan", steps=100000), "--out", str(out), "--set", "checkpoint_every=100000",
            "--set", "sample_every=100000"]
    port = _free_port()
    procs = [_launch(args, world, r, port) for r in range(world)]
    try:
        _wait_for_steps(out, 3, procs)
        for r in signalled:
            procs[r].send_signal(signal.SIGTERM)
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 143, err
        assert "Traceback" not in err, err
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    _, meta = read_checkpoint(out / "checkpoints" / "latest.safetensors")
    assert meta["step"] == steps[-1] >= 3 and steps == list(range(1, steps[-1] + 1))
    assert (out / "checkpoints" / f"step-{steps[-1]:08d}.safetensors").is_file()
    assert json.loads((out / "events.jsonl").read_text().splitlines()[-1])["kind"] == "done"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
