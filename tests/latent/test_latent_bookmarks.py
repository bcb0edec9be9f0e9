import json

import numpy as np
import pytest

from latentlab.config import UserError
from latentlab.latent import Bookmark, load_bookmarks, save_bookmarks, seed_latent


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "b.json"
    z = seed_latent(11, 100)
    save_bookmarks(path, [Bookmark("one", z, 11), {"name": "two", "z": z * 0.5}])
    marks = load_bookmarks(path, latent_dim=100)
    assert [m.name for m in marks] == ["one", "two"]
    assert marks[0].seed == 11 and marks[1].seed is None
    np.testing.assert_array_equal(marks[0].z, z)
    np.testing.assert_array_equal(marks[1].z, z * np.float32(0.5))
    assert json.loads(path.read_text())["format"] == "latentlab-bookmarks"
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside it


def test_seed_only_entry(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": "latentlab-bookmarks", "version": 1, "latent_dim": 6,
                                "bookmarks": [{"name": "from seed", "seed": 7}]}))
    np.testing.assert_array_equal(load_bookmarks(path)[0].z, seed_latent(7, 6))


@pytest.mark.parametrize("text,match", [
    ("{not json", "not valid JSON"),
    ('{"format": "something-else"}', "not a latentlab bookmarks"),
    ('{"format": "latentlab-bookmarks", "version": 1, "latent_dim": 3, "bookmarks": [{"name": "a", "z": [1, 2]}]}',
     "z has 2 values"),
    ('{"format": "latentlab-bookmarks", "version": 1, "latent_dim": 2, "bookmarks": [{"name": "a", "z": [1, "x"]}]}',
     "finite numbers"),
    ('{"format": "latentlab-bookmarks", "version": 1, "latent_dim": 2, "bookmarks": [{"name": "a"}]}',
     "needs z or seed"),
    ('{"format": "latentlab-bookmarks", "version": 9, "latent_dim": 2, "bookmarks": []}', "version"),
])
def test_bad_files_name_the_file(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError, match=match) as info:
        load_bookmarks(path)
    assert "bad.json" in str(info.value)


def test_latent_dim_mismatch_and_missing_file(tmp_path):
    path = tmp_path / "b.json"
    save_bookmarks(path, [{"name": "a", "z": np.zeros(4)}])
    with pytest.raises(UserError, match="latent_dim 4, the model has 8"):
        load_bookmarks(path, latent_dim=8)
    with pytest.raises(UserError, match="no such"):
        load_bookmarks(tmp_path / "missing.json")
    with pytest.raises(UserError, match="non-finite"):
        save_bookmarks(path, [{"name": "nan", "z": [float("nan")] * 4}])
