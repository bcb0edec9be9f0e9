from latentlab.run.rundir import RunReader, RunWriter, Tail


def test_tail_returns_complete_lines_only_and_restarts_after_a_rewrite(tmp_path):
    path = tmp_path / "m.jsonl"
    tail = Tail(path)
    assert tail.read() == []
    path.write_text('{"step": 1}\n{"step": 2')
    assert tail.read() == [{"step": 1}]
    with open(path, "a") as f:
        f.write("}\n")
    assert tail.read() == [{"step": 2}]
    path.write_text('{"step": 9}\n')  # shorter: a resume rewrote it
    assert tail.read() == [{"step": 9}]


def test_writer_and_reader_share_the_layout(tmp_path):
    w = RunWriter(tmp_path / "run")
    w.write_config("[model]\n")
    w.metric({"step": 1, "real": 0.5})
    w.event({"kind": "info", "step": 1, "message": "x"})
    w.sample_path(1).write_bytes(b"png")
    r = RunReader(tmp_path / "run")
    rows, events, samples = r.poll()
    assert rows == [{"step": 1, "real": 0.5}] and events[0]["kind"] == "info"
    assert [p.name for p in samples] == ["step-00000001.png"]
    w.truncate_after(0)
    w.close()
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == ""


def test_a_resume_drops_the_grids_written_after_its_checkpoint(tmp_path):
    """A killed session's grids past its last checkpoint would otherwise stay in samples/ (and in a
    timelapse) beside the resumed session's own grids of those steps."""
    w = RunWriter(tmp_path / "run")
    for step in (100, 200, 300):
        w.sample_path(step).write_bytes(b"png")
        w.sample_path(step, "recon").write_bytes(b"png")
    (w.samples / "notes.png").write_bytes(b"mine")  # not a grid: left alone
    w.truncate_after(200)
    assert sorted(p.name for p in w.samples.iterdir()) == [
        "notes.png", "recon-00000100.png", "recon-00000200.png", "step-00000100.png", "step-00000200.png"]
