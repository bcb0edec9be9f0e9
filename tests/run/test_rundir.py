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
